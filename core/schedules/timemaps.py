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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

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
    #: the drawing after ``after``
    later: np.ndarray
    start: np.ndarray
    active: np.ndarray
    #: small parts with a rhythm of their own on a larger layer (see :func:`own_drawings`)
    riding: np.ndarray


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
    window = {k: v for k, v in events.items() if anchor - max_hold <= k <= horizon}
    events, riding = own_drawings(window, grid)
    regions = next(iter(window.values())).size
    following = np.full(regions, NONE, np.int64)
    after = np.full(regions, NONE, np.int64)
    later = np.full(regions, NONE, np.int64)
    for k in range(anchor + 1, horizon + 1):
        drawn = events.get(k)
        if drawn is None:
            continue
        later = np.where((later == NONE) & (after != NONE) & drawn, k, later)
        after = np.where((after == NONE) & (following != NONE) & drawn, k, after)
        following = np.where((following == NONE) & drawn, k, following)
    moving = following != NONE
    before = np.where(moving, following, anchor + 1)
    own = _last_drawn(events, before, anchor - max_hold)
    nearby = _last_drawn({k: neighbourhood(v, grid) for k, v in window.items()}, before, anchor - max_hold)
    # A region a layer is about to enter changed last long ago (or never): its way starts at the
    # layer's previous drawing next to it. Not for a region with a recent drawing of its own (next to
    # a faster layer, that would take the faster rhythm), nor for a riding part (its neighbours are
    # its carrier).
    stale = (own == NONE) | ((following - own >= STALE) & (following - own > 2 * (following - nearby)))
    start = np.where(stale & ~riding & (nearby != NONE), nearby, own)
    long_hold = (start == NONE) | (following - start > max_hold)
    start = np.where(long_hold, following - restart, start)
    rhythm = Rhythm(anchor, following, after, later, np.where(moving, start, NONE), moving & (start < next_keypoint),
                    riding)
    # Missed drawings first: a region that missed one would pass for a slower layer next door.
    rhythm = adopt_coarser(adopt_finer(rhythm, grid), grid)
    active = (rhythm.following != NONE) & (rhythm.start < next_keypoint)
    return replace(rhythm, active=active)


def _neighbour_fields(rhythm: Rhythm, grid: tuple[int, int]) -> Iterator[tuple[list[np.ndarray], np.ndarray]]:
    """Each of the 8 neighbours' (start, following, after, later) and activity, region by region."""
    rows, cols = grid
    fields = [rhythm.start, rhythm.following, rhythm.after, rhythm.later]
    padded = [np.pad(f.reshape(grid), 1, constant_values=NONE) for f in fields]
    padded_active = np.pad(rhythm.active.reshape(grid), 1, constant_values=False)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == dx == 0:
                continue
            window = (slice(1 + dy, 1 + dy + rows), slice(1 + dx, 1 + dx + cols))
            yield [p[window].ravel() for p in padded], padded_active[window].ravel()


def adopt_finer(rhythm: Rhythm, grid: tuple[int, int] | None) -> Rhythm:
    """Regions that missed a drawing of their layer take their neighbours' timing.

    A flat stretch of a moving layer shows no change at some of its drawings: its own way
    spans two of the layer's (threes: 6 frames) and alone it would ask for a partner past
    the layer's next drawing, a pass of its own. When at least three moving neighbours
    have ways at most half as long, ending within this region's way, the region takes the
    longest of them.
    """
    if grid is None or not rhythm.active.any():
        return rhythm
    fields = [rhythm.start, rhythm.following, rhythm.after, rhythm.later]
    own_gap = rhythm.following - rhythm.start
    best = [f.copy() for f in fields]
    best_gap = np.zeros(own_gap.shape, np.int64)
    shorter = np.zeros(own_gap.shape, np.int64)
    for shifted, active in _neighbour_fields(rhythm, grid):
        gap = shifted[1] - shifted[0]
        inside = active & (2 * gap <= own_gap) & (shifted[1] > rhythm.start) & (shifted[1] < rhythm.following)
        shorter += inside
        better = inside & (gap > best_gap)
        for target, source in zip(best, shifted, strict=True):
            target[better] = source[better]
        best_gap = np.where(better, gap, best_gap)
    missed = rhythm.active & (shorter >= 3)
    if not missed.any():
        return rhythm
    start, following, after, later = (np.where(missed, b, f) for b, f in zip(best, fields, strict=True))
    return replace(rhythm, start=start, following=following, after=after, later=later)


