"""``stsr convert`` end to end on real video files made with PyAV."""

from __future__ import annotations

import itertools
import math
import re
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import run_stsr, small_scene

from stsr.engine import ConvertOptions, convert
from stsr.errors import Cancelled, InputError
from stsr.eval.sample import beeps, write_clip
from stsr.interpolators import create_backend
from stsr.io.video import decode, probe

FLOW = ConvertOptions(backend="flow", device="cpu")


def video_times(path: Path) -> list[Fraction]:
    return [frame.time for frame in decode(path)]


@pytest.mark.parametrize(
    ("source_rate", "fps", "frames", "expected"),
    [
        (Fraction(24000, 1001), Fraction(60000, 1001), 24, 60),
        (Fraction(24), Fraction(60), 24, 60),
        (Fraction(25), Fraction(120), 25, 120),
        (Fraction(24000, 1001), Fraction(60000, 1001), 23, 58),  # odd count: 57.5 -> 58
    ],
)
def test_frame_count_and_exact_timestamps(make_clip, tmp_path: Path, source_rate: Fraction, fps: Fraction,
                                          frames: int, expected: int) -> None:
    source = make_clip(frames=frames, rate=source_rate)
    target = tmp_path / "out.mp4"
    result = convert(source, target, ConvertOptions(fps=fps, backend="flow", device="cpu"))
    assert result.frames == expected
    info = probe(target)
    assert info.frame_rate == fps
    times = video_times(target)
    assert len(times) == expected
    step = 1 / fps
    # Container time bases round; every timestamp must be within a millisecond of j / fps.
    assert all(abs(t - j * step) < Fraction(1, 1000) for j, t in enumerate(times))


def test_times_option_is_half_source_rate_times_n(make_clip, tmp_path: Path) -> None:
    source = make_clip(frames=24)
    result = convert(source, tmp_path / "x5.mp4", ConvertOptions(times=5, backend="flow", device="cpu"))
    assert result.rate == Fraction(24000, 1001) / 2 * 5
    assert result.frames == 60


def test_variable_frame_rate_input_uses_timestamps(make_clip, tmp_path: Path) -> None:
    """A VFR clip (frames 1/24 s apart, then 1/12 s apart) lasts its real duration at 60 fps."""
    times = [Fraction(i, 24) for i in range(12)] + [Fraction(12, 24) + Fraction(i, 12) for i in range(1, 7)]
    source = make_clip("vfr.mkv", frames=len(times), rate=Fraction(24), times=times)
    decoded = video_times(source)
    assert all(abs(a - b) <= Fraction(1, 1000) for a, b in zip(decoded, times, strict=True))  # really VFR
    result = convert(source, tmp_path / "vfr_out.mkv", ConvertOptions(fps=Fraction(60), backend="flow",
                                                                      device="cpu"))
    # The last frame lasts what the container says (1/24 s) or, if it says nothing, the interval before it.
    possible = {math.ceil((decoded[-1] + last) * 60) for last in (Fraction(1, 24), decoded[-1] - decoded[-2])}
    assert result.frames in possible  # about 1.05 s of video, not 18 frames at 24 fps (45 frames)
    assert len(video_times(tmp_path / "vfr_out.mkv")) == result.frames


