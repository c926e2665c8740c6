"""Per-region timing on plain numbers: which source pairs render a moment, and each region's time.

The ``regional`` schedule's arithmetic, apart from pictures (pure numpy, tested on numbers).
Frames are shot frame indices. Between two *keypoints* (frames where some region gets a
drawing) frame ``A`` (the earlier keypoint) shows every region ``r`` at its latest drawing
``p_r``. A region whose next drawing is ``n_r`` and the one after it ``a_r`` is shown at
``n_r`` by any frame ``B`` in ``[n_r, a_r)``; so one pass ``VFI(A, B, map)`` with
``map_r = (tau - p_r) / (n_r - p_r)`` puts every region on its own time at once whenever
one ``B`` lies in every region's interval. When none does (ones beside threes, a mouth
out of step with its head), the regions are split into groups that each share a ``B``:
the fewest groups is the fewest points piercing all intervals, which the greedy
"earliest interval end first" finds (the classic interval-piercing argument: the first
point can always be moved to the earliest end, and so on by induction). Each group is
one pass; the passes are composited by smoothed group masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: a region with no drawing found (before, or ahead within the look-ahead)
NONE = -1


@dataclass(frozen=True)
class Rhythm:
    """Per region around keypoint ``anchor``: latest drawing, next one, the one after (``NONE``: not seen)."""

    anchor: int
    previous: np.ndarray
    following: np.ndarray
    after: np.ndarray
    #: regions whose drawings are known near the anchor; the others (still, or flat inside a layer) are free
    known: np.ndarray


@dataclass(frozen=True)
class Group:
    """Regions one pass ``VFI(A, B)`` renders on time: ``partner`` is ``B``'s frame."""

    partner: int
    regions: np.ndarray


def rhythm_at(anchor: int, events: dict[int, np.ndarray], horizon: int, look_back: int) -> Rhythm:
    """The drawings of every region around ``anchor``, from ``events[k]`` (regions drawn at frame ``k``).

    Looks back ``look_back`` frames for the previous drawing (an older one is a long hold:
    its exact time never matters, see :func:`region_times`) and ahead up to ``horizon``.
    """
    regions = next(iter(events.values())).size
    previous = np.full(regions, NONE, np.int64)
    for k in range(anchor, anchor - look_back, -1):
        drawn = events.get(k)
        if drawn is not None:
            previous = np.where((previous == NONE) & drawn, k, previous)
    following = np.full(regions, NONE, np.int64)
    after = np.full(regions, NONE, np.int64)
    for k in range(anchor + 1, horizon + 1):
        drawn = events.get(k)
        if drawn is None:
            continue
        after = np.where((after == NONE) & (following != NONE) & drawn, k, after)
        following = np.where((following == NONE) & drawn, k, following)
    known = (previous != NONE) | (following != NONE)
    return Rhythm(anchor, previous, following, after, known)


