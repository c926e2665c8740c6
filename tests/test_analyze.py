"""``stsr analyze`` without ground truth: the judder index, stopped/frozen shares, drawing-time fidelity."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from benchmarks.stutter.methods import OUTPUT_RATE, run_schedule
from benchmarks.stutter.oracle import OracleInterpolator, PoseFrame
from benchmarks.stutter.scenes import make_scene
from stsr.api import analyze
from stsr.eval.analysis import drawing_fidelity_of, judder, judder_of_magnitudes, judder_of_pictures
from stsr.io.video import VideoWriter, write_video
from stsr.plugin.cli import main as stsr
from stsr.schedules import SourceFrame

SIZE = (256, 144)


def _oracle_output(schedule: str, scene_name: str = "twos") -> tuple[list[Fraction], list[np.ndarray]]:
    scene = make_scene(scene_name, *SIZE, 36)
    frames = [SourceFrame(n, Fraction(n) / scene.rate, PoseFrame.source(scene, n)) for n in range(scene.frames)]
    produced = run_schedule(frames, OracleInterpolator(), schedule, Fraction(scene.frames) / scene.rate)
    return produced.times, [frame.render() for frame in produced.frames]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A character on twos (the source) and the oracle's even 60 fps conversion of it (pairs)."""
    folder = tmp_path_factory.mktemp("judder")
    scene = make_scene("twos", *SIZE, 36)
    source = folder / "twos.mp4"
    write_video(source, list(scene.source_frames()), scene.rate)
    times, pictures = _oracle_output("pairs")
    output = folder / "even.mkv"
    writer = VideoWriter(output, OUTPUT_RATE, *SIZE, codec="ffv1")
    for when, picture in zip(times, pictures, strict=True):
        writer.write(picture, when)
    writer.close()
    return source, output


def test_judder_index_separates_holds_from_even_motion() -> None:
    _, naive = _oracle_output("naive")
    _, pairs = _oracle_output("pairs")
    held, even = judder_of_pictures(naive), judder_of_pictures(pairs)
    assert held.index > 0.6 and even.index < 0.2
    assert held.stopped_share > 0.3 and even.stopped_share < 0.05
    assert held.frozen_share > 0.3 and even.frozen_share < 0.05


def test_windows_across_a_cut_are_left_out() -> None:
    magnitudes = np.ones((12, 2, 2))
    magnitudes[6] = 40.0  # the jump at a cut
    cuts = np.zeros(12, bool)
    assert judder_of_magnitudes(magnitudes, cuts).index > 0.5
    cuts[6] = True
    measured = judder_of_magnitudes(magnitudes, cuts)
    assert measured.index == pytest.approx(0.0) and measured.windows == 12 - 5 + 1 - 5


def test_drawing_fidelity_sees_a_late_drawing() -> None:
    scene = make_scene("twos", *SIZE, 36)
    source = [scene.drawing_frame(n) for n in range(scene.frames)]
    source_times = [Fraction(n) / scene.rate for n in range(scene.frames)]
    naive_times, naive = _oracle_output("naive")
    on_time = drawing_fidelity_of(source, source_times, naive, naive_times)
    late = drawing_fidelity_of(source, source_times, naive, [t + Fraction(2) / scene.rate for t in naive_times])
    assert on_time > 45 and late < on_time - 15


def test_stsr_analyze_prints_judder_and_fidelity(clips: tuple[Path, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    source, output = clips
    assert stsr(["analyze", str(source), "--against", str(output), "--plot", str(tmp_path / "m.png")]) == 0
    printed = capsys.readouterr().out
    assert printed.count("judder index") == 2 and "drawing-time fidelity" in printed
    assert judder(source).index > 3 * judder(output).index
    result = analyze(source, output)
    assert result.video_judder is not None and result.against_judder is not None
    assert result.against_judder.index < result.video_judder.index
    assert result.drawing_fidelity > 30