def test_audio_is_copied_and_in_sync(tmp_path: Path) -> None:
    """Flash frames and beeps at the same instants stay together after conversion."""
    rate = Fraction(24000, 1001)
    scene = small_scene(frames=72, rate=rate)
    flash_frames = [12, 36, 60]
    frames = []
    for index, image in enumerate(scene.source_frames()):
        frames.append(np.full_like(image, 255) if index in flash_frames else image)
    flash_times = [float(i / rate) for i in flash_frames]
    source = tmp_path / "flash.mp4"
    write_clip(source, frames, rate, audio=beeps(flash_times, float(72 / rate)))
    target = tmp_path / "flash60.mp4"
    convert(source, target, ConvertOptions(backend="flow", device="cpu", scene_detect=False))

    with av.open(str(target)) as container:
        assert len(container.streams.audio) == 1
        samples = []
        for frame in container.decode(audio=0):
            samples.append(frame.to_ndarray().reshape(-1))
        audio = np.concatenate(samples)
        sample_rate = container.streams.audio[0].rate
    loud = np.flatnonzero(np.abs(audio) > 0.2)
    onsets = [loud[0]] + [b for a, b in itertools.pairwise(loud) if b - a > sample_rate // 4]
    beep_times = [o / sample_rate for o in onsets]
    assert len(beep_times) == 3

    output = list(decode(target))
    brightness = np.array([f.rgb.mean() for f in output])
    frame_step = 1001 / 60000
    for beep in beep_times:
        near = [f for f in output if abs(float(f.time) - beep) < 0.25]
        brightest = max(near, key=lambda f: f.rgb.mean())
        assert brightest.rgb.mean() > brightness.mean() + 30
        # The flash's brightest output frame is within one output frame of the beep (AAC priming aside).
        assert abs(float(brightest.time) - beep) <= frame_step + 0.001


def test_container_metadata_is_kept(tmp_path: Path) -> None:
    source = tmp_path / "tagged.mkv"
    write_clip(source, small_scene().source_frames(), Fraction(24000, 1001),
               metadata={"title": "Episode 1", "comment": "drawn on twos"})
    target = tmp_path / "tagged60.mkv"
    convert(source, target, FLOW)
    with av.open(str(target)) as container:
        tags = {key.lower(): value for key, value in container.metadata.items()}
    assert tags["title"] == "Episode 1"
    assert tags["comment"] == "drawn on twos"


def test_existing_output_is_refused_and_overwrite_replaces(make_clip, tmp_path: Path) -> None:
    source = make_clip()
    target = tmp_path / "out.mp4"
    target.write_bytes(b"keep me")
    with pytest.raises(InputError, match="already exists"):
        convert(source, target, FLOW)
    assert target.read_bytes() == b"keep me"
    convert(source, target, ConvertOptions(backend="flow", device="cpu", overwrite=True))
    assert probe(target).frame_count == 60


def test_interrupted_conversion_leaves_no_file(make_clip, tmp_path: Path) -> None:
    """Stopping mid-way (Ctrl-C, SIGTERM) removes the temporary file; OUTPUT never appears."""
    source = make_clip(frames=96)
    target = tmp_path / "out.mp4"
    stop = threading.Event()
    seen_temporary: list[bool] = []

    def progress(state) -> None:
        seen_temporary.append(any(p.name.startswith(".out.stsr-tmp") for p in tmp_path.iterdir()))
        if state.done == 150:
            stop.set()

    with pytest.raises(Cancelled):
        convert(source, target, FLOW, progress=progress, stop=stop)
    assert any(seen_temporary)  # it was written under a temporary name
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


def test_crash_in_the_model_leaves_no_file(make_clip, tmp_path: Path) -> None:
    class Exploding:
        device = "cpu"

        def prepare(self, a, b):
            raise RuntimeError("model crashed")

        def describe(self) -> str:
            return "exploding"

    source = make_clip()
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="model crashed"):
        convert(source, target, FLOW, interpolator=Exploding())  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


def test_scene_cut_frames_are_held_not_blended(tmp_path: Path) -> None:
    """Around a cut every output frame matches a frame of one shot, never a mix."""
    rate = Fraction(24000, 1001)
    scene = small_scene(frames=48, rate=rate, cut_at=24)
    source = tmp_path / "cut.mp4"
    write_clip(source, scene.source_frames(), rate)
    target = tmp_path / "cut60.mp4"
    convert(source, target, FLOW)
    shot_a = [scene.source_frame(i).astype(float) for i in range(20, 24)]
    shot_b = [scene.source_frame(i).astype(float) for i in range(24, 28)]
    across = np.abs(shot_a[-1] - shot_b[0]).mean()
    cut_time = 24 / rate
    checked = 0
    for frame in decode(target):
        if abs(frame.time - cut_time) > 3 / rate:
            continue
        image = frame.rgb.astype(float)
        nearest = min(np.abs(image - other).mean() for other in shot_a + shot_b)
        # A blend would sit about half-way (across / 2) from both shots.
        assert nearest < 0.2 * across, f"output at {float(frame.time):.3f}s is a blend across the cut"
        checked += 1
    assert checked >= 12


def test_naive_mode_and_resample_mode_differ_on_twos(make_clip, tmp_path: Path) -> None:
    """naive repeats a picture (no motion between held frames); resample moves every frame."""
    source = make_clip(frames=48)
    moves = {}
    for mode in ("naive", "pairs"):
        target = tmp_path / f"{mode}.mp4"
        convert(source, target, ConvertOptions(backend="flow", device="cpu", schedule=mode))
        frames = [f.rgb.astype(float) for f in decode(target)][10:-10]
        moves[mode] = np.array([np.abs(b - a).mean() for a, b in itertools.pairwise(frames)])
    assert (moves["naive"] < 0.3).mean() > 0.25  # held stretches
    assert (moves["pairs"] < 0.3).mean() < 0.05


