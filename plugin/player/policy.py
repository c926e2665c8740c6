"""The player's real-time policy as a pure object: measurements in, a level decision out.

The player's monitor thread samples the producer and mpv a few times a second into a
:class:`Measurements` (which carries its own time, so tests drive the policy with a
fake clock) and asks :meth:`RealTimePolicy.step` whether to move along the ladder of
levels (index 0 is the best; the last is the source frames).

Step down when the level does not keep up: after a start, seek, toggle or change has
settled, an almost empty buffer says so; before that, a per-frame cost over the
budget for several samples running says so, but only while the buffer drains (a full
buffer shows the level keeps up whatever the cost figure says). Step up after
``hold`` seconds of clear headroom with a half-full buffer; a step up that did not
last doubles that hold (up to two minutes), so the policy does not flap.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction

#: seconds after a start or a level change before the policy looks at all (the buffer refills)
CHANGE_QUIET_SECONDS = 1.0
#: seconds after a seek or toggle before the policy looks (the producer restarted)
JUMP_QUIET_SECONDS = 1.5
#: seconds after which an almost empty buffer means the level does not keep up
SETTLE_SECONDS = 3.0
#: consecutive samples with the cost over budget that count as "too slow"
OVER_BUDGET_SAMPLES = 4
#: cost above this share of the budget counts as over budget (the rest is mpv, decoding, conversion)
OVER_BUDGET_SHARE = 0.92
#: cost below this share of the budget counts as headroom
HEADROOM_SHARE = 0.5
FIRST_HOLD_SECONDS = 5.0
MAX_HOLD_SECONDS = 120.0


class Reason(enum.Enum):
    """Why the level changed."""

    #: the buffer ran (almost) empty after things settled
    BUFFER_LOW = "buffer low"
    #: making a frame took longer than the output rate allows while the buffer drained
    OVER_BUDGET = "over budget"
    #: a while with the cost well under budget and a healthy buffer
    HEADROOM = "headroom"

    @property
    def step_down(self) -> bool:
        return self is not Reason.HEADROOM


@dataclass(frozen=True)
class Measurements:
    """One sample of the player's state; ``now`` and the other times are seconds on one clock."""

    now: float
    #: mpv is playing (not paused, seeking or idle), smoothing is on, and adapting is allowed
    playing: bool
    #: frames ready beyond mpv's read position, and the most there can be
    buffered: int
    capacity: int
    #: recent average of the time spent making one output frame
    cost_ms: float
    #: the time of the last seek or toggle (the producer restarted then)
    last_jump: float = float("-inf")
    #: mpv's playback speed (the budget shrinks at 2x)
    speed: float = 1.0


@dataclass(frozen=True)
class Decision:
    """Move to ladder index ``level`` because of ``reason``; ``detail`` is for the log and the OSD."""

    level: int
    reason: Reason
    detail: str

    @property
    def step_down(self) -> bool:
        return self.reason.step_down


class RealTimePolicy:
    """Chooses the ladder index from successive :class:`Measurements`; holds no thread, no clock, no I/O."""

    def __init__(self, levels: int, rate: Fraction, started: float, level: int = 0) -> None:
        if levels < 1:
            raise ValueError("the ladder needs at least one level")
        self.levels = levels
        self.rate = Fraction(rate)
        self.level = level
        self.started = started
        self.hold_seconds = FIRST_HOLD_SECONDS
        self._last_change = started
        self._last_reason: Reason | None = None
        self._good_since: float | None = None
        self._over_budget_samples = 0

    def budget_ms(self, speed: float = 1.0) -> float:
        """Milliseconds one output frame may take at ``speed``."""
        return 1000 / float(self.rate) / (speed or 1.0)

    def step(self, sample: Measurements) -> Decision | None:
        """The decision for this sample, or None to stay; a decision is applied at once (``level`` moves)."""
        now = sample.now
        if not sample.playing:
            self._good_since = None
            return None
        if now - self._last_change < CHANGE_QUIET_SECONDS or now - sample.last_jump < JUMP_QUIET_SECONDS:
            return None  # the buffer is still filling after a start, seek, toggle or level change
        budget = self.budget_ms(sample.speed)
        cost = sample.cost_ms
        low = max(2, sample.capacity // 8)
        half = sample.capacity // 2
        over = cost > OVER_BUDGET_SHARE * budget
        self._over_budget_samples = self._over_budget_samples + 1 if over else 0
        # An empty buffer right after a start or a change says little (the new level may still be catching up);
        # after a few seconds it means the level does not keep up, whatever the cost figure says.
        settled = now - max(self._last_change, sample.last_jump) >= SETTLE_SECONDS
        draining = self._over_budget_samples >= OVER_BUDGET_SAMPLES and sample.buffered < half
        if self.level < self.levels - 1 and ((settled and sample.buffered < low) or draining):
            if self._last_reason is Reason.HEADROOM and now - self._last_change < 3 * self.hold_seconds:
                self.hold_seconds = min(MAX_HOLD_SECONDS, self.hold_seconds * 2)  # the step up did not last
            if sample.buffered < low:
                return self._change(now, self.level + 1, Reason.BUFFER_LOW, f"buffer {sample.buffered} frames")
            detail = f"{cost:.1f} ms per frame (budget {budget:.1f} ms)"
            return self._change(now, self.level + 1, Reason.OVER_BUDGET, detail)
        if self.level > 0 and cost < HEADROOM_SHARE * budget and sample.buffered >= half:
            if self._good_since is None:
                self._good_since = now
            elif now - self._good_since >= self.hold_seconds:
                return self._change(now, self.level - 1, Reason.HEADROOM, f"{cost:.1f} ms per frame")
        else:
            self._good_since = None
        return None

    def _change(self, now: float, level: int, reason: Reason, detail: str) -> Decision:
        self.level = level
        self._last_change = now
        self._last_reason = reason
        self._good_since = None
        self._over_budget_samples = 0
        return Decision(level, reason, detail)
