"""Per-region timing on plain numbers: which source frames a pass may pair, and each region's time.

The ``regional`` schedule's arithmetic, kept apart from pictures so it can be tested
on numbers. Frames are shot frame indices. A region with drawings ``d0 <= key < d1``
(``d2`` the drawing after ``d1``) is on time at output time ``tau`` in a pass
``VFI(X, Y, s)`` when ``X`` shows drawing ``d0`` (``d0 <= X < d1``), ``Y`` shows ``d1``
(``d1 <= Y < d2``) and ``s = (tau - d0) / (d1 - d0)``: then the in-between is the
straight way from ``d0`` to ``d1``, at ``tau``. A held region (no next drawing within
``max_hold``) is on time in any pair of frames that both show its drawing.

Regions whose windows meet share one pass (one pair ``X, Y``, one time map); the rest
need a pass each, composited by region masks. Greedy: the largest set of regions
first, each joining the first group its window meets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction


@dataclass(frozen=True)
class Window:
    """Frames a pass may pair for a region: ``X`` in ``[x0, x1)``, ``Y`` in ``[y0, y1)``."""

    x0: int
    x1: int
    y0: int
    y1: int

    def meet(self, other: Window) -> Window | None:
        """The frames both allow, or None when no pair satisfies both."""
        met = Window(max(self.x0, other.x0), min(self.x1, other.x1), max(self.y0, other.y0), min(self.y1, other.y1))
        return met if met.x0 < met.x1 and met.y0 < met.y1 else None


@dataclass(frozen=True)
class RegionTiming:
    """What a region asks of a pass around a keypoint: a window, and the drawings it moves between."""

    window: Window
    #: (d0, d1): the drawings the region moves between; None for a held region (any time will do)
    between: tuple[int, int] | None


def region_timing(drawings: Sequence[int], key: int, horizon: int, max_hold: int) -> RegionTiming:
    """The timing of a region with ``drawings`` (ascending, the oldest known first) at keypoint ``key``.

    ``horizon``: the last frame whose drawings are known; later drawings count as "after it".
    A region with no drawing at or before ``key`` is taken as held since the first one given
    (callers pass the shot start or a memory horizon as the first).
    """
    earlier = [d for d in drawings if d <= key]
    d0 = earlier[-1] if earlier else min(key, drawings[0] if drawings else key)
    later = [d for d in drawings if key < d <= horizon]
    end = horizon + 1
    if not later or later[0] - d0 > max_hold:
        stop = later[0] if later else end
        return RegionTiming(Window(d0, stop, d0, stop), None)
    d1 = later[0]
    d2 = later[1] if len(later) > 1 else end
    return RegionTiming(Window(d0, d1, d1, d2), (d0, d1))


def combined_timing(own: RegionTiming, base: RegionTiming) -> RegionTiming | None:
    """A region holding two layers (a mouth on a head): both must be on time in its pass.

    The region's time is its own layer's (``own``, the drawings the base layer lacks);
    the base layer is on time in the same pass when the windows meet.
    """
    window = own.window.meet(base.window)
    if window is None:
        return None
    return RegionTiming(window, own.between if own.between is not None else base.between)


@dataclass
class Group:
    """Regions rendered by one pass: the frames it may pair and the regions it is on time for."""

    window: Window
    regions: list[int] = field(default_factory=list)

    def pair(self, prepared: Sequence[tuple[int, int]] = ()) -> tuple[int, int]:
        """The pair to render with: one already prepared if it fits, else the latest X and earliest Y.

        Latest X and earliest Y fit the most following keypoints' windows (their lower bounds
        only grow), so a pair is prepared once and reused.
        """
        for x, y in prepared:
            if self.window.x0 <= x < self.window.x1 and self.window.y0 <= y < self.window.y1:
                return x, y
        return self.window.x1 - 1, self.window.y0


def group_regions(timings: dict[int, RegionTiming], minimum: int = 1) -> tuple[list[Group], list[int]]:
    """Fewest passes, greedily: regions by shared window, largest sets first.

    Returns the groups and the regions left out: those whose window meets no group's
    and whose own set is smaller than ``minimum`` (too small to deserve a pass; the
    caller renders them with a neighbouring group).
    """
    by_window: dict[Window, list[int]] = {}
    for region, timing in sorted(timings.items()):
        by_window.setdefault(timing.window, []).append(region)
    ordered = sorted(by_window.items(), key=lambda item: (-len(item[1]), item[0].x0, item[0].y0, item[0].x1))
    groups: list[Group] = []
    left_out: list[int] = []
    for window, regions in ordered:
        for group in groups:
            met = group.window.meet(window)
            if met is not None:
                group.window = met
                group.regions += regions
                break
        else:
            if len(regions) >= minimum or not groups:
                groups.append(Group(window, list(regions)))
            else:
                left_out += regions
    return groups, left_out


def region_time(between: tuple[Fraction, Fraction], tau: Fraction) -> Fraction:
    """``s`` for a region moving between drawings at times ``between`` at output time ``tau``, in [0, 1] (exact)."""
    start, stop = between
    return min(Fraction(1), max(Fraction(0), Fraction(tau - start) / (stop - start)))


__all__ = ["Group", "RegionTiming", "Window", "combined_timing", "group_regions", "region_time", "region_timing"]
