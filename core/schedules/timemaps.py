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
    """Per region around keypoint ``anchor`` (frames; ``NONE``: not seen).

    ``following``: its next drawing; ``after``: the one after that. ``start``: where its
    straight way to ``following`` begins: its own previous drawing, or later when a
    neighbouring region drew later (a region a character is about to enter changes only
    when it arrives: its way starts at the character's previous drawing, not at the
    background's last change), or ``restart`` frames before ``following`` after a hold
    longer than ``max_hold`` (a still layer that starts moving). ``active``: regions that
    move between the anchor and the next keypoint; only they constrain the passes.
    """

    anchor: int
    following: np.ndarray
    after: np.ndarray
    start: np.ndarray
    active: np.ndarray


@dataclass(frozen=True)
class Group:
    """Regions one pass ``VFI(A, B)`` renders on time: ``partner`` is ``B``'s frame."""

    partner: int
    regions: np.ndarray


def _last_drawn(events: dict[int, np.ndarray], before: np.ndarray, earliest: int) -> np.ndarray:
    """Per region, the latest frame in ``[earliest, before)`` with a drawing in ``events``."""
    result = np.full(before.size, NONE, np.int64)
    for k in sorted(events, reverse=True):
        if k < earliest:
            break
        result = np.where((result == NONE) & (k < before) & events[k], k, result)
    return result


def neighbourhood(drawn: np.ndarray, grid: tuple[int, int] | None) -> np.ndarray:
    """Regions with a drawing in themselves or any of their 8 neighbours."""
    if grid is None:
        return drawn
    mask = drawn.reshape(grid).astype(np.uint8)
    return cv2.dilate(mask, np.ones((3, 3), np.uint8)).ravel().astype(bool)


def rhythm_at(anchor: int, next_keypoint: int, events: dict[int, np.ndarray], horizon: int, max_hold: int,
              restart: int, grid: tuple[int, int] | None = None) -> Rhythm:
    """The drawings of every region around ``anchor``, from ``events[k]`` (regions drawn at frame ``k``).

    Reads back at most ``max_hold`` frames and ahead up to ``horizon``.
    """
    regions = next(iter(events.values())).size
    following = np.full(regions, NONE, np.int64)
    after = np.full(regions, NONE, np.int64)
    for k in range(anchor + 1, horizon + 1):
        drawn = events.get(k)
        if drawn is None:
            continue
        after = np.where((after == NONE) & (following != NONE) & drawn, k, after)
        following = np.where((following == NONE) & drawn, k, following)
    moving = following != NONE
    window = {k: v for k, v in events.items() if anchor - max_hold <= k <= horizon}
    before = np.where(moving, following, anchor + 1)
    own = _last_drawn(window, before, anchor - max_hold)
    nearby = _last_drawn({k: neighbourhood(v, grid) for k, v in window.items()}, before, anchor - max_hold)
    start = np.maximum(own, nearby)
    long_hold = (start == NONE) | (following - start > max_hold)
    start = np.where(long_hold, following - restart, start)
    active = moving & (start < next_keypoint)
    return Rhythm(anchor, following, after, np.where(moving, start, NONE), active)


def partner_intervals(rhythm: Rhythm, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Per region, the frames ``[low, high)`` that show it at its next drawing."""
    low = rhythm.following
    high = np.where(rhythm.after == NONE, horizon + 1, rhythm.after)
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
    begin_all = end_all = 0
    for stop, begin, region in order:
        if members and max(begin_all, begin) < min(end_all, stop):
            begin_all, end_all = max(begin_all, begin), min(end_all, stop)
            members.append(region)
            continue
        if members:
            groups.append(Group(begin_all, np.array(members, np.int64)))
        members, begin_all, end_all = [region], begin, stop
    if members:
        groups.append(Group(begin_all, np.array(members, np.int64)))
    return groups


def region_times(tau: float, rhythm: Rhythm) -> np.ndarray:
    """Each region's ``s`` in ``[0, 1]`` at ``tau``: 0 shows its drawing (``A``'s), 1 its next one."""
    moving = rhythm.following != NONE
    times = np.zeros(rhythm.following.shape, np.float64)
    start, stop = rhythm.start[moving].astype(np.float64), rhythm.following[moving].astype(np.float64)
    times[moving] = (tau - start) / np.maximum(stop - start, 1e-9)
    return np.clip(times, 0.0, 1.0)


def pass_times(rhythm: Rhythm, partner: int, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A pass with ``partner`` as ``B``: each region's time, and which regions' times matter.

    Where ``B`` shows the region's next drawing: its own time. Where ``B`` shows a later
    one (another group's partner): the time that puts it on ``tau`` along the straight way
    to ``after`` (right for steady motion, so composited passes agree where their masks
    overlap). Where ``B`` still shows the region's current drawing (``A == B`` there):
    any time gives the same picture, so the region is left free for its neighbours'
    (a flat inside of a moving layer shows no change but moves with it).
    """
    moving = rhythm.following != NONE
    shows_next = moving & (partner >= rhythm.following)
    beyond = shows_next & (rhythm.after != NONE) & (partner >= rhythm.after)
    result = times.copy()
    if beyond.any():
        start = rhythm.start[beyond].astype(np.float64)
        stretch = (rhythm.after[beyond] - start).astype(np.float64)
        reached = times[beyond] * (rhythm.following[beyond] - start)
        result[beyond] = np.clip(reached / np.maximum(stretch, 1e-9), 0.0, 1.0)
    return result, shows_next


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


__all__ = ["NONE", "Group", "Rhythm", "fill_free", "group_regions", "neighbourhood", "partner_intervals",
           "pass_times", "region_times", "rhythm_at", "smooth_grid"]