#: a region's own previous drawing this many frames before its next one may be stale (see rhythm_at)
STALE = 4


def adopt_coarser(rhythm: Rhythm, grid: tuple[int, int] | None) -> Rhythm:
    """Regions where a layer meets a faster one take the slower layer's timing.

    Such a region changes on both layers' drawings (a character's outline over a pan on
    ones, two characters on twos out of step): its own next drawing is the faster
    layer's. A neighbour whose next drawing is one of this region's next three and whose
    way is longer is the slower layer: the region takes its way and partner interval,
    so the slower layer's outline keeps its time (the faster layer's, along the straight
    way to the slower one's drawing, is right for steady motion).
    """
    if grid is None:
        return rhythm
    fields = [rhythm.start, rhythm.following, rhythm.after, rhythm.later]
    best = [f.copy() for f in fields]
    best_gap = np.where(rhythm.active, rhythm.following - rhythm.start, 0)
    own_gap = best_gap.copy()
    own_drawn = (rhythm.following, rhythm.after, rhythm.later)
    for shifted, active in _neighbour_fields(rhythm, grid):
        gap = shifted[1] - shifted[0]
        shared = np.logical_or.reduce([(shifted[1] == drawn) & (drawn != NONE) for drawn in own_drawn])
        better = rhythm.active & active & shared & (shifted[1] > rhythm.following) & (gap > own_gap) & \
            (gap > best_gap)
        for target, source in zip(best, shifted, strict=True):
            target[better] = source[better]
        best_gap = np.where(better, gap, best_gap)
    return replace(rhythm, start=best[0], following=best[1], after=best[2], later=best[3])


#: a change this much smaller than a region's largest nearby is a part of its own (a mouth on a head)
RIDER_SHARE = 0.3
#: a patch with more than this share of regions changing in a neighbouring frame is content on ones
STEADY_SHARE = 0.5


def own_drawings(events: dict[int, np.ndarray], grid: tuple[int, int] | None) -> tuple[dict[int, np.ndarray],
                                                                                        np.ndarray]:
    """Events with a riding part's carrier drawings taken out, and which regions ride.

    A mouth redrawn on threes inside a head moving on threes out of step: its regions
    change at the mouth's drawings (a small patch of changes) and at the head's (part of
    a large patch). Its own rhythm is the small patches': following the union, it would
    hold the mouth between the head's drawings. A region *rides* when, in the window, it
    has both changes in patches under :data:`RIDER_SHARE` of its largest patch, in frames
    with under that share of the busiest frame's changes, and changes in that large a
    patch; its large-patch changes are dropped (the carrier layer is on time in its own
    regions; inside the rider it follows the rider's time).
    """
    # A shot's first frame (a "drawing" everywhere) says nothing about patches.
    patches = {k: drawn for k, drawn in events.items() if not drawn.all()}
    if grid is None or not patches:
        return events, np.zeros(next(iter(events.values())).size, bool)
    labelled = {k: _patches(drawn, grid) for k, drawn in patches.items()}
    sizes = {k: np.where(patches[k], area[labels], 0) for k, (labels, area, _) in labelled.items()}
    largest = np.max(np.stack(list(sizes.values())), axis=0)
    # Only frames where little else changed: a mouth's own drawings (a camera on ones, a glow or a
    # dissolve change everything in every frame, in patches of any size).
    busiest = max(int(drawn.sum()) for drawn in patches.values())
    small = {k: (size > 0) & (size <= RIDER_SHARE * largest) & (int(patches[k].sum()) <= RIDER_SHARE * busiest)
             for k, size in sizes.items()}
    has_small = np.logical_or.reduce(list(small.values()))
    # A carrier is a layer held between its drawings (a head on threes): a large patch most of whose
    # regions also change in the frame before or after is content on ones (a dissolve, a glow, a
    # camera move) running over a character, which must keep its own drawings, not ride on it; a
    # patch from edge to edge of the picture is the background (a pan on twos) behind a character,
    # whose drawings that fall on the pan's are its own. And a region that itself changes in the frames
    # before and after is on ones there (a character on ones passing a character on threes joins its
    # patch at the threes' drawings): that change is its own too; so is one that ends or starts three
    # changes in a row (a fast edge crosses a region in three frames; a mouth one frame off its head
    # changes in two).
    large = {}
    for k, size in sizes.items():
        labels, area, spans = labelled[k]
        before, after = events.get(k - 1), events.get(k + 1)
        steady = _steady_patches(patches[k], labels, area, before, after)
        earlier, later = _changed(before, after, largest.size), _changed(after, before, largest.size)
        on_ones = (earlier & later) | (earlier & _changed(events.get(k - 2), None, largest.size)) \
            | (later & _changed(events.get(k + 2), None, largest.size))
        large[k] = (size > RIDER_SHARE * largest) & ~steady & ~spans[labels] & ~on_ones
    riding = has_small & np.logical_or.reduce(list(large.values())) & (largest >= 4)
    # A rider out of step with its carrier changes in two frames in a row somewhere (the mouth, then
    # the head moving it). A region whose changes never follow each other is a layer of its own that
    # sometimes draws in the same frame as a larger one next to it (a character on twos over one on
    # 2-3: robustness seed 2, scene 4, lost those drawings and ran a frame late).
    frames = sorted(patches)
    stack = np.stack([patches[k] for k in frames])
    in_a_row = (stack[:-1] & stack[1:])[np.diff(frames) == 1]
    riding &= in_a_row.any(axis=0) if in_a_row.size else False
    if not riding.any():
        return events, riding
    return {k: np.where(riding, small[k], drawn) if k in small else drawn for k, drawn in events.items()}, riding


