"""``stsr play`` against real libmpv, headless.

mpv's encoding mode (``o=out.mkv``, lossless ``ffv1``) records exactly the frames mpv
presents, so the tests compare them byte for byte with what the engine makes
offline for the same output indices.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import itertools
import json
import math
import signal
import socket
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from stsr.engine import resample_frames, tag_cuts
from stsr.eval.synthetic import Background, Character, Scene
from stsr.interpolators.adapters import HoldInterpolator
from stsr.interpolators.base import Interpolator, PreparedPair
from stsr.interpolators.registry import register
from stsr.io.color import tensor_to_i420
from stsr.io.video import decode, probe, write_video
from stsr.plugin.cli import main as stsr_main
from stsr.plugin.player.frames import SOURCE, FrameProducer, Level, SourceFrames, Timeline
from stsr.plugin.player.player import Player, PlayOptions
from stsr.plugin.player.policy import Reason

pytestmark = pytest.mark.mpv

if ctypes.util.find_library("mpv") is None:  # pragma: no cover - CI installs libmpv2
    pytest.skip("libmpv is not installed (sudo apt-get install libmpv2)", allow_module_level=True)

RATE = Fraction(60000, 1001)
HEADLESS = [("vo", "null"), ("ao", "null")]
REPO = Path(__file__).resolve().parents[1]


# -- clips ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of a panning background and a character drawn on ones: every output frame differs."""
    scene = Scene(width=160, height=90, frames=72, background=Background(velocity=(1.5, 0.0)),
                  characters=[Character(start=(30, 45), velocity=(1.2, 0.2), radius=(14, 20), holds=(1,))])
    path = tmp_path_factory.mktemp("play") / "clip.mkv"
    write_video(path, scene.source_frames(), scene.rate, codec="ffv1")
    return path


FLASHES = (12, 31, 50)  # source frames where a 4-frame white flash (and a beep) starts
SAMPLE_RATE = 48000


@pytest.fixture(scope="module")
def flash_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dark frames with white flashes; the audio has a 1 kHz beep exactly at each flash."""
    rate = Fraction(24000, 1001)
    frames = 72
    path = tmp_path_factory.mktemp("flash") / "flash.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=rate)
        video.width, video.height, video.pix_fmt = 160, 90, "yuv420p"
        video.time_base = video.codec_context.time_base = 1 / rate
        audio = container.add_stream("pcm_s16le", rate=SAMPLE_RATE)
        audio.layout = "mono"
        audio.time_base = audio.codec_context.time_base = Fraction(1, SAMPLE_RATE)
        total = math.ceil(frames / rate * SAMPLE_RATE)
        samples = np.zeros(total, np.float32)
        for start in FLASHES:
            first = round(start / rate * SAMPLE_RATE)
            beep = np.arange(round(0.06 * SAMPLE_RATE))
            samples[first:first + len(beep)] = 0.8 * np.sin(2 * np.pi * 1000 * beep / SAMPLE_RATE)
        pcm = (samples * 32767).astype(np.int16)
        audio_position = 0
        for index in range(frames):
            white = any(start <= index < start + 4 for start in FLASHES)
            rgb = np.full((90, 160, 3), 235 if white else 20, np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            frame.time_base = video.codec_context.time_base
            for packet in video.encode(frame):
                container.mux(packet)
            until = min(total, round((index + 1) / rate * SAMPLE_RATE))
            if until > audio_position:
                chunk = av.AudioFrame.from_ndarray(pcm[None, audio_position:until], format="s16", layout="mono")
                chunk.sample_rate = SAMPLE_RATE
                chunk.pts = audio_position
                chunk.time_base = audio.codec_context.time_base
                for packet in audio.encode(chunk):
                    container.mux(packet)
                audio_position = until
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)
    return path


# -- helpers -------------------------------------------------------------------------------------

def record(source: Path, output: Path, hook=None, **options) -> tuple:
    """Play ``source`` through mpv's encoding mode into lossless ``output``; return (player, result)."""
    mpv_options = [*HEADLESS, ("o", str(output)), ("ovc", "ffv1"), ("oac", "pcm_s16le"),
                   *options.pop("mpv_options", [])]
    player = Player(source, PlayOptions(backend="flow", device="cpu", mpv_options=mpv_options, **options),
                    on_mpv=hook)
    result = player.run()
    return player, result


