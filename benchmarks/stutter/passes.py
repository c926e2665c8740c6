"""Counting model passes: a wrapper that counts ``prepare`` calls and the in-betweens asked for.

A pair's ``prepare`` is the flow pass (once per pair); each timestep strictly between 0
and 1 (or time map not all 0 or all 1) is a synthesis pass (``t`` of 0 or 1 returns an input). Per output frame, their
sum is what a schedule costs a model, whatever the backend's speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


@dataclass
class PassCount:
    prepares: int = 0
    calls: int = 0
    inbetweens: int = 0

    def per_frame(self, outputs: int) -> tuple[float, float]:
        """(prepares, in-betweens) per output frame."""
        outputs = max(1, outputs)
        return self.prepares / outputs, self.inbetweens / outputs


def _inside(timestep: Any) -> bool:
    """An in-between: a scalar strictly inside (0, 1), or a time map not all 0 or all 1."""
    if hasattr(timestep, "shape"):
        return not (bool((timestep <= 0).all()) or bool((timestep >= 1).all()))
    return 0 < timestep < 1


class _CountedPair:
    def __init__(self, pair: Any, count: PassCount) -> None:
        self._pair, self._count = pair, count

    def frames_at(self, timesteps: Sequence[Fraction | float]) -> list[Any]:
        self._count.calls += 1
        self._count.inbetweens += sum(1 for t in timesteps if _inside(t))
        return self._pair.frames_at(timesteps)

    def frame_at(self, timestep: Fraction | float) -> Any:
        return self.frames_at([timestep])[0]


class CountingInterpolator:
    """Forwards everything to ``inner``; counts what the schedule asks of it in :attr:`count`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.count = PassCount()

    def prepare(self, frame0: Any, frame1: Any) -> _CountedPair:
        self.count.prepares += 1
        return _CountedPair(self.inner.prepare(frame0, frame1), self.count)

    def interpolate(self, frame0: Any, frame1: Any, timestep: Fraction | float) -> Any:
        return self.prepare(frame0, frame1).frame_at(timestep)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
