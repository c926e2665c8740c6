"""The real-time policy on its own: measurements with their own (fake) time, no mpv, no threads."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from fractions import Fraction

import pytest

from stsr.plugin.player.policy import (
    FIRST_HOLD_SECONDS,
    MAX_HOLD_SECONDS,
    Decision,
    Measurements,
    RealTimePolicy,
    Reason,
)

RATE = Fraction(60000, 1001)  # a 16.7 ms budget
CAPACITY = 45
LEVELS = 4  # e.g. flow 540p, flow 360p, flow 270p, source frames
SAMPLE = 0.25  # the monitor samples four times a second


def ticks(start: float, seconds: float) -> Iterator[float]:
    """Sample times from ``start`` for ``seconds`` (the fake clock)."""
    for step in range(round(seconds / SAMPLE)):
        yield start + step * SAMPLE


def run(policy: RealTimePolicy, start: float, seconds: float,
        sample: Callable[[float, int], Measurements]) -> list[tuple[float, Decision]]:
    """Step the policy over a stretch of fake time; ``sample(now, level)`` says what it measures."""
    decisions = []
    for now in ticks(start, seconds):
        decision = policy.step(sample(now, policy.level))
        if decision is not None:
            decisions.append((now, decision))
    return decisions


def steady(cost_ms: float, buffered: int) -> Callable[[float, int], Measurements]:
    return lambda now, level: Measurements(now, True, buffered, CAPACITY, cost_ms)


def test_over_budget_while_the_buffer_drains_steps_down_one_level() -> None:
    policy = RealTimePolicy(LEVELS, RATE, started=0.0)
    decisions = run(policy, 0.0, 2.5, steady(cost_ms=25.0, buffered=10))
    assert [(d.level, d.reason) for _, d in decisions] == [(1, Reason.OVER_BUDGET)]
    now, decision = decisions[0]
    # quiet for the first second, then four samples over budget in a row
    assert now == pytest.approx(1.75)
    assert decision.step_down and "25.0 ms per frame (budget 16.7 ms)" in decision.detail


def test_over_budget_with_a_full_buffer_is_not_a_reason_to_step_down() -> None:
    """The cost figure includes waits for the decoder; a buffer that stays full shows the level keeps up."""
    policy = RealTimePolicy(LEVELS, RATE, started=0.0)
    assert run(policy, 0.0, 30.0, steady(cost_ms=25.0, buffered=CAPACITY)) == []
    assert policy.level == 0


def test_an_empty_buffer_steps_down_only_after_things_settle_then_down_to_the_source_frames() -> None:
    policy = RealTimePolicy(LEVELS, RATE, started=0.0)
    decisions = run(policy, 0.0, 20.0, steady(cost_ms=5.0, buffered=1))  # cheap, yet starving
    assert [d.level for _, d in decisions] == [1, 2, 3]
    assert all(d.reason is Reason.BUFFER_LOW for _, d in decisions)
    times = [now for now, _ in decisions]
    assert times == pytest.approx([3.0, 6.0, 9.0])  # three seconds of settling after each change
    assert policy.level == LEVELS - 1  # source frames: the last resort, nothing further
    assert "buffer 1 frames" in decisions[0][1].detail


def test_a_seek_or_toggle_restarts_the_quiet_time() -> None:
    policy = RealTimePolicy(LEVELS, RATE, started=0.0)
    jumped_at = 2.5

    def sample(now: float, level: int) -> Measurements:
        return Measurements(now, True, 1, CAPACITY, 5.0, last_jump=jumped_at)

    decisions = run(policy, 0.0, 8.0, sample)
    assert [now for now, _ in decisions] == pytest.approx([jumped_at + 3.0])


def test_paused_or_seeking_never_decides() -> None:
    policy = RealTimePolicy(LEVELS, RATE, started=0.0)
    assert run(policy, 0.0, 30.0, lambda now, level: Measurements(now, False, 0, CAPACITY, 100.0)) == []


def test_headroom_steps_back_up_after_the_hold() -> None:
    policy = RealTimePolicy(LEVELS, RATE, started=0.0, level=2)
    decisions = run(policy, 0.0, 20.0, steady(cost_ms=4.0, buffered=CAPACITY))
    assert [(d.level, d.reason) for _, d in decisions] == [(1, Reason.HEADROOM), (0, Reason.HEADROOM)]
    assert not decisions[0][1].step_down
    # quiet 1 s, then 5 s of headroom, then the same again after the change
    assert [now for now, _ in decisions] == pytest.approx([1.0 + FIRST_HOLD_SECONDS, 2 * (1.0 + FIRST_HOLD_SECONDS)])


def test_headroom_must_last_the_whole_hold() -> None:
    policy = RealTimePolicy(LEVELS, RATE, started=0.0, level=1)

    def sample(now: float, level: int) -> Measurements:
        spike = int(now / SAMPLE) % 16 == 15  # one slow sample every 4 s breaks the stretch of headroom
        return Measurements(now, True, CAPACITY, CAPACITY, 12.0 if spike else 4.0)

    assert run(policy, 0.0, 40.0, sample) == []


def test_a_step_up_that_does_not_last_doubles_the_hold_so_the_level_does_not_flap() -> None:
    """The machine keeps up at level 1 but not at level 0: it must not bounce between them every few seconds."""
    policy = RealTimePolicy(LEVELS, RATE, started=0.0, level=1)

    def sample(now: float, level: int) -> Measurements:
        return Measurements(now, True, 4 if level == 0 else CAPACITY, CAPACITY, 25.0 if level == 0 else 4.0)

    decisions = run(policy, 0.0, 600.0, sample)
    ups = [now for now, d in decisions if d.reason is Reason.HEADROOM]
    downs = [now for now, d in decisions if d.step_down]
    assert len(ups) == len(downs) or len(ups) == len(downs) + 1
    gaps = [b - a for a, b in itertools.pairwise(ups)]
    assert all(later >= earlier for earlier, later in itertools.pairwise(gaps)), gaps  # waits grow
    assert gaps[0] < gaps[1] < gaps[2] < gaps[3], gaps  # doubling until the cap
    assert policy.hold_seconds == MAX_HOLD_SECONDS
    assert len(ups) <= 8  # in ten minutes; a fixed 5 s hold would try about 85 times


def test_double_speed_halves_the_budget() -> None:
    policy = RealTimePolicy(LEVELS, RATE, started=0.0)

    def sample(now: float, level: int) -> Measurements:
        return Measurements(now, True, 10, CAPACITY, 12.0, speed=2.0)  # 12 ms < 16.7 but > 8.3

    decisions = run(policy, 0.0, 3.0, sample)
    assert [d.reason for _, d in decisions] == [Reason.OVER_BUDGET]
    assert policy.budget_ms(2.0) == pytest.approx(1000 / 59.94 / 2, rel=1e-3)


def test_a_ladder_of_one_never_moves() -> None:
    policy = RealTimePolicy(1, RATE, started=0.0)
    assert run(policy, 0.0, 30.0, steady(cost_ms=100.0, buffered=0)) == []
    with pytest.raises(ValueError):
        RealTimePolicy(0, RATE, started=0.0)