def recorded_video(path: Path) -> list[tuple[Fraction, np.ndarray]]:
    """(presentation time, I420 planes) of every frame mpv encoded."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(Fraction(frame.pts) * stream.time_base, frame.to_ndarray(format="yuv420p").reshape(-1))
                for frame in container.decode(stream)]


def reference(player: Player, level: Level) -> list[np.ndarray]:
    """The frames the engine makes offline at ``level`` for output indices 0..count-1."""
    interpolator: Interpolator = player._interpolator_for(level)
    schedule = player.options.schedule if level.smooth else "naive"
    frames = tag_cuts(decode(player.source, player.height), player.options.scene_detect)
    with torch.inference_mode():
        outputs = [tensor_to_i420(output.image)
                   for output in resample_frames(frames, interpolator, player.rate, schedule,
                                                 start=player.timeline.origin)]
    return outputs[:player.timeline.count]


def matches(frame: np.ndarray, expected: np.ndarray) -> bool:
    return bool(np.array_equal(frame, expected))


def when_position_passes(seconds: float, action) -> callable:
    """A hook that runs ``action(mpv)`` once, in its own thread, after playback passes ``seconds``."""
    def hook(mpv) -> None:
        fired = threading.Event()

        def observer(_name, value) -> None:
            if value is not None and value >= seconds and not fired.is_set():
                fired.set()
                threading.Thread(target=action, args=(mpv,), daemon=True).start()
        mpv.observe_property("time-pos", observer)
    return hook


def stsr_threads() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.is_alive() and (t.name.startswith("stsr-") or t.name == "MPVEventHandlerThread")]


# -- what mpv presents ---------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["pairs", "cadence"])
def test_every_output_frame_arrives_in_order_at_the_declared_rate(clip: Path, tmp_path: Path, schedule: str) -> None:
    player, result = record(clip, tmp_path / "out.mkv", schedule=schedule)
    frames = recorded_video(tmp_path / "out.mkv")
    expected = reference(player, player.levels[0])
    assert player.timeline.count == len(expected) == 180  # 3.003 s at 59.94
    assert len(frames) == len(expected)
    for index, (shown_at, planes) in enumerate(frames):
        assert abs(shown_at - Fraction(index) / RATE) <= Fraction(1, 1000), f"frame {index} at {float(shown_at)}"
        assert matches(planes, expected[index]), f"frame {index} differs from the engine's frame {index}"
    assert result.frames_produced >= len(expected)
    # It is smoothed: most frames are not source frames.
    source = reference(player, Level(SOURCE, player.height))
    assert sum(not matches(a, b) for a, b in zip(expected, source, strict=True)) > len(expected) // 2


def test_start_and_seek_land_on_the_frame_for_their_time(clip: Path, tmp_path: Path) -> None:
    seek_to = 2.25

    def seek(mpv) -> None:
        mpv.command("seek", str(seek_to), "absolute", "exact")

    player, _ = record(clip, tmp_path / "out.mkv", start=0.5, hook=when_position_passes(1.0, seek))
    frames = recorded_video(tmp_path / "out.mkv")
    expected = reference(player, player.levels[0])
    # mpv's exact seek shows the first frame that starts at or after the target time.
    start_index = math.ceil(Fraction(1, 2) * RATE)
    assert start_index == 30
    assert matches(frames[0][1], expected[start_index])
    # Find where the recording jumps: every frame is the engine's frame for its index, and after the
    # jump the index is the one for ``seek_to``.
    indices: list[int] = []
    for _, planes in frames:
        if indices and indices[-1] + 1 < len(expected) and matches(planes, expected[indices[-1] + 1]):
            indices.append(indices[-1] + 1)  # (held frames at the end are equal; prefer the next index)
            continue
        found = [j for j, reference_planes in enumerate(expected) if matches(planes, reference_planes)]
        assert found, "mpv showed a frame the engine never makes"
        indices.append(found[0])
    jumps = [(a, b) for a, b in itertools.pairwise(indices) if b != a + 1]
    assert len(jumps) == 1, f"expected one seek, got jumps {jumps}"
    assert jumps[0][1] == math.ceil(Fraction(seek_to) * RATE) == 135
    assert indices[-1] == len(expected) - 1


def _press(mpv) -> None:
    mpv.command("keypress", "b")


def test_hotkey_switches_what_mpv_shows_between_smoothed_and_source_frames(clip: Path, tmp_path: Path) -> None:
    def press_twice(mpv) -> None:
        _press(mpv)
        when_position_passes(2.0, _press)(mpv)

    player, result = record(clip, tmp_path / "out.mkv", hook=when_position_passes(1.0, press_twice))
    frames = recorded_video(tmp_path / "out.mkv")
    smooth = reference(player, player.levels[0])
    source = reference(player, Level(SOURCE, player.height))
    assert len(frames) == len(smooth)
    assert [on for _, _, on in result.toggles] == [False, True]
    (_, first_off, _), (_, first_on, _) = result.toggles
    assert 0 < first_off < first_on < len(frames)
    for index, (_, planes) in enumerate(frames):
        wanted = source if first_off <= index < first_on else smooth
        assert matches(planes, wanted[index]), f"frame {index}: wrong mode"
    # Off really is different: most frames in the off stretch are not the smoothed ones.
    off = [planes for _, planes in frames[first_off:first_on]]
    assert sum(not matches(a, b) for a, b in zip(off, smooth[first_off:first_on], strict=True)) > len(off) // 2


def frozen_clock() -> float:
    """A clock that never moves: restarts cost nothing and the head start waits for its frames, not a deadline."""
    return 0.0


def wait_for(condition, what: str, timeout: float = 30) -> None:
    """Wait for another thread to reach a state (the deadline only stops a hang; nothing depends on speed)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def test_hotkey_takes_effect_within_two_frames_of_the_shown_one(clip: Path) -> None:
    """Pressed while paused, so what mpv shows and has read stand still; with a clock that makes restarts free,
    what is left is how far mpv reads ahead of the frame it shows, which the player's mpv settings bound."""
    player: Player

    def press_twice_then_quit(mpv) -> None:
        for presses in (1, 2):
            mpv.pause = True
            mpv.command("keypress", "b")
            wait_for(lambda: len(player.toggles) == presses, f"toggle {presses}")  # noqa: B023
            shown = mpv.time_pos
            mpv.pause = False
            mpv.wait_for_property("time-pos", lambda position: position is not None and position > shown + 0.2,  # noqa: B023
                                  timeout=20)
        mpv.command("quit")

    player = Player(clip, PlayOptions(backend="flow", device="cpu", mpv_options=HEADLESS),
                    on_mpv=when_position_passes(0.5, press_twice_then_quit), clock=frozen_clock)
    result = player.run()
    status = player.status_text()
    for field in ("smoothing on", "backend: flow", "device: cpu", "processing: 90p", "ms per frame", "buffer:",
                  "frames late:"):
        assert field in status, status
    assert [on for _, _, on in result.toggles] == [False, True]
    for presented, first, _ in result.toggles:
        # ``presented``: the frame mpv showed when the key arrived; ``first``: the first frame in the new mode.
        assert 0 < first - presented <= 2, f"took effect {first - presented} frames after the key"


