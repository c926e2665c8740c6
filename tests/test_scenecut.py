"""The cut detector: a real cut is found, a fast drawn head turn (H.264, as users have it) is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.stutter.run import write_source
from benchmarks.stutter.scenes import make_scene
from stsr.io.video import decode
from stsr.scenecut import ContentCutDetector


def _decoded(name: str, folder: Path) -> list[np.ndarray]:
    path = folder / f"{name}.mp4"
    write_source(path, make_scene(name, 256, 144, 72))
    return [frame.rgb for frame in decode(path)]


def _cuts(pictures: list[np.ndarray], detector: ContentCutDetector) -> list[int]:
    return [index for index, picture in enumerate(pictures) if detector.is_cut(picture)]


def test_a_fast_head_turn_is_not_a_cut(tmp_path: Path) -> None:
    pictures = _decoded("fast_turn", tmp_path)
    assert _cuts(pictures, ContentCutDetector()) == []
    # Without the motion check the turn (drawings at 36 and 38) passes the content tests: the check is what holds.
    assert _cuts(pictures, ContentCutDetector(motion_threshold=None)) != []


def test_a_real_cut_is_still_found(tmp_path: Path) -> None:
    assert _cuts(_decoded("cut", tmp_path), ContentCutDetector()) == [36]


def test_no_cut_in_a_dissolve_a_flicker_or_a_shaking_camera(tmp_path: Path) -> None:
    for name in ("dissolve", "glow", "shake_zoom"):
        assert _cuts(_decoded(name, tmp_path), ContentCutDetector()) == [], name