def partner_intervals(rhythm: Rhythm, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Per region, the frames ``[low, high)`` that show it at its next drawing (or still at its own)."""
    held = rhythm.following == NONE
    low = np.where(held, rhythm.anchor, rhythm.following)
    high = np.where(held | (rhythm.after == NONE), horizon + 1, rhythm.after)
    return low, high


def group_regions(low: np.ndarray, high: np.ndarray, regions: np.ndarray) -> list[Group]:
    """The fewest groups whose regions share a partner frame (greedy interval piercing).

    Intervals sorted by their end; a group keeps the intersection of its intervals
    and takes the next interval while the intersection stays non-empty. Each group's
    partner is the earliest frame of its intersection: the nearest frame, the smallest
    motion for the interpolator.
    """
    order = sorted((int(high[r]), int(low[r]), int(r)) for r in regions)
    groups: list[Group] = []
    members: list[int] = []
    start = end = 0
    for stop, begin, region in order:
        if members and max(start, begin) < min(end, stop):
            start, end = max(start, begin), min(end, stop)
            members.append(region)
            continue
        if members:
            groups.append(Group(start, np.array(members, np.int64)))
        members, start, end = [region], begin, stop
    if members:
        groups.append(Group(start, np.array(members, np.int64)))
    return groups


def region_times(tau: float, rhythm: Rhythm, max_hold: int, restart: int) -> np.ndarray:
    """Each region's ``s`` in ``[0, 1]`` at time ``tau``: 0 shows its drawing, 1 its next one.

    Linear between drawings up to ``max_hold`` frames apart; a longer gap is a still
    layer that starts moving: it holds, then covers the gap in its last ``restart`` frames.
    """
    previous, following = rhythm.previous.astype(np.float64), rhythm.following.astype(np.float64)
    moving = rhythm.following != NONE
    gap = following - previous
    linear = moving & (rhythm.previous != NONE) & (gap <= max_hold)
    times = np.zeros(previous.shape, np.float64)
    times[linear] = (tau - previous[linear]) / gap[linear]
    ramp = moving & ~linear
    times[ramp] = (tau - (following[ramp] - restart)) / restart
    return np.clip(times, 0.0, 1.0)


def partner_times(tau: float, rhythm: Rhythm, partner: int, times: np.ndarray, max_hold: int,
                  restart: int) -> np.ndarray:
    """Times for a pass with ``partner`` as ``B``: ``times`` where ``B`` shows the next drawing, best effort elsewhere.

    A region ``B`` shows later than its next drawing (another group's) gets the time that
    puts it on ``tau`` along the straight way to ``B``'s drawing: right for steady motion,
    so the composite of passes agrees where their masks overlap.
    """
    low = np.where(rhythm.following == NONE, rhythm.anchor, rhythm.following)
    beyond = (rhythm.following != NONE) & (partner >= np.where(rhythm.after == NONE, partner + 1, rhythm.after))
    if not beyond.any():
        return times
    result = times.copy()
    # The drawing B shows is unknown beyond ``after``; the straight way to ``after`` is the best guess.
    start = np.where(rhythm.previous == NONE, low - max_hold - restart, rhythm.previous).astype(np.float64)
    end = rhythm.after.astype(np.float64)
    result[beyond] = np.clip((tau - start[beyond]) / np.maximum(end[beyond] - start[beyond], 1e-9), 0.0, 1.0)
    return result


def fill_free(values: np.ndarray, known: np.ndarray, shape: tuple[int, int] | None) -> np.ndarray:
    """Values on the region grid with free regions taken from their known neighbours, smoothly.

    A flat area inside a moving layer shows no change (free), yet moves with the layer:
    normalized convolution with a widening Gaussian gives it its neighbours' time. Numbers
    (``shape`` None) have no neighbours: free ones keep their value.
    """
    if shape is None or not known.any() or known.all():
        return values.astype(np.float32)
    grid = values.reshape(shape).astype(np.float32)
    weight = known.reshape(shape).astype(np.float32)
    filled = grid.copy()
    missing = weight == 0
    sigma = 1.0
    while missing.any() and sigma < 4 * max(shape):
        numerator = cv2.GaussianBlur(grid * weight, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        denominator = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        reached = missing & (denominator > 1e-3)
        filled[reached] = numerator[reached] / denominator[reached]
        missing &= ~reached
        sigma *= 2
    return filled.ravel()


def smooth_grid(values: np.ndarray, shape: tuple[int, int] | None, sigma: float) -> np.ndarray:
    """A light Gaussian on the region grid, so maps and masks change smoothly where regions meet."""
    if shape is None or sigma <= 0:
        return values.astype(np.float32)
    grid = values.reshape(shape).astype(np.float32)
    return cv2.GaussianBlur(grid, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE).ravel()


__all__ = ["NONE", "Group", "Rhythm", "fill_free", "group_regions", "partner_intervals", "partner_times",
           "region_times", "rhythm_at", "smooth_grid"]