class _GatedInterpolator(Interpolator):
    """Instant, except that its ``gate_at``-th pair waits for ``gate``: frame production stalls there."""

    name = "gated_test"

    def __init__(self, gate: threading.Event, gate_at: int) -> None:
        super().__init__("cpu")
        self.gate, self.gate_at, self.calls = gate, gate_at, 0

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        self.calls += 1
        if self.calls == self.gate_at:
            self.gate.wait(10)
        return HoldInterpolator().prepare(frame0, frame1)


def test_a_toggle_while_mpv_waits_for_a_frame_still_delivers_that_frame(clip: Path) -> None:
    """The race that once hung playback: the toggle restarted production after the frame mpv was waiting for."""
    info = probe(clip)
    sources = SourceFrames(clip, info.height, scene_detect=False, source_rate=info.frame_rate)
    timeline = Timeline(Fraction(0), RATE, 180)
    gate = threading.Event()
    gated = _GatedInterpolator(gate, gate_at=6)
    hold = HoldInterpolator()
    smooth, off = Level("gated_test", info.height), Level(SOURCE, info.height)
    producer = FrameProducer(sources, timeline, (info.width, info.height),
                             lambda level: gated if level.smooth else hold, smooth, capacity=8)
    producer.prefill_timeout = 0.2
    delivered: dict[int, np.ndarray | None] = {}
    blocked_at: list[int] = []

    def mpv_reads() -> None:
        for index in range(40):
            blocked_at[:] = [index]
            delivered[index] = producer.frame(index)
        blocked_at.clear()

    producer.start()
    reader = threading.Thread(target=mpv_reads, daemon=True)
    try:
        reader.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (blocked_at and gated.calls >= 6
                                                   and blocked_at[0] not in delivered):
            time.sleep(0.01)
        time.sleep(0.3)  # the reader now waits for a frame that the stalled run has not made
        waiting_for = blocked_at[0]
        assert waiting_for not in delivered
        first = producer.switch(off, immediately=True)
        gate.set()
        reader.join(10)
        assert not reader.is_alive(), f"the reader still waits for frame {waiting_for} (toggle restarted at {first})"
    finally:
        gate.set()
        producer.cancel()
        producer.stop()
        reader.join(5)
    assert first == waiting_for
    expected = [tensor_to_i420(output.image) for output in resample_frames(
        tag_cuts(decode(clip, info.height), False), hold, RATE, "naive")][:40]
    assert all(delivered[index] is not None for index in range(40))
    assert all(matches(delivered[index], expected[index]) for index in range(waiting_for, 40))


