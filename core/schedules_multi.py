"""``cadence``: every layer of the picture back on its own drawing times.

Why not only pairs: a pair midpoint is a 2-frame box filter on the motion. It
cancels holds of 2 exactly, but threes, fours and 2-3 patterns keep a periodic
error (stutter index 0.35 to 1.0 with a perfect interpolator), and content drawn
on ones is shown half a frame early and never as its original frames. Any fixed
linear filter has the same limit: it delays a layer drawn on ``H`` by ``(H - 1) / 2``
frames, so no single filter is on time for ones, twos and threes at once.

What this does instead: it watches *where* the picture changes between
consecutive source frames (a grid of small regions; a region changes on the
frames where a layer covering it gets a new drawing) and so knows, per region, on
which frames drawings were made. A drawing made at frame ``n`` shows the pose of
time ``n``; between two drawings the true motion is the straight way between
them. For each *keypoint* (a frame where some layer gets a drawing) it builds a
node in which every layer is at the pose of that time: the weights ``w_i`` of a
few nearby source frames solve ``sum_i w_i * drawing_r(i) = target_r`` for every
region group ``r`` (``w >= 0``, ``sum w = 1``), and an interpolator chain turns the
weights into a picture (``VFI(a, b, t)`` moves every layer to ``(1 - t) a + t b``).
The :class:`~core.schedule.UniformUpsampler` then interpolates between nodes
at uniform output times, as for pairs.

What that gives: one rhythm (ones, twos, threes, fours, 2-3) needs no solving at
all: nodes are the original drawings at their own times (content on ones keeps
every original frame); two characters on different rhythms, or a character on
twos over a pan on ones, get nodes that are one or two interpolations deep. Every
layer is on time (no lag) and moves at constant speed between its drawings.

Generic over the frame type like :mod:`core.schedule`: the change detector takes
``torch`` tensors, numpy images, objects with an ``analysis_image()`` method, or
plain numbers (one region each, for tests). Streaming with a fixed lookahead of
:attr:`CadenceNodes.lookahead` frames; nodes never span a cut (one producer shot
at a time).
"""

from __future__ import annotations

import itertools
import sys
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from .schedule import SCHEDULES, Node, NodeProducer, PairPreparer, SourceFrame


