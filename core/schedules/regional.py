"""``regional``: every region of the picture on its own drawings' time, with per-pixel time maps.

Why: ``cadence`` mixes whole source frames, so a node can put at most as many layers on
time as its mix has frames; three layers on three rhythms, a mouth on threes out of step
with its head, or a shaking camera under twos lose drawings. A time map does it per
pixel in one pass.

How: the region change meter (:mod:`~stsr.schedules.change`) finds, per region of a small
grid, the frames where it gets a drawing. Keypoints are the frames where any region
does. For the outputs between two keypoints, a region with drawings ``d0 <= tau < d1`` is
on time in a pass ``VFI(X, Y, map)`` when ``X`` shows ``d0``, ``Y`` shows ``d1`` and its
map value is ``(tau - d0) / (d1 - d0)`` (:mod:`~stsr.schedules.region_timing`). Regions
whose frame windows meet share one pass; when they do not (ones beside threes), each
group gets its own pass and the passes are composited by smoothed region masks. A
region holding two layers (a mouth on a head) keeps both on time: its pass must fit the
base layer's window too, and its time is its own layer's. Each pass is prepared once
and asked for every output time until the next keypoint (and reused across keypoints
while its pair fits). A new drawing lands at its own time as itself (``s = 0`` there
shows ``X``, which holds that drawing); content on ones pairs consecutive frames, so it
keeps its original frames at their times; shots are separate (never across a cut).

Needs a backend with ``supports_time_maps``; others are refused in one line (use
``cadence`` there).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from .base import Context, Node, NodeProducer, PairPreparer, SourceFrame
from .change import RegionChangeMeter
from .frame_ops import as_map, composite, frame_size, grid_to_frame
from .region_timing import RegionTiming, combined_timing, group_regions, region_time, region_timing

#: the one-line refusal for backends without per-pixel time maps
NEEDS_TIME_MAPS = "schedule 'regional' needs a backend with per-pixel time maps (supports_time_maps); use 'cadence'"


class _RegionalContext:
    """``RegionalNodes.context_frames`` from the settings it depends on (see the class docstring)."""

    def __get__(self, instance: object, owner: type) -> Context:
        settings = owner if instance is None else instance
        hold, ahead = settings.max_hold, settings.lookahead  # type: ignore[attr-defined]
        before, after = settings.context_before, settings.context_after  # type: ignore[attr-defined]
        return Context(2 * hold + before + 3, hold + 1 + ahead + after)


class RegionalNodes(NodeProducer[Any]):
    """A node per keypoint whose span renders every region at its own time (one pass per region group).

    ``context_frames``: a plan for keypoint ``k`` reads drawings from ``k - max_hold - 1``
    to ``k + lookahead``, each judged among ``context_before`` earlier changes, and the
    keypoint before ``k`` is at most ``max_hold + 1`` frames back: ``before = 2 * max_hold +
    context_before + 3`` (19). The next keypoint is at most ``max_hold + 1`` on and planned
    ``lookahead + context_after`` frames after it: ``after = max_hold + 1 + lookahead +
    context_after`` (17).
    """

    max_hold = 6
    #: frames read past a keypoint to know each region's next drawings (>= max_hold + 1)
    lookahead = 8
    context_before = 4
    context_after = 2
    #: a set of regions with one timing smaller than this share of the moving ones gets no pass of its own
    sizeable_share = 0.02
    #: smoothing (in regions) of maps and masks where regions of different times meet
    smoothing = 0.7
    context_frames = _RegionalContext()

    def __init__(self, interpolator: PairPreparer[Any], meter: RegionChangeMeter | None = None) -> None:
        super().__init__(interpolator)
        if not getattr(interpolator, "supports_time_maps", False):
            raise ValueError(NEEDS_TIME_MAPS)
        self.meter = meter or RegionChangeMeter()
        self._prepared: OrderedDict[tuple[int, int, int], Any] = OrderedDict()
        self._shot = 0
        self._reset()

    # -- streaming -------------------------------------------------------------------------

    def _reset(self) -> None:
        self._frames: dict[int, SourceFrame[Any]] = {}
        self._differences: dict[int, np.ndarray] = {}
        self._events: dict[int, np.ndarray] = {}
        self._previous_thumbnail: np.ndarray | None = None
        self._grid: tuple[int, int] | None = None
        self._covered = (1.0, 1.0)
        self._count = 0
        self._next_decision = 0
        self._keypoint: int | None = None
        #: the latest frame with a drawing (not a still-picture keypoint)
        self._drawn = 0
        self._min_support = 1
        self._prepared.clear()
        self._shot += 1

    def push(self, frame: SourceFrame[Any]) -> list[Node[Any]]:
        index = self._count
        self._count += 1
        self._frames[index] = frame
        thumbnail = self.meter.thumbnail(frame.image)
        if thumbnail.ndim > 1:
            block = self.meter.block
            rows, cols = max(1, thumbnail.shape[0] // block), max(1, thumbnail.shape[1] // block)
            self._grid = (rows, cols)
            self._covered = (min(1.0, rows * block / thumbnail.shape[0]), min(1.0, cols * block / thumbnail.shape[1]))
        if self._previous_thumbnail is not None:
            self._differences[index] = self.meter.difference(self._previous_thumbnail, thumbnail)
            self._min_support = max(1, self._differences[index].size // 256)
        self._previous_thumbnail = thumbnail
        self._classify_until(index - self.context_after)
        return self._decide_until(index - self.lookahead - self.context_after, final=False)

    def end_shot(self) -> list[Node[Any]]:
        self._classify_until(self._count - 1)
        nodes = self._decide_until(self._count - 1, final=True)
        last = self._count - 1
        if self._keypoint is not None:
            key = self._keypoint
            if last > key:
                nodes.append(self._node(key, last))
                nodes.append(Node(self._frames[last].time, self._frames[last].image))
            else:
                nodes.append(Node(self._frames[key].time, self._frames[key].image))
        self._reset()
        return nodes

    def _classify_until(self, last: int) -> None:
        numbers = self._grid is None
        for index in range(max(1, max(self._events, default=0) + 1), last + 1):
            window = [self._differences[k] for k in range(index - self.context_before, index + self.context_after + 1)
                      if k in self._differences]
            self._events[index] = self.meter.drawings(self._differences[index], np.stack(window), numbers)

    def _decide_until(self, last: int, final: bool) -> list[Node[Any]]:
        nodes: list[Node[Any]] = []
        while self._next_decision <= last:
            index = self._next_decision
            self._next_decision += 1
            if not self._is_keypoint(index):
                continue
            if self._keypoint is not None:
                nodes.append(self._node(self._keypoint, index))
            self._keypoint = index
            self._forget_before(index - self.max_hold - 1)
        return nodes

    def _is_keypoint(self, index: int) -> bool:
        if index == 0:
            return True
        changed = self._events.get(index)
        if changed is not None and int(changed.sum()) >= self._min_support:
            self._drawn = index
            return True
        # A still picture: a node per frame after max_hold keeps what a plan reads bounded
        # (and, unlike one every max_hold + 1 frames, the same wherever a run started).
        return index - self._drawn > self.max_hold

    def _forget_before(self, first: int) -> None:
        for old in [k for k in self._frames if k < first]:
            del self._frames[old]
        history = first - self.context_before - 1
        for store in (self._events, self._differences):
            for old in [k for k in store if k < history]:
                del store[old]

    # -- planning ---------------------------------------------------------------------------

    def _drawings(self, region_count: int, first: int, horizon: int) -> list[list[int]]:
        """Per region, its drawings in ``[first, horizon]`` (ascending), after a marker for "older"."""
        drawings: list[list[int]] = [[first - 1] if first > 0 else [] for _ in range(region_count)]
        for k in range(first, horizon + 1):
            changed = np.ones(region_count, bool) if k == 0 else self._events.get(k)
            if changed is None:
                continue
            for region in np.flatnonzero(changed):
                drawings[region].append(k)
        return drawings

    def plan(self, key: int) -> dict[int, RegionTiming]:
        """Each moving region's timing at keypoint ``key`` (the others are still: any pass will do)."""
        horizon = min(key + self.lookahead, self._count - 1)
        first = max(0, key - self.max_hold)
        region_count = next(iter(self._events.values())).size if self._events else 1
        drawings = self._drawings(region_count, first, horizon)
        strongest = np.zeros(region_count)
        for k in range(first + 1, horizon + 1):
            if k in self._differences:
                strongest = np.maximum(strongest, self._differences[k])
        numbers = self._grid is None
        moving = [r for r in range(region_count)
                  if any(d > first for d in drawings[r]) and (numbers or strongest[r] >= self.meter.informative)]
        signatures: dict[tuple[int, ...], int] = {}
        for region in moving:
            signatures[tuple(drawings[region])] = signatures.get(tuple(drawings[region]), 0) + 1
        enough = 1 if numbers else max(3 * self._min_support, round(self.sizeable_share * len(moving)))
        layers = sorted((s for s, n in signatures.items() if n >= enough), key=lambda s: -signatures[s])
        timings: dict[int, RegionTiming] = {}
        for region in moving:
            own = tuple(drawings[region])
            timing = region_timing(own, key, horizon, self.max_hold)
            if signatures[own] < enough:
                timing = self._as_two_layers(own, layers, key, horizon) or timing
            timings[region] = timing
        return timings

    def _as_two_layers(self, own: tuple[int, ...], layers: Sequence[tuple[int, ...]], key: int,
                       horizon: int) -> RegionTiming | None:
        """A region whose drawings are a known layer's plus some of its own: both on time, or None."""
        mine = set(own)
        for layer in layers:
            if set(layer) < mine:
                residual = sorted((mine - set(layer)) | {min(own)})
                combined = combined_timing(region_timing(residual, key, horizon, self.max_hold),
                                           region_timing(layer, key, horizon, self.max_hold))
                if combined is not None:
                    return combined
        return None

    def _node(self, key: int, stop: int) -> Node[Any]:
        """The node at keypoint ``key`` with the span that renders outputs up to ``stop``."""
        timings = self.plan(key)
        frame = self._frames[key]
        if not timings:
            return Node(frame.time, frame.image)
        numbers = self._grid is None
        moving_count = len(timings)
        enough = 1 if numbers else max(3 * self._min_support, round(self.sizeable_share * moving_count))
        # Regions left out of every group are shown by the nearest group's pass (see _owners).
        groups, _ = group_regions(timings, enough)
        region_count = next(iter(self._events.values())).size if self._events else 1
        owner = self._owners(groups, region_count)
        parts = []
        for number, group in enumerate(groups):
            # The pair follows from the window alone (a restarted run chooses the same); a pair
            # still fitting the next keypoint's window is then found prepared.
            x, y = group.pair()
            prepared = self._prepare(x, y)
            between = {r: timings[r].between for r in group.regions if timings[r].between is not None}
            times = {r: (self._frames[d0].time, self._frames[d1].time) for r, (d0, d1) in between.items()}
            parts.append(_Pass(prepared, self._frames[x].image, self._frames[y].image, times,
                               owner == number))
        return Node(frame.time, frame.image, _Span(parts, region_count, self._grid, self._covered, self.smoothing,
                                                   frame.image))

    def _owners(self, groups: list, region_count: int) -> np.ndarray:
        """Which group's pass shows each region: its own, else the nearest group's (the largest when alone)."""
        owner = np.full(region_count, -1, dtype=np.int64)
        for number, group in enumerate(groups):
            owner[group.regions] = number
        if self._grid is None or (owner >= 0).all():
            owner[owner < 0] = 0
            return owner
        rows, cols = self._grid
        grid = owner.reshape(rows, cols)
        unknown = (grid < 0).astype(np.uint8)
        if unknown.all():
            return np.zeros(region_count, np.int64)
        # Nearest assigned region for every unassigned one.
        _, labels = cv2.distanceTransformWithLabels(unknown, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
        seeds = np.zeros(labels.max() + 1, np.int64)
        seed_positions = np.argwhere(unknown == 0)
        seeds[labels[unknown == 0]] = grid[seed_positions[:, 0], seed_positions[:, 1]]
        return np.where(grid >= 0, grid, seeds[labels]).ravel()

    def _prepare(self, x: int, y: int) -> Any:
        key = (self._shot, x, y)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self.interpolator.prepare(self._frames[x].image, self._frames[y].image)
            self._prepared[key] = prepared
            while len(self._prepared) > 4:
                self._prepared.popitem(last=False)
        else:
            self._prepared.move_to_end(key)
        return prepared


class _Pass:
    """One pass of a span: a prepared pair and the regions it is on time for (with their drawings' times)."""

    def __init__(self, prepared: Any, first: Any, second: Any, times: dict[int, tuple[Fraction, Fraction]],
                 owned: np.ndarray) -> None:
        self.prepared, self.first, self.second = prepared, first, second
        self.times = times
        self.owned = owned


class _Span:
    """Renders outputs from a keypoint to the next: per pass a time map, then the composite."""

    def __init__(self, passes: list[_Pass], region_count: int, grid: tuple[int, int] | None,
                 covered: tuple[float, float], smoothing: float, like: Any) -> None:
        self.passes, self.region_count, self.grid, self.covered = passes, region_count, grid, covered
        self.smoothing = smoothing
        self.size = frame_size(like)
        self.like = like
        self.masks = [self._frame_values(p.owned.astype(np.float32), smooth=len(passes) > 1) for p in passes]
        if len(passes) > 1:
            total = sum(self.masks)
            self.masks = [mask / total for mask in self.masks]

    def _frame_values(self, values: np.ndarray, smooth: bool = True) -> np.ndarray:
        if self.grid is None or self.size is None:
            return values
        grid = values.reshape(self.grid)
        if smooth and self.smoothing > 0:
            grid = cv2.GaussianBlur(grid, (0, 0), self.smoothing, borderType=cv2.BORDER_REPLICATE)
        return grid_to_frame(grid, self.size, self.covered)

    def _map(self, part: _Pass, tau: Fraction) -> Any:
        """The pass's time map at ``tau``: its regions' own times, filled smoothly elsewhere."""
        values = np.zeros(self.region_count, np.float32)
        known = np.zeros(self.region_count, np.float32)
        exact: dict[int, Fraction] = {}
        for region, (start, stop) in part.times.items():
            s = region_time((start, stop), tau)
            exact[region] = Fraction(s)
            values[region], known[region] = float(s), 1.0
        if not exact:
            return Fraction(0)
        distinct = set(exact.values())
        if len(distinct) == 1 and ((self.grid is None and self.region_count == 1) or known.all()):
            return distinct.pop()
        if self.grid is None:
            fill = float(np.mean([float(v) for v in exact.values()]))
            return np.where(known > 0, values, fill).astype(np.float64)
        rows, cols = self.grid
        sigma = max(1.0, 2 * self.smoothing)
        weight = cv2.GaussianBlur(known.reshape(rows, cols), (0, 0), 3 * sigma, borderType=cv2.BORDER_REPLICATE)
        spread = cv2.GaussianBlur((values * known).reshape(rows, cols), (0, 0), 3 * sigma,
                                  borderType=cv2.BORDER_REPLICATE)
        median = float(np.median([float(v) for v in exact.values()]))
        filled = np.where(weight > 1e-6, spread / np.maximum(weight, 1e-6), median)
        grid = np.where(known.reshape(rows, cols) > 0, values.reshape(rows, cols), filled).astype(np.float32)
        if len(distinct) == 1 and np.allclose(grid, float(next(iter(distinct))), atol=1e-6):
            return next(iter(distinct))
        frame_map = np.clip(self._frame_values(grid), 0.0, 1.0)
        return as_map(frame_map, self.like)

    def frames_at(self, times: Sequence[Fraction]) -> list[Any]:
        per_pass: list[list[Any]] = []
        for part in self.passes:
            maps = [self._map(part, tau) for tau in times]
            ask = [m for m in maps if not _is_scalar(m) or 0 < m < 1]
            rendered = iter(part.prepared.frames_at(ask) if ask else [])
            images = []
            for m in maps:
                if _is_scalar(m) and m <= 0:
                    images.append(part.first)
                elif _is_scalar(m) and m >= 1:
                    images.append(part.second)
                else:
                    images.append(next(rendered))
            per_pass.append(images)
        if len(self.passes) == 1:
            return per_pass[0]
        return [composite([images[j] for images in per_pass], self.masks) for j in range(len(times))]


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (Fraction, float, int))


__all__ = ["NEEDS_TIME_MAPS", "RegionalNodes"]