def test_audio_stays_within_one_output_frame_of_the_video(flash_clip: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.mkv"
    record(flash_clip, output)
    frames = recorded_video(output)
    luma = [float(planes[:160 * 90].mean()) for _, planes in frames]
    video_onsets = [float(frames[i][0]) for i in range(1, len(luma)) if luma[i] > 128 >= luma[i - 1]]
    with av.open(str(output)) as container:
        stream = container.streams.audio[0]
        chunks, first_time = [], None
        for frame in container.decode(stream):
            if first_time is None:
                first_time = float(frame.pts * stream.time_base)
            chunks.append(frame.to_ndarray().reshape(frame.samples, -1)[:, 0].astype(np.float32))
        samples = np.abs(np.concatenate(chunks))
        rate = stream.rate
    loud = samples > 0.3 * 32767
    audio_onsets = [first_time + i / rate for i in range(1, len(loud)) if loud[i] and not loud[max(0, i - 48):i].any()]
    assert len(video_onsets) == len(FLASHES), video_onsets
    assert len(audio_onsets) == len(FLASHES), audio_onsets
    frame = 1 / float(RATE)
    for video_time, audio_time, source_frame in zip(video_onsets, audio_onsets, FLASHES, strict=True):
        truth = source_frame * 1001 / 24000
        assert abs(audio_time - truth) < 0.002
        # (+1 ms: Matroska stores the source's frame times in whole milliseconds)
        assert abs(video_time - audio_time) <= frame + 0.001, f"A/V offset {1000 * (video_time - audio_time):.1f} ms"


# -- real time, quitting, errors -----------------------------------------------------------------

class _SlowInterpolator(Interpolator):
    """Takes 60 ms per pair: far too slow for 59.94 fps, so the player must step down."""

    name = "slow_test"

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        time.sleep(0.06)
        return HoldInterpolator().prepare(frame0, frame1)


register("slow_test", "test only: sleeps")(_SlowInterpolator)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s like ``clip``: room to step down on a slow machine before the end."""
    scene = Scene(width=160, height=90, frames=240, background=Background(velocity=(1.5, 0.0)),
                  characters=[Character(start=(30, 45), velocity=(0.3, 0.05), radius=(14, 20), holds=(1,))])
    path = tmp_path_factory.mktemp("play_long") / "long.mkv"
    write_video(path, scene.source_frames(), scene.rate, codec="ffv1")
    return path


def test_too_slow_steps_down_and_playback_keeps_time(long_clip: Path) -> None:
    player = Player(long_clip, PlayOptions(backend="slow_test", device="cpu", mpv_options=HEADLESS))
    source_level = Level(SOURCE, player.height).label()
    positions: list[tuple[float, float]] = []

    def hook(mpv) -> None:
        def watch_then_quit() -> None:
            # However long stepping down takes on this machine, then one second of playback at the last level.
            with contextlib.suppress(AssertionError):
                wait_for(lambda: bool(player.changes) and player.changes[-1].new == source_level,
                         "stepped down to the source frames", timeout=60)
            started = time.monotonic()
            while time.monotonic() - started < 1.2:
                position = mpv.time_pos
                if position is not None:
                    positions.append((time.monotonic() - started, position))
                time.sleep(0.1)
            mpv.command("quit")
        threading.Thread(target=watch_then_quit, daemon=True).start()

    player._on_mpv = hook
    result = player.run()
    assert result.changes, "never stepped down"
    assert result.changes[0].step_down
    assert result.changes[0].reason in (Reason.OVER_BUDGET, Reason.BUFFER_LOW)
    assert result.changes[-1].new == source_level
    assert result.step_downs == len(result.changes) == len(player.levels) - 1  # one level at a time
    # Playback advanced with the clock (no stall) at the last level: over that second, position moved ~1 s.
    positions = [p for p in positions if p[0] >= 0.2]
    assert positions[-1][1] - positions[0][1] >= 0.6 * (positions[-1][0] - positions[0][0])


class _WarmingUpInterpolator(Interpolator):
    """Slow for its first calls (like a backend's first allocations and decodes), instant after."""

    name = "warming_up_test"

    def __init__(self, device: torch.device | str = "cpu", **_: object) -> None:
        super().__init__(device)
        self.calls = 0

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        self.calls += 1
        if self.calls <= 8:
            time.sleep(0.1)  # 8 calls make about 20 output frames in 0.8 s: slower than 59.94 fps
        return HoldInterpolator().prepare(frame0, frame1)


register("warming_up_test", "test only: slow start")(_WarmingUpInterpolator)


def test_a_slow_start_is_absorbed_by_the_head_start_and_no_frame_is_late(clip: Path) -> None:
    # The frozen clock: the head start waits for its frames however slow this machine is, not for a deadline.
    player = Player(clip, PlayOptions(backend="warming_up_test", device="cpu", adaptive=False,
                                      mpv_options=[*HEADLESS, ("keep-open", "no")]),  # ends at end of file
                    clock=frozen_clock)
    result = player.run()
    assert result.frames_produced >= 170
    assert result.frames_late == 0, f"late frames at {result.late_indices}"
    assert result.mpv_dropped == 0


def test_end_of_file_keeps_the_window_open_and_seeking_back_plays_again(clip: Path) -> None:
    seen: dict[str, object] = {}
    safety: list[threading.Timer] = []

    def hook(mpv) -> None:
        def script() -> None:
            mpv.wait_for_property("eof-reached", timeout=20)
            seen["end"] = mpv.time_pos
            assert mpv.pause  # keep-open: paused on the last frame, window still there
            mpv.command("seek", "0.5", "absolute", "exact")
            mpv.pause = False
            mpv.wait_for_property("time-pos", lambda position: position is not None and 1.0 < position < 2.0,
                                  timeout=20)
            seen["resumed"] = True
            mpv.command("quit")
        threading.Thread(target=script, daemon=True).start()
        safety.append(threading.Timer(30, lambda: mpv.command("quit")))  # never hang the suite
        safety[0].start()

    player = Player(clip, PlayOptions(backend="flow", device="cpu", start=2.5, mpv_options=HEADLESS), on_mpv=hook)
    result = player.run()
    safety[0].cancel()
    assert seen.get("resumed") and float(seen["end"]) > 2.9
    assert result.frames_produced >= 40  # the end, then again from 0.5 s to 1.2 s
    assert stsr_threads() == []


def test_quitting_mid_play_leaves_no_thread_behind(clip: Path) -> None:
    before = stsr_threads()
    player = Player(clip, PlayOptions(backend="flow", device="cpu", mpv_options=HEADLESS))
    player._on_mpv = when_position_passes(0.5, lambda mpv: mpv.command("quit"))
    started = time.monotonic()
    result = player.run()
    assert time.monotonic() - started < 10
    assert 0 < result.frames_produced < player.timeline.count
    assert stsr_threads() == before


def _wait_for_socket(path: Path, process: subprocess.Popen, timeout: float = 20) -> socket.socket:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if path.exists():
            client = socket.socket(socket.AF_UNIX)
            try:
                client.connect(str(path))
                return client
            except OSError:
                client.close()
        time.sleep(0.1)
    raise AssertionError("mpv's IPC socket never appeared")


@pytest.mark.parametrize("how", ["quit", "sigterm"])
def test_the_command_quits_cleanly(clip: Path, tmp_path: Path, how: str) -> None:
    ipc = tmp_path / "mpv.sock"
    process = subprocess.Popen(
        [sys.executable, "-m", "stsr.plugin.cli", "play", str(clip), "--backend", "flow", "--mpv", "vo=null",
         "--mpv", "ao=null", "--mpv", f"input-ipc-server={ipc}", "--mpv", "loop-file=inf"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        client = _wait_for_socket(ipc, process)
        time.sleep(0.5)
        if how == "quit":
            client.sendall(json.dumps({"command": ["keypress", "b"]}).encode() + b"\n")
            client.sendall(json.dumps({"command": ["quit"]}).encode() + b"\n")
        else:
            process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
        client.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "frames made" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("arguments", "message"), [
    (["{missing}"], "no such file"),
    (["{clip}", "--backend", "nosuch"], "unknown backend"),
    (["{clip}", "--mpv", "vo=null", "--mpv", "nosuchoption=1"], "nosuchoption"),
    (["{clip}", "--mpv", "=1"], "expected KEY=VALUE"),
    (["{clip}", "--start", "-1", "--mpv", "vo=null"], "--start"),
])
def test_errors_are_one_line(clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             arguments: list[str], message: str) -> None:
    values = {"missing": str(tmp_path / "missing.mkv"), "clip": str(clip)}
    code = stsr_main(["play", *(argument.format(**values) for argument in arguments)])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert len(error.splitlines()) == 1 and message in error, error
    assert stsr_threads() == []


def test_no_display_is_one_line(clip: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert stsr_main(["play", str(clip)]) == 2
    error = capsys.readouterr().err.strip()
    assert "no display" in error and len(error.splitlines()) == 1


# -- the hand-over script for everyday mpv -------------------------------------------------------

def test_install_mpv_script_and_hand_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import mpv

    clip = tmp_path / "everyday.mp4"  # h264: what mpv's own demuxers play
    scene = Scene(width=160, height=90, frames=72, background=Background(velocity=(1.5, 0.0)))
    write_video(clip, scene.source_frames(), scene.rate, codec="h264")

    config = tmp_path / "mpv-config"
    arguments_file = tmp_path / "arguments.txt"
    fake_stsr = tmp_path / "fake-stsr"
    fake_stsr.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {arguments_file}\n')
    fake_stsr.chmod(0o755)
    assert stsr_main(["install-mpv-script", "--config-dir", str(config), "--stsr", str(fake_stsr)]) == 0
    assert "press b" in capsys.readouterr().out
    script = config / "scripts" / "stsr-handoff.lua"
    conf = (config / "script-opts" / "stsr-handoff.conf").read_text()
    assert script.is_file() and f"stsr={fake_stsr}" in conf and "key=b" in conf

    # An everyday mpv with the installed script: the key hands the file and position over, then mpv quits.
    # (libmpv leaves scripts' default key bindings off; the mpv program has them on)
    player = mpv.MPV(vo="null", ao="null", config="yes", config_dir=str(config), volume="70",
                     input_default_bindings="yes")
    try:
        when_position_passes(1.0, lambda m: m.command("keypress", "b"))(player)
        player.play(str(clip))
        player.wait_for_shutdown(timeout=20)
    finally:
        player.terminate()
    deadline = time.monotonic() + 10
    while not (arguments_file.exists() and arguments_file.read_text().count("\n") >= 5) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    arguments = arguments_file.read_text().split("\n")
    assert arguments[:3] == ["play", str(clip), "--start"]
    assert 1.0 <= float(arguments[3]) < 2.5
    assert "volume=70.000000" in arguments or "volume=70" in arguments


def test_a_video_output_that_cannot_open_is_one_line(clip: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":4242")  # no X server there
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert stsr_main(["play", str(clip), "--mpv", "ao=null"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("stsr: error: mpv could not play") and len(error.splitlines()) == 1, error
    assert stsr_threads() == []


# -- the source's fonts and tracks ---------------------------------------------------------------

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TONES = {"eng": 440.0, "jpn": 1000.0}  # one audio track per language, each its own tone
ASS_HEADER = ("[Script Info]\nScriptType: v4.00+\nPlayResX: 160\nPlayResY: 90\n\n[V4+ Styles]\n"
              "Format: Name, Fontname, Fontsize, PrimaryColour, Alignment\n"
              "Style: Default,DejaVu Sans,18,&H00FFFFFF,2\n\n[Events]\n"
              "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n")


@pytest.fixture(scope="module")
def release_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like an anime release: 3 s of video, English and Japanese audio, ASS subtitles and an attached font."""
    rate = Fraction(24000, 1001)
    frames = 72
    path = tmp_path_factory.mktemp("release") / "release.mkv"
    font = FONT.read_bytes() if FONT.is_file() else b"\x00\x01\x00\x00not-a-font"
    with av.open(str(path), "w") as container:
        container.add_attachment("Release Font.ttf", "font/ttf", font)
        video = container.add_stream("ffv1", rate=rate)
        video.width, video.height, video.pix_fmt = 160, 90, "yuv420p"
        video.time_base = video.codec_context.time_base = 1 / rate
        audio = {}
        for language in TONES:
            stream = container.add_stream("pcm_s16le", rate=SAMPLE_RATE)
            stream.layout = "mono"
            stream.metadata["language"] = language
            stream.time_base = stream.codec_context.time_base = Fraction(1, SAMPLE_RATE)
            audio[language] = stream
        subtitles = container.add_stream("ass")
        subtitles.metadata["language"] = "eng"
        subtitles.codec_context.extradata = ASS_HEADER.encode()
        total = math.ceil(frames / rate * SAMPLE_RATE)
        seconds = np.arange(total) / SAMPLE_RATE
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((90, 160, 3), 40 + index, np.uint8), format="rgb24")
            frame.pts = index
            frame.time_base = video.codec_context.time_base
            for packet in video.encode(frame):
                container.mux(packet)
        for language, stream in audio.items():
            pcm = (0.5 * 32767 * np.sin(2 * np.pi * TONES[language] * seconds)).astype(np.int16)
            chunk = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = SAMPLE_RATE, 0, stream.codec_context.time_base
            for packet in [*stream.encode(chunk), *stream.encode(None)]:
                container.mux(packet)
        line = av.Packet(b"0,0,Default,,0,0,0,,stsr subtitle")
        line.stream, line.pts, line.dts, line.duration, line.time_base = subtitles, 0, 0, 2500, Fraction(1, 1000)
        container.mux(line)
        for packet in video.encode(None):
            container.mux(packet)
    return path


def dominant_frequency(path: Path) -> float:
    """The strongest frequency of the audio mpv recorded."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = np.concatenate([frame.to_ndarray().reshape(frame.samples, -1)[:, 0].astype(np.float32)
                                  for frame in container.decode(stream)])
        rate = stream.rate
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum[1:])) + 1])