@dataclass
class RegionChangeMeter:
    """Which regions of the picture changed between two frames.

    Pictures are reduced to at most ``analysis_height`` rows (area averaging also
    averages away compression noise), cut into ``block`` x ``block`` regions, and a
    region changed when its mean absolute difference exceeds ``threshold`` (0-255
    scale). Numbers and sequences of numbers are their own regions.
    """

    analysis_height: int = 144
    block: int = 8
    threshold: float = 2.0
    number_tolerance: float = 1e-9

    def thumbnail(self, frame: Any) -> np.ndarray:
        """A small float32 array standing for ``frame``: (h, w, 3) for pictures, (n,) for numbers."""
        image = _analysis_image(frame)
        if image is None:
            return np.atleast_1d(np.asarray(frame, dtype=np.float64)).ravel()
        height, width = image.shape[:2]
        if height > self.analysis_height:
            small_width = max(self.block, round(width * self.analysis_height / height))
            image = cv2.resize(image, (small_width, self.analysis_height), interpolation=cv2.INTER_AREA)
        return image.astype(np.float32)

    def changed(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Boolean per region (flattened): did it change from ``previous`` to ``current``?"""
        if previous.ndim == 1:
            return np.abs(current - previous) > self.number_tolerance
        difference = np.abs(current - previous).mean(axis=2)
        height, width = difference.shape
        rows, cols = max(1, height // self.block), max(1, width // self.block)
        cropped = difference[: rows * self.block, : cols * self.block] if height >= self.block else difference
        if height >= self.block and width >= self.block:
            means = cropped.reshape(rows, self.block, cols, self.block).mean(axis=(1, 3))
        else:
            means = np.array([[difference.mean()]])
        return (means > self.threshold).ravel()


def _analysis_image(frame: Any) -> np.ndarray | None:
    """The frame as an (H, W, 3) array on the 0-255 scale, or None for numbers."""
    render = getattr(frame, "analysis_image", None)
    if callable(render):
        return np.asarray(render(), dtype=np.float32)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(frame, torch.Tensor) and frame.ndim == 3:
        image = frame.detach()
        if image.shape[-2] > 288:
            # Halve on the device first: less to copy to the CPU.
            image = torch.nn.functional.avg_pool2d(image[None].float(), 2)[0]
        return (image.float().clamp(0, 1) * 255).permute(1, 2, 0).cpu().numpy()
    if isinstance(frame, np.ndarray) and frame.ndim == 3:
        return frame.astype(np.float32)
    return None


@dataclass(frozen=True)
class Weights:
    """A node as a mix of source frames: ``{shot frame index: weight}``, weights > 0, sum 1."""

    parts: tuple[tuple[int, float], ...]

    @property
    def frames(self) -> int:
        return len(self.parts)


class CadenceNodes(NodeProducer[Any]):
    """Nodes at every drawing of every layer, each layer posed for the node's time.

    ``lookahead``: frames read ahead of a node (the longest hold treated as motion,
    ``max_hold``, must fit). Longer holds are a still layer that starts moving again:
    it keeps its pose until ``restart`` frames before its next drawing.
    """

    lookahead = 6
    max_hold = 6
    restart = 2
    max_mix = 4
    sizeable_share = 0.03

    def __init__(self, interpolator: PairPreparer[Any], meter: RegionChangeMeter | None = None) -> None:
        super().__init__(interpolator)
        self.meter = meter or RegionChangeMeter()
        self._solutions: dict[tuple, Weights] = {}
        self._prepared: OrderedDict[tuple[int, int, int], Any] = OrderedDict()
        self._shot = 0
        self._reset()

    # -- streaming -------------------------------------------------------------------------

    def _reset(self) -> None:
        self._frames: dict[int, SourceFrame[Any]] = {}
        #: per shot frame index k >= 1: regions that changed from k - 1 to k
        self._events: dict[int, np.ndarray] = {}
        self._previous_thumbnail: np.ndarray | None = None
        self._count = 0
        self._next_decision = 0
        self._min_support = 1
        self._prepared.clear()
        self._shot += 1

    def push(self, frame: SourceFrame[Any]) -> list[Node[Any]]:
        index = self._count
        self._count += 1
        self._frames[index] = frame
        thumbnail = self.meter.thumbnail(frame.image)
        if self._previous_thumbnail is not None:
            self._events[index] = self.meter.changed(self._previous_thumbnail, thumbnail)
            self._min_support = max(1, self._events[index].size // 256)
        self._previous_thumbnail = thumbnail
        return self._decide_until(index - self.lookahead)

    def end_shot(self) -> list[Node[Any]]:
        nodes = self._decide_until(self._count - 1)
        self._reset()
        return nodes

    def _decide_until(self, last: int) -> list[Node[Any]]:
        nodes: list[Node[Any]] = []
        while self._next_decision <= last:
            index = self._next_decision
            self._next_decision += 1
            if self._is_keypoint(index):
                weights = self.weights_for(index)
                nodes.append(Node(self._frames[index].time, self._render(weights)))
            self._forget_before(index - 2 * self.max_hold - self.lookahead)
        return nodes

    def _forget_before(self, index: int) -> None:
        for old in [k for k in self._frames if k < index]:
            del self._frames[old]
        for old in [k for k in self._events if k < index]:
            del self._events[old]

    # -- where the drawings are --------------------------------------------------------------

    def _changed(self, index: int) -> np.ndarray | None:
        """Regions with a new drawing at ``index``; the first frame of a shot is one everywhere."""
        return self._events.get(index)

    def _is_keypoint(self, index: int) -> bool:
        """A frame where some layer gets a drawing, or where a still layer starts moving."""
        if index == 0:
            return True
        changed = self._changed(index)
        if changed is not None and int(changed.sum()) >= self._min_support:
            return True
        # A still layer restarting: its next drawing is `restart` frames away after a long hold.
        ahead = self._changed(index + self.restart)
        if ahead is None:
            return False
        previous = self._last_drawing(index + self.restart - 1)
        long_hold = (index + self.restart - previous) > self.max_hold
        return int((ahead & long_hold).sum()) >= self._min_support

    def _last_drawing(self, index: int) -> np.ndarray:
        """Per region: the latest frame <= ``index`` with a drawing (0 at the shot start)."""
        regions = self._region_count()
        result = np.full(regions, -10**6, dtype=np.int64)
        known = min(self._events, default=1)
        for k in range(index, known - 1, -1):
            changed = self._events.get(k)
            if changed is None:
                continue
            result = np.where((result < 0) & changed, k, result)
        if known <= 1:
            result = np.where(result < 0, 0, result)
        else:
            # Older than the memory: a long hold, its exact start does not matter (see _targets).
            result = np.where(result < 0, known - 2 * self.max_hold - 1, result)
        return result

    def _region_count(self) -> int:
        for changed in self._events.values():
            return changed.size
        return 1

    # -- solving ----------------------------------------------------------------------------

    def weights_for(self, index: int) -> Weights:
        """How to mix nearby frames so that every layer is at its pose for ``index``."""
        first = max(0, index - self.max_hold)
        last = min(self._count - 1, index + self.lookahead)
        candidates = list(range(first, last + 1))
        if not self._events:
            return Weights(((index, 1.0),))
        drawn = np.stack([self._last_drawing(k) for k in candidates], axis=1)  # (regions, candidates)
        previous = drawn[:, candidates.index(index)]
        following = self._next_drawing(index, last)
        targets = self._targets(index, previous, following)
        moving = (drawn != drawn[:, :1]).any(axis=1) | (targets != drawn[:, 0])
        if not moving.any():
            return Weights(((index, 1.0),))
        # A layer is known near the node by its drawings just before and just after it; regions
        # that agree on those impose the same constraint (their older or later drawings, where
        # an edge entered or left the region, do not matter to a mix of nearby frames).
        groups: dict[tuple[int, int], list[int]] = {}
        for region in np.flatnonzero(moving):
            key = (int(previous[region]) - index, int(following[region]) - index if following[region] > 0 else 0)
            groups.setdefault(key, []).append(int(region))
        major = self._rank_groups(index, groups, previous, following)
        if not major:
            return Weights(((index, 1.0),))
        # Mix only frames between the earliest and the latest drawing that matter.
        low = max(first, min(index + key[0] for key, _ in major))
        high = min(last, max(index + max(key[1], 0) for key, _ in major))
        columns = [candidates.index(k) for k in range(low, high + 1)]
        rows = []
        # Only a sizeable layer may make a node one interpolation deeper (small groups are
        # often artefacts: a flat area that hides some drawings, an occluded edge).
        enough = max(3 * self._min_support, self.sizeable_share * int(moving.sum()))
        sizeable = tuple(len(regions) >= enough for _, regions in major)
        for _, regions in major:
            # The group's most common history stands for it (a few regions also see another layer).
            histories = [tuple(int(drawn[region, c]) - index for c in columns) for region in regions]
            common = max(set(histories), key=histories.count)
            target = float(targets[regions[histories.index(common)]]) - index
            rows.append((*map(float, common), target))
        rows = tuple(rows)
        # Periodic content repeats the same problem: solve it once, relative to the node.
        cache_key = (low - index, high - index, rows, sizeable)
        relative = self._solutions.get(cache_key)
        if relative is None:
            solved = self._solve(index, list(range(low, high + 1)), list(rows), sizeable)
            relative = Weights(tuple((k - index, w) for k, w in solved.parts))
            if len(self._solutions) > 4096:
                self._solutions.clear()
            self._solutions[cache_key] = relative
        return Weights(tuple((k + index, w) for k, w in relative.parts))

    def _rank_groups(self, index: int, groups: dict[tuple[int, int], list[int]], previous: np.ndarray,
                     following: np.ndarray) -> list[tuple[tuple[int, int], list[int]]]:
        """Groups to satisfy, most trustworthy first; small groups (noise) left out.

        Order: moving layers by support; then held ones (no drawing within the lookahead:
        a layer that stopped, or a flat area of a moving one that shows no change); then
        groups that look like the union of two layers (a region where two characters meet
        changes on both rhythms: it is no layer of its own); then layers restarting after
        a long hold (a guess about their timing).
        """
        large = {key: regions for key, regions in groups.items() if len(regions) >= self._min_support}
        moving_keys = [key for key in large if key[1] > 0]

        def union_like(key: tuple[int, int]) -> bool:
            # Both layers are larger than the strip where they meet.
            support = len(large[key])
            others = [k for k in moving_keys if k != key and len(large[k]) >= support]
            return any(key == (max(a[0], b[0]), min(a[1], b[1])) for a, b in itertools.combinations(others, 2))

        def restarting(key: tuple[int, int]) -> bool:
            return key[1] > 0 and key[1] - key[0] > self.max_hold

        def rank(item: tuple[tuple[int, int], list[int]]) -> tuple[int, int]:
            key, regions = item
            held = key[1] == 0  # no drawing ahead: held, or a flat area that hides motion
            return (3 if restarting(key) else 2 if union_like(key) else 1 if held else 0, -len(regions))

        return sorted(large.items(), key=rank)[:5]

    def _next_drawing(self, index: int, last: int) -> np.ndarray:
        """Per region: the first frame after ``index`` (up to ``last``) with a drawing, else -1."""
        following = np.full(self._region_count(), -1, dtype=np.int64)
        for k in range(last, index, -1):
            changed = self._events.get(k)
            if changed is not None:
                following = np.where(changed, k, following)
        return following

    def _targets(self, index: int, previous: np.ndarray, following: np.ndarray) -> np.ndarray:
        """Per region: the pose (in frames) it should show at ``index``."""
        previous = previous.astype(np.float64)
        has_next = following > 0
        gap = following - previous
        linear = has_next & (gap <= self.max_hold)
        restart_at = following - self.restart
        ramp = np.clip((index - restart_at) / self.restart, 0.0, 1.0)
        restarting = has_next & ~linear
        target = previous.copy()
        target[linear] = index
        target[restarting] = previous[restarting] + ramp[restarting] * gap[restarting]
        return target

    def _solve(self, index: int, candidates: list[int], groups: list[tuple], sizeable: Sequence[bool]) -> Weights:
        """Greedy: satisfy the most trusted groups first; keep a group only if it still solves.

        A group that is not ``sizeable`` is kept only if it needs no more frames in the mix.
        """
        best = Weights(((index, 1.0),))
        accepted: list[tuple] = []
        for group, large in zip(groups, sizeable, strict=True):
            trial = [*accepted, group]
            limit = self.max_mix if large else best.frames
            solution = _mix(index, candidates, trial, limit)
            if solution is not None:
                accepted, best = trial, solution
        if not accepted:
            # Nothing solvable exactly (inconsistent detections): the closest frame.
            return Weights(((index, 1.0),))
        return best

    # -- pictures ---------------------------------------------------------------------------

    def _render(self, weights: Weights) -> Any:
        """Turn weights into a picture with a chain of pairwise interpolations (nearest first)."""
        items: list[tuple[float, float, Any, int | None]] = [
            (float(k), w, self._frames[k].image, k) for k, w in sorted(weights.parts)
        ]
        while len(items) > 1:
            # Merge the two neighbours closest in time: the smallest motion for the interpolator.
            position = min(range(len(items) - 1), key=lambda i: items[i + 1][0] - items[i][0])
            (time0, weight0, image0, key0), (time1, weight1, image1, key1) = items[position], items[position + 1]
            t = weight1 / (weight0 + weight1)
            image = self._interpolate(image0, key0, image1, key1, t)
            merged = (time0 * (1 - t) + time1 * t, weight0 + weight1, image, None)
            items[position : position + 2] = [merged]
        return items[0][2]

    def _interpolate(self, image0: Any, key0: int | None, image1: Any, key1: int | None, t: float) -> Any:
        timestep = Fraction(t).limit_denominator(1 << 16)
        if key0 is None or key1 is None:
            return self.interpolator.prepare(image0, image1).frames_at([timestep])[0]
        cache_key = (self._shot, key0, key1)
        prepared = self._prepared.get(cache_key)
        if prepared is None:
            prepared = self.interpolator.prepare(image0, image1)
            self._prepared[cache_key] = prepared
            while len(self._prepared) > 3:
                self._prepared.popitem(last=False)
        return prepared.frames_at([timestep])[0]


def _mix(index: int, candidates: list[int], groups: Sequence[tuple], max_frames: int,
         tolerance: float = 1e-6) -> Weights | None:
    """Cheapest non-negative mix of candidate frames that puts every group on its target.

    Each group is ``(drawing at candidate 0, ..., drawing at candidate n-1, target)``
    relative to ``index``. Cost: expected distance in frames from ``index`` (the
    interpolator's difficulty) plus half a frame per extra frame in the mix (one more
    interpolation generation).
    """
    matrix = np.array([group[:-1] for group in groups], dtype=np.float64)
    target = np.array([group[-1] for group in groups], dtype=np.float64)
    offsets = np.array([c - index for c in candidates], dtype=np.float64)
    best: tuple[float, Weights] | None = None
    for size in range(1, min(max_frames, len(groups) + 1, len(candidates)) + 1):
        for subset in itertools.combinations(range(len(candidates)), size):
            columns = list(subset)
            system = np.vstack((matrix[:, columns], np.ones((1, size))))
            wanted = np.concatenate((target, [1.0]))
            weights, *_ = np.linalg.lstsq(system, wanted, rcond=None)
            if np.any(weights < -tolerance) or np.abs(system @ weights - wanted).max() > tolerance:
                continue
            weights = np.clip(weights, 0.0, None)
            keep = weights > tolerance
            if not keep.any():
                continue
            weights = weights[keep] / weights[keep].sum()
            chosen = [columns[i] for i in np.flatnonzero(keep)]
            cost = float(np.dot(weights, np.abs(offsets[chosen]))) + 0.5 * (len(chosen) - 1)
            if best is None or cost < best[0] - 1e-9:
                parts = tuple((candidates[c], float(w)) for c, w in zip(chosen, weights, strict=True))
                best = (cost, Weights(parts))
        if best is not None and best[0] <= 0.5 * size:
            # A larger mix costs at least 0.5 more per frame: cannot win.
            break
    return None if best is None else best[1]


SCHEDULES.setdefault("cadence", CadenceNodes)

__all__ = ["CadenceNodes", "RegionChangeMeter", "Weights"]
