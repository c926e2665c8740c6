"""The player's frame producer without mpv: a reader thread stands in for mpv, a fake clock for time.

Nothing here waits for wall-clock time to pass: slow interpolators block on events
the test releases, and costs are fake-clock seconds the interpolators "spend".
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from stsr.eval.synthetic import Background, Character, Scene
from stsr.interpolators.adapters import HoldInterpolator
from stsr.interpolators.base import Interpolator, PreparedPair
from stsr.io.video import probe, write_video
from stsr.plugin.player.frames import SOURCE, FrameProducer, Level, SourceFrames, Timeline

RATE = Fraction(60000, 1001)


class FakeClock:
    """Seconds that pass only when told to."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class ScriptedInterpolator(Interpolator):
    """Source frames held, but each call can block on an event or spend fake-clock time first."""

    name = "scripted_test"

    def __init__(self, clock: FakeClock, seconds_per_call: float = 0.0) -> None:
        super().__init__("cpu")
        self.clock, self.seconds_per_call = clock, seconds_per_call
        self.calls = 0
        #: call number -> event that call waits for
        self.gates: dict[int, threading.Event] = {}
        self.blocked = threading.Event()

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        self.calls += 1
        gate = self.gates.get(self.calls)
        if gate is not None:
            self.blocked.set()
            assert gate.wait(30), "the test never opened the gate"
        self.clock.advance(self.seconds_per_call)
        return HoldInterpolator().prepare(frame0, frame1)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scene = Scene(width=160, height=90, frames=72, background=Background(velocity=(1.5, 0.0)),
                  characters=[Character(start=(30, 45), velocity=(1.2, 0.2), radius=(14, 20), holds=(1,))])
    path = tmp_path_factory.mktemp("producer") / "clip.mkv"
    write_video(path, scene.source_frames(), scene.rate, codec="ffv1")
    return path


def make_producer(clip: Path, clock: FakeClock,
                  interpolator_for: Callable[[Level], Interpolator]) -> tuple[FrameProducer, Level]:
    info = probe(clip)
    sources = SourceFrames(clip, info.height, scene_detect=False, source_rate=info.frame_rate)
    smooth = Level("scripted_test", info.height)
    producer = FrameProducer(sources, Timeline(Fraction(0), RATE, 180), (info.width, info.height),
                             interpolator_for, smooth, capacity=48, clock=clock)
    return producer, smooth


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Wait for another thread to reach a state (no timing assumption: the deadline only stops a hang)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.005)


def test_a_slow_start_is_absorbed_by_the_head_start_and_only_a_real_stall_is_late(clip: Path) -> None:
    clock = FakeClock()  # frozen: the head start waits for its frames, not for a deadline
    interpolator = ScriptedInterpolator(clock)
    warm_up, stall = threading.Event(), threading.Event()
    interpolator.gates = {1: warm_up, 20: stall}  # the first pair waits (a slow start); call 20 stalls later
    producer, _ = make_producer(clip, clock, lambda level: interpolator)
    requests: queue.Queue[range | None] = queue.Queue()
    done: queue.Queue[range] = queue.Queue()
    delivered: dict[int, np.ndarray | None] = {}

    def mpv_reads() -> None:  # as fast as it can: nothing but the buffer keeps it fed
        while (indices := requests.get()) is not None:
            for index in indices:
                delivered[index] = producer.frame(index)
            done.put(indices)

    reader = threading.Thread(target=mpv_reads, daemon=True)
    producer.start()
    reader.start()
    try:
        requests.put(range(1))
        wait_until(lambda: producer.cursor == 0 and interpolator.blocked.is_set(), "mpv waits for frame 0")
        interpolator.blocked.clear()
        warm_up.set()
        done.get(timeout=30)
        assert producer.prefill == 24
        requests.put(range(1, 24))
        done.get(timeout=30)
        late_in_head_start = producer.stats.late
        wait_until(interpolator.blocked.is_set, "production stalls at call 20")
        stalled_at = producer._state.next  # the first frame the stalled run has not made
        requests.put(range(24, stalled_at + 1))
        wait_until(lambda: producer.cursor == stalled_at, "the reader waits for that frame")
        stall.set()
        done.get(timeout=30)
    finally:
        requests.put(None)
        warm_up.set()
        stall.set()
        producer.cancel()
        producer.stop()
        reader.join(30)
    assert not reader.is_alive()
    assert sorted(delivered) == list(range(stalled_at + 1)) and all(f is not None for f in delivered.values())
    assert late_in_head_start == 0, f"late frames at {producer.stats.late_indices}"  # the slow start was absorbed
    assert producer.stats.late_indices == [stalled_at]  # the one frame mpv really waited for


def test_a_toggle_skips_ahead_by_what_restarts_have_cost(clip: Path) -> None:
    clock = FakeClock()
    spending = ScriptedInterpolator(clock, seconds_per_call=0.05)  # 50 ms a pair: three output frames' time
    producer, smooth = make_producer(clip, clock, lambda level: spending)
    producer.prefill_timeout = float("inf")
    off = Level(SOURCE, smooth.height)
    producer.start()
    try:
        for index in range(10):
            assert producer.frame(index) is not None
        assert producer.restart_margin() == 0  # no toggle timed yet
        first_off = producer.switch(off, immediately=True)
        assert first_off == 10  # the next frame mpv reads is already the new mode's
        for index in range(10, 20):
            assert producer.frame(index) is not None
        # that restart cost one pair (50 ms of fake time) before its first frame: three frames would be late
        assert producer.restart_margin() == 2 == int(0.05 * float(RATE))
        first_on = producer.switch(smooth, immediately=True)
        assert first_on == 19 + 1 + 2
    finally:
        producer.cancel()
        producer.stop()