def test_play_hands_mpv_the_attached_fonts_and_removes_them_after(release_clip: Path, tmp_path: Path) -> None:
    seen: dict[str, object] = {}
    loaded_fonts: list[str] = []

    def hook(mpv) -> None:
        folder = player.fonts_folder
        assert folder is not None
        seen["files"] = sorted(file.name for file in folder.iterdir())
        seen["bytes"] = (folder / "Release Font.ttf").read_bytes()
        seen["folder"] = folder
        seen["sub-fonts-dir"] = mpv["sub-fonts-dir"] if "sub-fonts-dir" in mpv.options else None
        seen["config-dir"] = mpv["config-dir"]

    output = tmp_path / "out.mkv"
    mpv_options = [*HEADLESS, ("o", str(output)), ("ovc", "ffv1"), ("oac", "pcm_s16le")]
    player = Player(release_clip, PlayOptions(backend="flow", device="cpu", mpv_options=mpv_options), on_mpv=hook)
    player.mpv_log_level = "v"
    keep_errors = player._on_mpv_log

    def on_log(level: str, prefix: str, text: str) -> None:
        if "font file" in text.lower():
            loaded_fonts.append(text.strip())
        keep_errors(level, prefix, text)

    player._on_mpv_log = on_log
    player.run()
    folder = seen["folder"]
    assert isinstance(folder, Path)
    assert seen["files"] == ["Release Font.ttf"]
    assert seen["bytes"] == (FONT.read_bytes() if FONT.is_file() else seen["bytes"])
    if seen["sub-fonts-dir"] is not None:  # mpv 0.36 and later
        assert seen["sub-fonts-dir"] == str(folder)
    else:  # mpv 0.35 reads subtitle fonts from <config-dir>/fonts
        assert seen["config-dir"] == str(folder.parent) and folder.name == "fonts"
    # libass itself read the font from that folder for the source's subtitles
    assert any(str(folder / "Release Font.ttf") in line for line in loaded_fonts), loaded_fonts
    assert not folder.exists() and not folder.parent.exists()
    assert player.fonts_folder is None


