"""The cut detector on the hard scenes: where ours cuts, and where PySceneDetect's detectors do.

    .venv/bin/python -m benchmarks.stutter.cuts

Each scene is encoded with H.264 (at its own CRF) and decoded, then fed frame by frame
to :class:`stsr.scenecut.ContentCutDetector` and, when ``scenedetect`` is installed
(a measurement only, not a dependency), to its ContentDetector and AdaptiveDetector.
Only the ``cut`` scene has a cut (at frame 36); a cut anywhere else is a false one.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stsr.io.video import decode
from stsr.scenecut import ContentCutDetector

from .run import write_source
from .scenes import make_scene

DEFAULT_SCENES = ["cut", "twos_over_pan", "fast_turn", "glow", "dissolve", "shake_zoom", "grain", "caption_ones"]


def ours(pictures: list[np.ndarray]) -> list[int]:
    detector = ContentCutDetector()
    return [index for index, picture in enumerate(pictures) if detector.is_cut(picture)]


def pyscenedetect(pictures: list[np.ndarray], kind: str, rate: float) -> list[int] | None:
    try:
        from scenedetect import FrameTimecode
        from scenedetect.detectors import AdaptiveDetector, ContentDetector
    except ImportError:
        return None
    detector = ContentDetector() if kind == "content" else AdaptiveDetector()
    cuts: list = []
    for index, picture in enumerate(pictures):
        timecode = FrameTimecode(index, fps=rate)
        cuts += detector.process_frame(timecode, np.ascontiguousarray(picture[:, :, ::-1]))  # it wants BGR
    cuts += detector.post_process(FrameTimecode(len(pictures) - 1, fps=rate))
    return sorted(c.get_frames() if hasattr(c, "get_frames") else int(c) for c in cuts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", default=",".join(DEFAULT_SCENES))
    parser.add_argument("--size", default="256x144")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    print("| scene | expected | stsr | PySceneDetect ContentDetector | PySceneDetect AdaptiveDetector |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.scenes.split(","):
            scene = make_scene(name, width, height, 72)
            path = Path(folder) / f"{name}.mp4"
            write_source(path, scene)
            pictures = [frame.rgb for frame in decode(path)]
            cells = [str(ours(pictures))]
            for kind in ("content", "adaptive"):
                found = pyscenedetect(pictures, kind, float(scene.rate))
                cells.append("not installed" if found is None else str(found))
            expected = str([scene.cut_at] if scene.cut_at is not None else [])
            print(f"| {name} | {expected} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