def _changed(drawn: np.ndarray | None, other: np.ndarray | None, size: int) -> np.ndarray:
    """A neighbouring frame's changes. Not in the window (or a shot start, which says nothing): as the
    frame on the other side, if that one is known (the window's edge cuts no run of changes short)."""
    def known(changes: np.ndarray | None) -> bool:
        return changes is not None and not changes.all()
    if known(drawn):
        return drawn  # type: ignore[return-value]
    return other if known(other) else np.zeros(size, bool)  # type: ignore[return-value]


def _steady_patches(drawn: np.ndarray, labels: np.ndarray, area: np.ndarray, before: np.ndarray | None,
                    after: np.ndarray | None) -> np.ndarray:
    """Per region, whether its patch of changes is mostly regions that also change next door in time.

    ``labels``/``area``: the patches of ``drawn`` (:func:`_patches`). A region drawn in the
    frame before or after counts; a neighbouring frame not in the window counts as unchanged
    (a patch is not called steady on what was not seen).
    """
    around = np.zeros(drawn.shape, bool)
    for side in (before, after):
        if side is not None and not side.all():
            around |= side
    busy = np.bincount(labels, weights=(drawn & around).astype(np.float64), minlength=area.size)
    steady = busy > STEADY_SHARE * np.maximum(area, 1)
    steady[0] = False
    return drawn & steady[labels]