def test_a_file_without_subtitles_gets_no_fonts_folder(clip: Path) -> None:
    player = Player(clip, PlayOptions(backend="flow", device="cpu", mpv_options=HEADLESS))
    try:
        player._extract_fonts()
        assert player.fonts_folder is None
        assert "sub-fonts-dir" not in player._mpv_settings() and "config-dir" not in player._mpv_settings()
    finally:
        player.close()


@pytest.mark.parametrize(("languages", "heard"), [(None, "eng"), ("jpn,ja", "jpn")])
def test_the_audio_language_chosen_is_the_track_played(release_clip: Path, tmp_path: Path,
                                                       languages: str | None, heard: str) -> None:
    seen: dict[str, object] = {}

    def hook(mpv) -> None:
        seen["alang"], seen["slang"] = mpv["alang"], mpv["slang"]

    output = tmp_path / "out.mkv"
    record(release_clip, output, hook=hook, audio_languages=languages, subtitle_languages="eng,en")
    assert seen["slang"] == ["eng", "en"]
    assert seen["alang"] == (languages.split(",") if languages else [])
    assert dominant_frequency(output) == pytest.approx(TONES[heard], abs=5)


def test_alang_and_slang_on_the_command_line_reach_the_player(clip: Path) -> None:
    from stsr.plugin.cli import build_parser
    from stsr.plugin.commands.play import play_options_from_args

    args = build_parser().parse_args(["play", str(clip), "--alang", "jpn,ja", "--slang", "eng"])
    options = play_options_from_args(args)
    assert (options.audio_languages, options.subtitle_languages) == ("jpn,ja", "eng")