def test_regional_schedule_moves_every_output_frame_at_exact_times(make_clip, tmp_path: Path) -> None:
    """``--schedule regional`` end to end: per-region time maps through the flow backend on a real clip."""
    source = make_clip(frames=48)
    target = tmp_path / "regional.mp4"
    result = convert(source, target, ConvertOptions(backend="flow", device="cpu", schedule="regional"))
    assert result.frames == 120
    times = video_times(target)
    assert all(abs(t - j * Fraction(1001, 60000)) < Fraction(1, 1000) for j, t in enumerate(times))
    frames = [f.rgb.astype(float) for f in decode(target)][10:-10]
    moves = np.array([np.abs(b - a).mean() for a, b in itertools.pairwise(frames)])
    assert (moves < 0.3).mean() < 0.05, "held output steps on a character on twos"


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("missing", [], "no such file"),
        ("text", [], "not a readable video"),
        ("corrupt", [], "corrupt|not a readable video"),
        ("one_frame", [], "only one frame"),
        ("audio_only", [], "audio-only"),
        ("clip", ["--backend", "nope"], "unknown backend 'nope'"),
        ("clip", ["--fps", "abc"], "bad frame rate"),
        ("clip", ["--fps", "0"], "bad frame rate"),
    ],
)
def test_bad_input_gets_one_line_and_nonzero_exit(make_clip, tmp_path: Path, setup: str, args: list[str],
                                                  message: str) -> None:
    source = tmp_path / "input.mp4"
    if setup == "text":
        source.write_text("this is not a video\n")
    elif setup == "corrupt":
        good = make_clip("good.mp4", frames=24).read_bytes()
        source.write_bytes(good[:64] + bytes(np.random.default_rng(1).integers(0, 255, len(good) - 64,
                                                                                dtype=np.uint8)))
    elif setup == "one_frame":
        source = make_clip("one.mp4", frames=1)
    elif setup == "audio_only":
        source = tmp_path / "audio.m4a"
        with av.open(str(source), "w") as container:
            stream = container.add_stream("aac", rate=48000)
            stream.layout = "mono"
            frame = av.AudioFrame.from_ndarray(beeps([0.0], 0.5)[None, :], format="flt", layout="mono")
            frame.sample_rate = 48000
            container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    elif setup == "clip":
        source = make_clip()
    target = tmp_path / "out.mp4"
    result = run_stsr("convert", str(source), str(target), "--backend", "flow", *args)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if "stsr-tmp" in p.name]


def test_cli_convert_prints_summary(make_clip, tmp_path: Path) -> None:
    source = make_clip()
    target = tmp_path / "cli.mp4"
    result = run_stsr("convert", str(source), str(target), "--backend", "flow", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "60 frames at 60000/1001 fps" in result.stderr
    assert "libx264, yuv420p, crf 18, preset medium" in result.stderr  # 8-bit in: H.264 8-bit, the settings said
    assert probe(target).frame_count == 60


def test_cancel_waits_for_a_model_pass_in_progress(make_clip, tmp_path: Path) -> None:
    """No thread outlives its job: convert returns only after a model pass that was running has ended."""
    entered, release = threading.Event(), threading.Event()
    pass_ended = threading.Event()
    flow = create_backend("flow", device="cpu")

    class SlowOnce:
        device = flow.device

        def __init__(self) -> None:
            self.calls = 0

        def prepare(self, a, b):
            self.calls += 1
            if self.calls == 3:
                entered.set()
                release.wait(30)  # a long network pass, ended only when the test says so
                pass_ended.set()
            return flow.prepare(a, b)

        def describe(self) -> str:
            return "slow once"

    stop = threading.Event()
    source = make_clip(frames=24)
    errors: list[BaseException] = []

    def job() -> None:
        try:
            convert(source, tmp_path / "out.mp4", FLOW, stop=stop, interpolator=SlowOnce())  # type: ignore[arg-type]
        except BaseException as error:
            errors.append(error)

    runner = threading.Thread(target=job)
    runner.start()
    assert entered.wait(60)
    stop.set()
    runner.join(0.5)
    assert runner.is_alive(), "convert returned while its model stage was still inside a pass"
    release.set()
    runner.join(60)
    assert not runner.is_alive()
    assert pass_ended.is_set()
    assert len(errors) == 1 and isinstance(errors[0], Cancelled)
    assert not [t for t in threading.enumerate() if t.name.startswith("stsr-")]
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]