def _patches(drawn: np.ndarray, grid: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The connected patches of changes: per region its patch label (0: no change); per label its size and
    whether it reaches across the whole picture (full width or full height)."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(drawn.reshape(grid).astype(np.uint8), connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA].copy()
    area[0] = 0
    spans = (stats[:, cv2.CC_STAT_WIDTH] >= grid[1]) | (stats[:, cv2.CC_STAT_HEIGHT] >= grid[0])
    spans[0] = False
    return labels.ravel(), area, spans


def partner_intervals(rhythm: Rhythm, horizon: int, lenient: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per region, the frames ``[low, high)`` that show it at its next drawing.

    ``lenient``: or at the drawing after it, which :func:`pass_times` renders along the
    straight way (right for steady motion; see :func:`choose_groups`).
    """
    end = rhythm.later if lenient else rhythm.after
    return rhythm.following, np.where(end == NONE, horizon + 1, end)


#: the largest share of moving regions that may be rendered along a straight way to save a pass
LENIENT_SHARE = 0.25


def choose_groups(rhythm: Rhythm, horizon: int) -> list[Group]:
    """The fewest groups with exact intervals, or fewer still when few regions need leniency.

    Where two layers on different rhythms meet, a region changes on both (every frame for
    twos out of step) and alone asks for a partner no other region accepts: a pass for a
    strip. Rendering such strips along the straight way to their next-but-one drawing
    costs little (they hold two layers' edges anyway) and saves the pass.
    """
    regions = np.flatnonzero(rhythm.active)
    strict = group_regions(*partner_intervals(rhythm, horizon), regions)
    if len(strict) <= 1:
        return strict
    lenient = group_regions(*partner_intervals(rhythm, horizon, lenient=True), regions)
    if len(lenient) >= len(strict):
        return strict
    low, high = partner_intervals(rhythm, horizon)
    approximate = sum(int(np.sum(~((low[g.regions] <= g.partner) & (g.partner < high[g.regions])))) for g in lenient)
    return lenient if approximate <= LENIENT_SHARE * regions.size else strict


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
    # Each region to the first group whose partner shows its next drawing (the greedy only
    # tried the group open when its turn came): as few passes, fewer regions in late ones.
    first = {int(r): next(g for g, group in enumerate(groups) if low[r] <= group.partner < high[r]) for r in regions}
    return [Group(group.partner, np.array(sorted(r for r, g in first.items() if g == index), np.int64))
            for index, group in enumerate(groups) if any(g == index for g in first.values())]


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


def fill_free(values: np.ndarray, known: np.ndarray, shape: tuple[int, int] | None,
              sigma: float = 1.0) -> np.ndarray:
    """Values on the region grid with free regions taken from their known neighbours, smoothly.

    A flat area inside a moving layer shows no change (free), yet moves with the layer:
    normalized convolution with a Gaussian widening from ``sigma`` (regions) gives it its
    neighbours' time (a wider start: the majority around it, not the nearest). Numbers
    (``shape`` None) have no neighbours: free ones keep their value.
    """
    if shape is None or not known.any() or known.all():
        return values.astype(np.float32)
    grid = values.reshape(shape).astype(np.float32)
    weight = known.reshape(shape).astype(np.float32)
    filled = grid.copy()
    missing = weight == 0
    while missing.any() and sigma < 4 * max(shape):
        numerator = cv2.GaussianBlur(grid * weight, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        denominator = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        reached = missing & (denominator > 1e-3)
        filled[reached] = numerator[reached] / denominator[reached]
        missing &= ~reached
        sigma *= 2
    return filled.ravel()


def group_shares(members: Sequence[np.ndarray], known: np.ndarray, shape: tuple[int, int] | None, reach: float,
                 sigma: float) -> list[np.ndarray]:
    """Each group's share of every region (summing to 1): its own regions, free ones by the majority around.

    ``members``: per group, a boolean region mask; ``known``: the regions that belong to
    some group (the rest are free: a flat inside of a layer, which the majority around it
    decides, :func:`fill_free` widening from ``reach``; where two layers meet, the nearest
    region may belong to the other). Smoothed by ``sigma`` so composites have no seams.
    """
    shares = [smooth_grid(fill_free(np.asarray(member, np.float32), known, shape, sigma=reach), shape, sigma)
              for member in members]
    total = np.maximum(np.sum(shares, axis=0), 1e-6)
    return [share / total for share in shares]


def smooth_grid(values: np.ndarray, shape: tuple[int, int] | None, sigma: float) -> np.ndarray:
    """A light Gaussian on the region grid, so maps and masks change smoothly where regions meet."""
    if shape is None or sigma <= 0:
        return values.astype(np.float32)
    grid = values.reshape(shape).astype(np.float32)
    return cv2.GaussianBlur(grid, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE).ravel()


__all__ = [
    "NONE",
    "STALE",
    "Group",
    "Rhythm",
    "adopt_coarser",
    "adopt_finer",
    "choose_groups",
    "fill_free",
    "group_regions",
    "group_shares",
    "neighbourhood",
    "own_drawings",
    "partner_intervals",
    "pass_times",
    "region_times",
    "rhythm_at",
    "smooth_grid",
]
