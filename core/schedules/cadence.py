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
The :class:`~stsr.schedules.upsample.UniformUpsampler` then interpolates between nodes
at uniform output times, as for pairs.

What that gives: one rhythm (ones, twos, threes, fours, 2-3) needs no solving at
all: nodes are the original drawings at their own times (content on ones keeps
every original frame); two characters on different rhythms, or a character on
twos over a pan on ones, get nodes that are one or two interpolations deep. Every
layer is on time (no lag) and moves at constant speed between its drawings.

Where no mix poses every layer (three rhythms at once: two characters on twos out of
step under a camera shaking on ones; ``benchmarks.stutter.feasibility`` finds such
scenes from ground truth), the layers the mix misses get a mix of their own, a *pass*,
composited by their regions and the ring around them (:class:`NodePlan`). A pass also
poses the layers it covers where it can; a covered layer it cannot pose keeps its own
pixels from the first mix (told apart by when they change, :mod:`~stsr.schedules.ownership`).
For faint or tiny groups, and beyond :attr:`CadenceNodes.max_passes`, the node keeps the
least-squares compromise of one mix, weighted by how visible each layer's error is; where it
would leave a layer more than :attr:`CadenceNodes.far_off` frames off its pose, a small layer
(one going behind another) is posed by the first mix or a pass of its own instead. A layer
with a new drawing at the node is shown by frames that show that drawing, never by a blend of
the drawings around it that has its pose (:attr:`CadenceNodes.drawings_as_themselves`).

Four modules: :mod:`~stsr.schedules.change` (where the picture changes and which
changes are drawings), :mod:`~stsr.schedules.mixer` (the pure-numpy weight solving),
:mod:`~stsr.schedules.passes` (a mix per layer where one mix cannot pose them all, and
the composite's regions) and this one (which frames are keypoints, the groups and
targets, the pictures).
Generic over the frame type like :mod:`stsr.schedules`: the change detector takes
``torch`` tensors, numpy images, objects with an ``analysis_image()`` method, or
plain numbers (one region each, for tests). Streaming with a fixed lookahead of
:attr:`CadenceNodes.lookahead` frames; nodes never span a cut (one producer shot
at a time).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from .base import Context, Node, NodeProducer, PairPreparer, SourceFrame
from .change import RegionChangeMeter
from .composite import composite, grid_to_picture, picture_like
from .mixer import Weights, compromise_mix, exact_mix
from .ownership import pixel_changes, refine_shares
from .passes import (
    NodePlan,
    Passes,
    Touching,
    composite_masks,
    pass_regions,
    plan_passes,
    pose_error,
    settled,
    shows_drawing,
    shows_pose,
    touching,
)
from .timemaps import own_drawings


class _CadenceContext:
    """``CadenceNodes.context_frames``, computed from the (class or instance) settings it depends on."""

    def __get__(self, instance: object, owner: type) -> Context:
        settings = owner if instance is None else instance
        hold, lookahead = settings.max_hold, settings.lookahead  # type: ignore[attr-defined]
        before = 3 * hold + lookahead + settings.context_before + 2  # type: ignore[attr-defined]
        return Context(before, hold + 1 + lookahead + settings.context_after)  # type: ignore[attr-defined]


class CadenceNodes(NodeProducer[Any]):
    """Nodes at every drawing of every layer, each layer posed for the node's time.

    ``lookahead``: frames read ahead of a node (the longest hold treated as motion,
    ``max_hold``, must fit). Longer holds are a still layer that starts moving again:
    it keeps its pose until ``restart`` frames before its next drawing. A stretch of
    more than ``max_hold`` frames without a drawing anywhere is a still picture: each
    of its frames is a node of its own (as ``naive``), so nodes are never more than
    ``max_hold + 1`` frames apart.

    ``context_frames`` (see :class:`~stsr.schedules.base.NodeProducer`), derived from
    what the producer remembers:

    * ``before = 3 * max_hold + lookahead + context_before + 2`` (30). A decision at
      shot frame ``i`` reads drawings back to the change records it keeps,
      ``2 * max_hold + lookahead + 1`` frames (older ones count as "a long hold", the
      same in every run); those records are judged among ``context_before`` earlier
      changes, and the shot start has none. So a decision ``2 * max_hold + lookahead +
      context_before + 2`` frames after a restart equals the uninterrupted one; the
      node an output interpolates from is at most ``max_hold`` frames before the
      output's frame.
    * ``after = max_hold + 1 + lookahead + context_after`` (15): the next node is at
      most ``max_hold + 1`` frames on, and it is decided ``lookahead + context_after``
      frames after its own.

    The one memory not bounded by a window: a layer seen only because it continues
    one of the previous ``max_hold`` frames' nodes (``_continuing``, a mostly hidden
    character) carries its track from node to node; a restart re-finds it from the
    next node where it is large enough on its own.
    """

    lookahead = 6
    #: transitions before and after a change that its drawing test compares it with
    context_before = 4
    context_after = 2
    max_hold = 6
    restart = 2
    max_mix = 4
    #: where no mix poses every layer: render the layers it misses with mixes of their own and
    #: composite them by their regions (pictures only), instead of the compromise that moves them all
    layered = True
    #: draw the composite's border between a pass's layer and the layers it misses along their pixels
    #: (:mod:`~stsr.schedules.ownership`), not only along the region grid
    pixel_borders = True
    #: a pixel that changes at the node with a new drawing of a layer a pass puts off its pose stays with
    #: the first mix, even where a sparser layer covers it later (:func:`~stsr.schedules.ownership.refine_shares`)
    recent_owner = True
    #: a layer drawn anew at the node that may have a pass of its own and is drawn evenly is shown as its
    #: drawing even where it is not substantial (see ``pinned`` in :meth:`_solve`)
    pin_eligible = True
    #: a layer too small for a pass, drawn evenly or on ones, that the first mix leaves ``far_off`` its pose
    #: may go first in the retry that poses such layers first (see ``stranded`` in :meth:`_solve`)
    stranded_retry = True
    #: a layer drawn two and three frames apart in turn (on 2-3) counts as evenly drawn: a layer on its own
    #: rhythm, whose new drawing is shown as itself where it may have a pass (robustness seed 2 scene 10, clean:
    #: a character on 2-3 beside one on fours; no output showed its drawing at frame 45 at more than 0.52)
    two_three_even = True
    #: whether a layer is drawn evenly is judged by its drawings over all the frames the node reads, not only
    #: the mix's window, which often shows two of them: a character on twos was never evenly drawn there and
    #: got no pass (robustness seed 1 scene 5 on the mb-tree encode: 0.18; on today's sources held-out seed 2
    #: scene 34: 0.36 without, 0.12 with)
    evenly_over_span = True
    #: a layer drawn anew at the node with too few regions for a pass (half hidden, or half out of the
    #: picture) but drawn evenly is shown as its drawing too (see ``pinned`` in :meth:`_solve`): with
    #: :attr:`evenly_over_span` a character entering at a corner got a pass that posed it with a blend
    #: instead, and its drawing at frame 12 was lost (robustness seed 1 scene 27)
    pin_few_regions = True
    #: a layer drawn anew at the node (not on ones) is posed only by frames that show that drawing
    drawings_as_themselves = True
    #: at most this many further passes per node
    max_passes = 2
    #: frames off its pose beyond which a layer is worth a pass: the compromise gives way to a pass for the
    #: heaviest layer, and a layer lighter than ``pass_share`` still gets a pass of its own (None: neither)
    far_off: float | None = 0.25
    #: weigh the compromise by how visible each layer's error is (the sum of its regions' squared changes),
    #: not by :meth:`_importance`: a pan's faint texture moved a character 0.4 frame for a gain nobody sees
    compromise_by_change = True
    #: Gaussian sigma (regions) of the composite's masks, and how far a mask first reaches into free regions
    mask_smoothing = 0.7
    mask_reach = 1.0
    #: a layer no mix poses gets a pass of its own when it weighs at least this share of the second largest
    pass_share = 0.3
    #: ... covers at least this many regions, and changes (per region) at least this share of the most
    pass_regions = 8
    #: ... or this many, for a layer that continues one recent nodes were built for and is drawn evenly (a
    #: character mostly hidden behind another keeps few regions: robustness seed 2 scene 34, 6 of them)
    continuing_regions = 6
    pass_contrast = 0.5
    #: without :attr:`pixel_borders`: a layer with this share of its regions inside a pass must be posed
    #: by it (else it would be torn). With them, a layer the pass misposes keeps its own pixels from the
    #: first mix, so the pass is not refused: refusing it left the compromise, which moved every layer,
    #: or, with :attr:`drawings_as_themselves`, left a character beside a new drawing a frame behind
    pass_cover = 0.1
    sizeable_share = 0.01
    #: regions of a group count only in patches of at least this many neighbours
    min_patch = 3
    context_frames = _CadenceContext()

    def __init__(self, interpolator: PairPreparer[Any], meter: RegionChangeMeter | None = None) -> None:
        super().__init__(interpolator)
        self.meter = meter or RegionChangeMeter()
        self._solutions: dict[tuple, tuple[Weights, tuple]] = {}
        self._prepared: OrderedDict[tuple[int, int, int], Any] = OrderedDict()
        self._shot = 0
        self._reset()

    # -- streaming -------------------------------------------------------------------------

    def _reset(self) -> None:
        self._frames: dict[int, SourceFrame[Any]] = {}
        #: per shot frame index, while its frame is kept: the analysis picture (pixels tell layers apart)
        self._thumbnails: dict[int, np.ndarray] = {}
        #: per shot frame index k >= 1: how much each region changed from k - 1 to k
        self._differences: dict[int, np.ndarray] = {}
        #: per shot frame index k >= 1 (pictures): structure and light change from k - 1 to k
        self._kinds: dict[int, np.ndarray | None] = {}
        #: per shot frame index k >= 1: regions with a new drawing at k
        self._events: dict[int, np.ndarray] = {}
        self._numbers = False
        self._grid: tuple[int, int] | None = None
        #: (previous drawing, next drawing) of the layers recent nodes were built for, absolute
        self._recent_layers: dict[tuple[int, int], int] = {}
        self._previous_thumbnail: np.ndarray | None = None
        self._count = 0
        self._next_decision = 0
        #: the latest frame that is a keypoint by its drawings (not a still-picture node)
        self._last_drawn_keypoint = 0
        self._min_support = 1
        self._prepared.clear()
        self._shot += 1

    def push(self, frame: SourceFrame[Any]) -> list[Node[Any]]:
        index = self._count
        self._count += 1
        self._frames[index] = frame
        thumbnail = self.meter.thumbnail(frame.image)
        self._numbers = thumbnail.ndim == 1
        if not self._numbers and self.pixel_borders:
            self._thumbnails[index] = thumbnail
        if not self._numbers:
            block = self.meter.block
            self._grid = (max(1, thumbnail.shape[0] // block), max(1, thumbnail.shape[1] // block))
        if self._previous_thumbnail is not None:
            self._differences[index], self._kinds[index] = self.meter.measure(self._previous_thumbnail, thumbnail)
            self._min_support = max(1, self._differences[index].size // 256)
        self._previous_thumbnail = thumbnail
        self._classify_until(index - self.context_after)
        return self._decide_until(index - self.lookahead - self.context_after)

    def end_shot(self) -> list[Node[Any]]:
        self._classify_until(self._count - 1)
        nodes = self._decide_until(self._count - 1)
        self._reset()
        return nodes

    def _classify_until(self, last: int) -> None:
        """Turn changes into drawings up to frame ``last``, each judged among its neighbours."""
        for index in range(max(1, max(self._events, default=0) + 1), last + 1):
            self._events[index] = self.meter.judge(index, self._differences, self._kinds, self.context_before,
                                                   self.context_after, self._numbers)

    def _decide_until(self, last: int) -> list[Node[Any]]:
        nodes: list[Node[Any]] = []
        while self._next_decision <= last:
            index = self._next_decision
            self._next_decision += 1
            if self._is_keypoint(index):
                self._last_drawn_keypoint = index
                still = False
            else:
                # A still picture: a node per frame keeps nodes close, so what a node depends on
                # stays within a bounded window (see ``context_frames``).
                still = index - self._last_drawn_keypoint > self.max_hold
            if index == self._last_drawn_keypoint or still:
                nodes.append(Node(self._frames[index].time, self._render_plan(self.plan(index))))
            self._forget_before(index + 1 - self.max_hold, index - 2 * self.max_hold - self.lookahead)
        return nodes

    def _forget_before(self, pictures: int, history: int) -> None:
        """Drop frames no mix can use any more, and change records older than any look back."""
        for old in [k for k in self._frames if k < pictures]:
            del self._frames[old]
            self._thumbnails.pop(old, None)
        index = history
        for old in [k for k in self._events if k < index]:
            del self._events[old]
        for old in [k for k in self._differences if k < index]:
            del self._differences[old]
            self._kinds.pop(old, None)

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
        restarting = ahead & long_hold
        if self._grid is not None and not self._numbers and restarting.any():
            # A region that a moving layer's edge has just entered also looks "still, then drawn";
            # its neighbours give it away (they were drawn recently). A still layer that starts
            # moving has regions with only still neighbours.
            recent = ~long_hold & (previous > 0)
            near_motion = cv2.dilate(recent.reshape(self._grid).astype(np.uint8), np.ones((3, 3), np.uint8))
            restarting &= ~near_motion.ravel().astype(bool)
        return int(restarting.sum()) >= self._min_support

    def _last_drawing(self, index: int, events: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """Per region: the latest frame <= ``index`` with a drawing (0 at the shot start)."""
        events = self._events if events is None else events
        regions = self._region_count()
        result = np.full(regions, -10**6, dtype=np.int64)
        known = min(events, default=1)
        for k in range(index, known - 1, -1):
            changed = events.get(k)
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
        """How to mix nearby frames so that every layer is at its pose for ``index`` (:meth:`plan`'s first mix)."""
        return self.plan(index).weights

    def plan(self, index: int) -> NodePlan:
        """How to make the node at ``index``: mixes of nearby frames that put every layer at its pose."""
        first = max(0, index - self.max_hold)
        last = min(self._count - 1, index + self.lookahead)
        candidates = list(range(first, last + 1))
        single = NodePlan(Weights(((index, 1.0),)))
        if not self._events:
            return single
        events, riding = self._own_events(first, last)
        drawn = np.stack([self._last_drawing(k, events) for k in candidates], axis=1)  # (regions, candidates)
        previous = drawn[:, candidates.index(index)]
        following = self._next_drawing(index, last, events)
        targets = self._targets(index, previous, following)
        moving = (drawn != drawn[:, :1]).any(axis=1) | (targets != drawn[:, 0])
        changes = [self._differences[k] for k in range(first + 1, last + 1)]
        strongest = np.max(changes, axis=0) if changes else np.zeros(self._region_count())
        if not self._numbers:
            # Weak changes (smooth shading panning slowly) neither tell a rhythm reliably nor
            # show a timing error visibly: such regions impose nothing.
            moving &= strongest >= self.meter.informative
        if not moving.any():
            return single
        # A layer is known near the node by its drawings just before and just after it; regions
        # that agree on those impose the same constraint (their older or later drawings, where
        # an edge entered or left the region, do not matter to a mix of nearby frames).
        groups: dict[tuple[int, int], list[int]] = {}
        for region in np.flatnonzero(moving):
            key = (int(previous[region]) - index, int(following[region]) - index if following[region] > 0 else 0)
            groups.setdefault(key, []).append(int(region))
        groups = {key: kept for key, regions in groups.items() if (kept := self._coherent(regions))}
        # Only sizeable groups count: small ones are mostly artefacts (a flat area that hides
        # some drawings, an occluded edge, compression noise near the threshold).
        enough = 1.0 if self._numbers else max(3 * self._min_support, self.sizeable_share * int(moving.sum()))
        # A riding part (a mouth) is small by nature: like a layer seen before, a patch of it counts,
        # if it lies on its carrier (next to the largest group): elsewhere a few regions that pass
        # for riders are edges of two layers crossing, with no rhythm of their own.
        riders = {key for key, regions in groups.items() if riding[regions].mean() > 0.5}
        if riders and self._grid is not None:
            largest = max(groups.values(), key=len)
            carrier = np.zeros(riding.size, np.uint8)
            carrier[largest] = 1
            near = cv2.dilate(carrier.reshape(self._grid), np.ones((3, 3), np.uint8)).ravel().astype(bool)
            riders = {key for key in riders if groups[key] is not largest and near[groups[key]].mean() > 0.5}
        weight = {key: self._importance(regions, strongest) for key, regions in groups.items()}
        continuing = self._continuing(index, groups)
        major = self._rank_groups(index, groups, enough, continuing | riders, weight)
        self._remember_layers(index, major)
        if not any(primary for _, _, primary in major):
            return single
        low = max(first, min(index + key[0] for key, _, _ in major))
        high = min(last, max(index + max(key[1], 0) for key, _, _ in major))
        columns = [candidates.index(k) for k in range(low, high + 1)]
        # Each group's drawing per candidate frame (the consensus is per frame): the mix's window is a slice.
        histories = [self._consensus(drawn[regions], np.array(candidates)) - index for _, regions, _ in major]
        rows = [(*(float(v) for v in history[columns]), float(np.median(targets[regions])) - index)
                for history, (_, regions, _) in zip(histories, major, strict=True)]
        keys = tuple(key for key, _, _ in major)
        # Drawn evenly by its last three drawings over all the frames the node reads: the mix's window
        # often holds two of them only (a character on twos beside a camera on ones).
        spans = [(*(float(v) for v in history), 0.0) for history in histories] if self.evenly_over_span else rows
        evenly = tuple(self._evenly_drawn(span, key) for span, (key, _, _) in zip(spans, major, strict=True))
        primary = tuple(flag for _, _, flag in major)
        importance = tuple(weight[key] for key, _, _ in major)
        visibility = tuple(self._visibility(regions, strongest) for _, regions, _ in major) \
            if self.compromise_by_change else importance
        # Only a group of some extent and contrast may get a pass of its own (a pass bends what is around
        # its regions): a few regions that agree are mostly an artefact (texture that leaves a region
        # between a pan's steps), and faint ones a light's edge that compression steps on twos.
        contrast = [weight[key] / len(regions) for key, regions, _ in major]
        # A layer seen just before on the same rhythm is one even where it shows few regions (behind another).
        enough_regions = [len(regions) >= self.pass_regions or (key in continuing and evenly[g]
                          and len(regions) >= self.continuing_regions) for g, (key, regions, _) in enumerate(major)]
        distinct = [contrast[g] >= self.pass_contrast * max(contrast) for g in range(len(major))]
        eligible = tuple(enough_regions[g] and distinct[g] for g in range(len(major)))
        # Refused a pass only for its few regions: a layer, not a light's faint edge.
        few_regions = tuple(distinct[g] and not enough_regions[g] for g in range(len(major)))
        extent = np.zeros(moving.size, np.int64)
        for _, regions, _ in major:
            extent[regions] = len(regions)
        around = touching([regions for _, regions, _ in major], extent, self._grid) if any(eligible) else None
        # Periodic content repeats the same problem: solve it once, relative to the node.
        cache_key = (low - index, high - index, tuple(rows), keys, primary, importance, eligible, around, visibility,
                     few_regions, evenly)
        relative = self._solutions.get(cache_key)
        if relative is None:
            solved, passes = self._solve(index, low, high, rows, keys, primary, importance, eligible, around,
                                         visibility, few_regions, evenly)
            relative = (self._shift(solved, -index),
                        tuple((self._shift(mix, -index), chosen) for mix, chosen in passes))
            if len(self._solutions) > 4096:
                self._solutions.clear()
            self._solutions[cache_key] = relative
        weights, passes = relative

        def poses(mix: Weights, g: int, surely: bool = False) -> bool:
            return shows_pose(mix, rows[g], low - index, keys[g] if surely else None)

        def keeps(mix: Weights, g: int) -> bool:
            # A pass keeps a layer where the first mix shows it: at its pose, and as its drawing where
            # the first mix shows a new one (a blend of the drawings around it has its pose, not its look).
            drawn = self.drawings_as_themselves and self._pinned(keys[g]) and shows_drawing(weights, rows[g],
                                                                                             low - index)
            return poses(mix, g) and (not drawn or shows_drawing(mix, rows[g], low - index))

        if passes:
            # Regions of a group the first mix leaves off its pose (a fragment of the pass's layer where
            # some of its drawings went unseen) are no claim against the pass's ring.
            for g, (_, regions, _) in enumerate(major):
                if not poses(weights, g):
                    extent[regions] = 0
        # Per pass: its regions (a second ring where it shows what is there as it is, see
        # :func:`~stsr.schedules.passes.settled`) and the groups it puts off their pose.
        groups = [regions for _, regions, _ in major]
        composited, spared, roles = [], [], []
        for mix, chosen in passes:
            reach = [None if g in chosen else shows_drawing(mix, rows[g], low - index)
                     and poses(mix, g, True) and poses(weights, g, True) for g in range(len(major))]
            own = [r for g in chosen for r in groups[g]]
            composited.append((self._shift(mix, index),
                               pass_regions(own, extent, self._grid, settled(groups, reach, extent.size, self._grid))))
            off = tuple(g for g in range(len(major)) if g not in chosen and not keeps(mix, g))
            spared.append(tuple(r for g in off for r in groups[g]))
            roles.append((tuple(g for g in chosen if not poses(weights, g)), off))
        # Per layer, the frames where it shows a new drawing against the frame before.
        rhythms = tuple(tuple(low + c for c in range(1, high - low + 1) if row[c] != row[c - 1]) for row in rows)
        return NodePlan(self._shift(weights, index), tuple(composited), tuple(int(r) for r in np.flatnonzero(moving)),
                        tuple(spared), rhythms, tuple(roles), (low, high), index if self.recent_owner else None)

    @staticmethod
    def _shift(weights: Weights, offset: int) -> Weights:
        return Weights(tuple((k + offset, w) for k, w in weights.parts))

    def _importance(self, regions: list[int], strongest: np.ndarray) -> float:
        """How much a group's timing matters: its regions, each by the square root of its largest change.

        A mistimed region shows an error as large as its change, so a faint one (a light's
        edge, ~4 levels, that compression steps on twos) must not outweigh a character's
        drawings (~60): by count alone such a group, as large as the character's, forced
        a compromise that moved the character off its poses. The square root, not the
        change itself: a textured pan would otherwise outweigh the characters over it.
        Two significant digits, so that periodic content still repeats its problem.
        """
        if self._numbers:
            return float(len(regions))
        return float(f"{float(np.sqrt(strongest[regions]).sum()):.2g}")

    def _visibility(self, regions: list[int], strongest: np.ndarray) -> float:
        """How visible a group's pose error is: the sum of its regions' squared largest change (two digits)."""
        if self._numbers:
            return float(len(regions))
        return float(f"{float(np.square(strongest[regions]).sum()):.2g}")

    def _continuing(self, index: int, groups: dict[tuple[int, int], list[int]]) -> set[tuple[int, int]]:
        """Groups that continue a layer recent nodes were built for: same drawings, or its next one.

        A layer mostly hidden behind another (a crossing) shows only a few regions, too few to
        count on their own; that it keeps the rhythm of a layer seen just before is the evidence.
        """
        # The same drawings again, or the next drawing at the same spacing.
        recent = [layer for layer, seen in self._recent_layers.items() if seen >= index - self.max_hold]
        expected = set(recent) | {(following, 2 * following - previous) for previous, following in recent}
        return {key for key in groups if key[1] > 0 and (index + key[0], index + key[1]) in expected}

    def _remember_layers(self, index: int, major: list[tuple[tuple[int, int], list[int], bool]]) -> None:
        for key, _, primary in major:
            if primary and key[1] > 0:
                self._recent_layers[(index + key[0], index + key[1])] = index
        for layer in [layer for layer, seen in self._recent_layers.items() if seen < index - self.max_hold]:
            del self._recent_layers[layer]

    def _rank_groups(self, index: int, groups: dict[tuple[int, int], list[int]], enough: float,
                     continuing: set[tuple[int, int]],
                     weight: dict[tuple[int, int], float]) -> list[tuple[tuple[int, int], list[int], bool]]:
        """Groups to satisfy, most trustworthy first, each with "primary"; small groups left out.

        Within a kind, the group that matters most (``weight``, :meth:`_importance`) comes
        first: the mix is built greedily, so a faint group ranked first would be kept and
        shut out a character's drawings.

        Primary groups are layers seen moving: a drawing before the node and one after it,
        both within ``max_hold``. The mix is built to satisfy them. The others are only
        checked (kept if the mix already satisfies them), because each has a likelier
        explanation than a layer of its own: *held* (no drawing ahead: a flat area of a
        moving layer shows no change), a *union* (where two characters meet a region
        changes on both rhythms), a *restart* after a long hold (a region an edge has just
        entered), a *shot start* as the previous drawing (nothing is known before it). When
        no layer is seen moving, the shot-start groups become primary.
        """
        large = {key: regions for key, regions in groups.items()
                 if len(regions) >= enough or (key in continuing and len(regions) >= self.min_patch)}
        moving_keys = [key for key in large if key[1] > 0]

        beside: dict[tuple[int, int], np.ndarray] = {}

        def near(key: tuple[int, int]) -> np.ndarray:
            if key not in beside:
                member = np.zeros(self._grid[0] * self._grid[1], np.uint8)  # type: ignore[index]
                member[large[key]] = 1
                beside[key] = cv2.dilate(member.reshape(self._grid), np.ones((3, 3), np.uint8)).ravel().astype(bool)
            return beside[key]

        def union_like(key: tuple[int, int]) -> bool:
            # Both layers are larger than the strip where they meet, and the strip lies where they meet:
            # a layer on ones apart from them has their union's drawings too (one drawn now, one next).
            support = len(large[key])
            others = [k for k in moving_keys if k != key and len(large[k]) >= support]
            for a, b in itertools.combinations(others, 2):
                if key != (max(a[0], b[0]), min(a[1], b[1])):
                    continue
                if self._grid is None:
                    return True
                meeting = near(a) & near(b)
                if meeting[large[key]].mean() >= 0.5:
                    return True
            return False

        def kind(key: tuple[int, int]) -> int:
            if key[1] > 0 and key[1] - key[0] > self.max_hold:
                return 4  # restarting
            if union_like(key):
                return 3
            if key[1] == 0:
                return 2  # held
            if index + key[0] == 0:
                return 1  # previous "drawing" is the shot start
            return 0

        ranked = sorted(((kind(key), -weight[key], key, regions) for key, regions in large.items()),
                        key=lambda item: item[:2])[:5]
        primary_kind = 0 if any(item[0] == 0 for item in ranked) else 1
        return [(key, regions, group_kind == primary_kind) for group_kind, _, key, regions in ranked]

    def _coherent(self, regions: list[int]) -> list[int]:
        """The regions of a group that lie in a patch of at least ``min_patch`` neighbours.

        A layer covers neighbouring regions (a character's outline is a ring of them);
        regions that only happen to agree -- a flat stretch of background missing a
        drawing here and there, noise -- are scattered.
        """
        if self._grid is None or self.min_patch <= 1:
            return regions
        rows, cols = self._grid
        mask = np.zeros(rows * cols, np.uint8)
        mask[regions] = 1
        _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.reshape(rows, cols), connectivity=8)
        large = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= self.min_patch)
        keep = np.isin(labels.ravel(), large[large > 0])
        return [region for region in regions if keep[region]]

    def _consensus(self, histories: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """The drawing a group's layer shows in each frame: per frame, the most common answer.

        Regions disagree in frames away from the node: one an edge has just entered knows
        nothing of the layer's earlier drawings (its answer is far older than ``max_hold``),
        a flat area misses some drawings, a region two layers share has extra ones. Answers
        older than ``max_hold`` are ignored while recent ones exist; ties go to the later
        drawing.
        """
        result = np.empty(histories.shape[1], dtype=np.int64)
        for column, frame in enumerate(frames):
            answers = histories[:, column]
            recent = answers[answers >= frame - self.max_hold]
            values, counts = np.unique(recent if recent.size else answers, return_counts=True)
            result[column] = values[np.flatnonzero(counts == counts.max())[-1]]
        return result

    def _own_events(self, first: int, last: int) -> tuple[dict[int, np.ndarray], np.ndarray]:
        """The drawings a mix near frames ``first..last`` must respect (a riding part's own only), and the riders.

        A mouth redrawn on threes inside a head on threes out of step also changes where the
        head moves it; counted as drawings of its own, those make a node at the mouth's
        drawing unsolvable (the head's pose needs the frame where the head has moved, which
        would count as a later mouth), and the compromise loses the mouth's drawing. Without
        them, frames where only its carrier moved show the mouth's same drawing, and the mix
        of the head's two drawings carries it along (see
        :func:`~stsr.schedules.timemaps.own_drawings`).
        """
        none = np.zeros(self._region_count(), bool)
        if self._grid is None or self._numbers:
            return self._events, none
        window = {k: v for k, v in self._events.items() if first - self.max_hold <= k <= last}
        if not window:
            return self._events, none
        own, riding = own_drawings(window, self._grid)
        return ({**self._events, **own}, riding) if riding.any() else (self._events, none)

    def _next_drawing(self, index: int, last: int, events: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """Per region: the first frame after ``index`` (up to ``last``) with a drawing, else -1."""
        events = self._events if events is None else events
        following = np.full(self._region_count(), -1, dtype=np.int64)
        for k in range(last, index, -1):
            changed = events.get(k)
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

    def _solve(self, index: int, low: int, high: int, rows: list[tuple], keys: Sequence[tuple[int, int]],
               primary: Sequence[bool], importance: Sequence[float], eligible: Sequence[bool] | None = None,
               around: Touching | None = None, visibility: Sequence[float] | None = None,
               few_regions: Sequence[bool] | None = None, evenly: Sequence[bool] | None = None
               ) -> tuple[Weights, Passes]:
        """Greedy: satisfy the primary groups in order, keeping each only if the mix still solves.

        A mix may only use frames between the earliest previous drawing and the latest next
        drawing of the groups it satisfies. Non-primary groups never change the mix. When
        a primary group that looks like a real layer cannot be satisfied with the others
        (three rhythms at once), it gets a mix of its own (:attr:`layered`, pictures: the
        node is a composite, see :mod:`~stsr.schedules.passes`); otherwise, or beyond
        :attr:`max_passes`, the least-squares compromise over them (weighted by
        ``visibility``, else ``importance``) is taken. ``evenly``: per group, whether it is drawn evenly
        (:attr:`evenly_over_span`; None: judged from ``rows``). Returns the first mix and the further passes,
        each with the groups (positions in ``rows``) it poses.
        """
        def window(chosen: Sequence[int], reach: int | None = None) -> tuple[list[int], list[tuple]]:
            start = max(low, min(index + keys[g][0] for g in chosen))
            stop = min(high, max(index + max(keys[g][1], 0) for g in chosen))
            if reach is not None:
                start, stop = max(start, index - reach), min(stop, index + reach)
            columns = list(range(start - low, stop - low + 1))
            # A layer with a new drawing at the node is shown by frames that show that drawing (see
            # ``pinned`` below).
            columns = [c for c in columns if all(rows[g][c] == rows[g][-1] for g in chosen if g in pinned)]
            return [low + c for c in columns], [(*(rows[g][c] for c in columns), rows[g][-1]) for g in chosen]

        wanted = [g for g in range(len(rows)) if primary[g]]
        visibility = importance if visibility is None else visibility
        # The two largest groups, and any not much smaller than the second, are layers that may
        # ask for a deep mix; a layer with some drawings unseen (in a flat area, where an edge
        # moved on) leaves smaller groups behind, which may only ask for an in-between.
        sizes = sorted((importance[g] for g in wanted), reverse=True)
        second = sizes[1] if len(sizes) > 1 else sizes[0] if sizes else 0.0

        def substantial(g: int) -> bool:
            return importance[g] >= 0.5 * second

        # A layer drawn anew at the node (not on ones) is posed only by frames that show that drawing:
        # a mix of its drawings before and after has the drawing's pose too, but not its picture
        # (robustness seed 2 scene 37: 0.75 of the drawing before and 0.25 of the one after stood in
        # for a drawing on 2-3, which never showed). Only a substantial layer: a few regions that
        # look drawn at the node (a light's edge, an artefact) would force a composite for nothing.
        # A smaller one too where it may have a pass of its own and its drawings are evenly spaced (a
        # layer on its own rhythm, not a fragment): under the shaking camera a character on twos kept
        # 0.4 of the other's weight at the camera's turn, and its drawing there never showed. Also one
        # refused a pass only for its few regions (its contrast is a layer's), drawn evenly.
        # Pictures only, and only where passes can pose the layers the pin leaves off (numbers are
        # their poses: a blend of them is no other picture).
        pinning = self.drawings_as_themselves and self.layered and self._grid is not None and not self._numbers

        def steady(g: int) -> bool:
            return evenly[g] if evenly is not None else self._evenly_drawn(rows[g], keys[g])

        pinned = {g for g in wanted if pinning and self._pinned(keys[g])
                  and (substantial(g) or (self.pin_eligible and eligible is not None and (eligible[g] or (
                      self.pin_few_regions and few_regions is not None and few_regions[g])) and steady(g)))}

        def greedy(order: Sequence[int]) -> tuple[list[int], Weights]:
            best = Weights(((index, 1.0),))
            accepted: list[int] = []
            for position in order:
                trial = [*accepted, position]
                # Any layer may ask for an in-between of two near frames; only a substantial one for more.
                if substantial(position):
                    solution = exact_mix(index, *window(trial), self.max_mix)
                else:
                    solution = exact_mix(index, *window(trial, reach=2), max(2, best.frames))
                if solution is not None:
                    accepted, best = trial, solution
            return accepted, best

        # A group that missed a pinned layer's new drawing (its previous drawing is older, its next the
        # same) and whose pass would lie mostly over that layer is a fragment of it, where the drawing
        # went unseen: shown with the layer's drawing, not given an in-between of its own (a character
        # beside a glow: 8 of its regions blended the drawings around at every drawing, 0.00 -> 0.03).
        fragments = {g for g in wanted if around is not None and keys[g][0] < 0 and any(
            other in pinned and share >= 0.5 and keys[other][1] == keys[g][1] for other, share in around[g])}

        def far(mix: Weights, g: int) -> bool:
            # ``mix`` leaves the layer more than ``far_off`` frames off its pose.
            return self.far_off is not None and pose_error(mix, rows[g], low) > self.far_off

        compromises: dict[tuple[int, ...], Weights] = {}

        def compromise(accepted: list[int], missed: list[int]) -> Weights:
            # Solved once per set of groups: the reorder below asks for the one the end may take.
            chosen = (*accepted, *missed)
            if chosen not in compromises:
                candidates, restricted = window(list(chosen))
                compromises[chosen] = compromise_mix(index, candidates, restricted, [visibility[g] for g in chosen],
                                                     self.max_mix)
            return compromises[chosen]

        def layer(accepted: list[int], first: Weights) -> tuple[Passes, list[int]]:
            missed = [g for g in wanted if g not in accepted and substantial(g) and g not in fragments]
            passes: Passes = ()
            if self.layered and self._grid is not None and not self._numbers:
                # A layer lighter than ``pass_share`` of the second still gets a pass where the first mix
                # leaves it more than ``far_off`` frames off its pose, if it keeps a rhythm of its own
                # (robustness seed 2 scene 30: a character on twos going behind two others kept 10
                # regions, weight 86 against 300, and was shown a whole frame behind at its drawing).
                # Not a fragment that missed some of its layer's drawings (uneven, or one long hold): a
                # pass of its own would blend the drawings around (a character over a fast pan, a glow's
                # edge: 0.00 -> 0.01). Only where the passes have room for it: else the layers heavy
                # enough go as before (robustness seed 2 scene 12, clean: a light layer made three passes
                # of one, and none was left for a character on 2-3, 0.28 -> 0.42).
                free = [g for g in wanted
                        if g not in accepted and (eligible is None or eligible[g]) and g not in fragments]
                unposed = [g for g in free if importance[g] >= self.pass_share * second]
                light = [g for g in free if g not in unposed and steady(g) and far(first, g)]
                main = [g for g in unposed if substantial(g)]
                # More layers than passes: the substantial ones get theirs, the small ones (where a few
                # of a layer's drawings went unseen) go without, as they would beside a mix that poses
                # the rest. Without this, a node beside a new drawing fell back to the compromise
                # (robustness scene 23 at frame 11: a character on fours 0.5 frame behind).
                attempts = [[*unposed, *light]] if light else []
                attempts += [unposed] + ([main] if pinned and main and len(main) < len(unposed) else [])
                cover = None if self.pixel_borders else self.pass_cover
                planned = None
                for chosen in attempts:
                    planned = plan_passes(index, chosen, wanted, window, around, self.max_mix, self.max_passes,
                                          cover) if chosen else None
                    if planned is not None:
                        break
                passes = planned or ()
                posed = {g for _, chosen in passes for g in chosen}
                missed = [g for g in missed if g not in posed]
            return passes, missed

        # Layers with a new drawing at the node go first: the first mix shows real frames and the passes
        # in-betweens; the other way round, a layer's in-between took the first mix and the drawing's
        # pass, a frame at the node, tore the in-between's layer around it.
        accepted, best = greedy([g for g in wanted if g in pinned] + [g for g in wanted if g not in pinned])
        passes, missed = layer(accepted, best)

        def in_pass(g: int, planned: Passes) -> bool:
            return any(g in chosen for _, chosen in planned)

        # A light layer refused a pass only for its few regions (a character going behind another) that the
        # first mix leaves far off its pose, though it keeps a rhythm (evenly drawn, or on ones), is no less
        # unposed for being light: the retry below may pose it (robustness seed 1 scene 35: a character on
        # ones behind one on threes, lighter than a slow pan's faint texture, was left 0.67 frame ahead).
        stranded = [g for g in wanted if self.stranded_retry and few_regions is not None and few_regions[g]
                    and g not in accepted and g not in missed and (steady(g) or keys[g] == (0, 1))
                    and far(best, g) and not in_pass(g, passes)]
        if (missed or stranded) and eligible is not None and not all(eligible[g] for g in [*missed, *stranded]):
            # A layer that may not have a pass (a pan's faint texture) is posed by the first mix or
            # not at all: where the order by weight left one off, let those go first, as long as
            # the first mix still poses the heaviest layer and one pass poses the rest (a pass for
            # the heaviest, or two rings over it, where the compromise moves it little, show more
            # of the composite's seams than the faint layer gains). Unless the compromise leaves a layer
            # more than ``far_off`` frames off its pose: robustness seed 1 scene 35, a character on
            # ones going behind one on threes had too few regions for a pass of its own, and the mix
            # that posed the other (and a slow pan's faint texture) left it 0.65 frame behind.
            # Only a layer drawn evenly (or on ones) goes first: a fragment with one long hold, posed first,
            # sent a small character that may have a pass to one (robustness seed 2 scene 4, in view 0.04 -> 0.19).
            first_goers = [g for g in wanted if not eligible[g] and (steady(g) or keys[g][1] == 1)]
            order = first_goers + [g for g in wanted if g not in first_goers]
            reordered = greedy(order)
            retry = layer(*reordered)
            still = [g for g in stranded if g not in reordered[0] and not in_pass(g, retry[0])]
            if len(retry[0]) <= 1 and len(retry[1]) + len(still) < len(missed) + len(stranded) and (
                    wanted[0] in reordered[0] or (stranded and all(len(chosen) == 1 for _, chosen in retry[0]))
                    or any(far(compromise(accepted, missed), g) for g in missed)):
                (accepted, best), (passes, missed) = reordered, retry
        if missed:
            best = compromise(accepted, missed)
        return best, passes

    def _evenly_drawn(self, row: Sequence[float], key: tuple[int, int]) -> bool:
        """The layer's last three drawings up to its next one are evenly spaced (or, with
        :attr:`two_three_even`, two and three frames apart): a layer on its own rhythm, not a fragment of
        one whose drawings went partly unseen (uneven)."""
        drawings = sorted({int(v) for v in row[:-1] if v <= key[1]})[-3:]
        if key[1] <= 0 or len(drawings) != 3:
            return False
        gaps = sorted((drawings[1] - drawings[0], drawings[2] - drawings[1]))
        return gaps[0] == gaps[1] or (self.two_three_even and gaps == [2, 3])

    @staticmethod
    def _pinned(key: tuple[int, int]) -> bool:
        """Whether a group (by its drawings before and after the node) has a new drawing at the node, not on ones."""
        return key[0] == 0 and key[1] != 1

    # -- pictures ---------------------------------------------------------------------------

    def _render_plan(self, plan: NodePlan) -> Any:
        """The node's picture: its mix, or the composite of its passes by their layers' smoothed regions."""
        picture = self._render(plan.weights)
        if not plan.passes or self._grid is None:
            return picture
        shares = composite_masks(plan, self._region_count(), self._grid, self.mask_reach, self.mask_smoothing)
        like = self._frames[plan.weights.parts[0][0]].image  # a source frame: its size
        if self.pixel_borders and plan.roles and self._thumbnails:
            thumbnail = next(iter(self._thumbnails.values()))
            small = [grid_to_picture(share, self._grid, thumbnail) for share in shares]
            first, last = plan.window
            changes = pixel_changes(self._thumbnails, range(first + 1, last + 1))
            small = refine_shares(small, changes, plan.rhythms, plan.roles, plan.at)
            masks = [picture_like(share, like) for share in small]
        else:
            masks = [grid_to_picture(share, self._grid, like) for share in shares]
        return composite([picture, *(self._render(mix) for mix, _ in plan.passes)], masks)

    def _render(self, weights: Weights) -> Any:
        """Turn weights into a picture with a chain of pairwise interpolations (nearest first)."""
        # Times relative to the first frame: the same rounding wherever the shot started.
        origin = min(k for k, _ in weights.parts)
        items: list[tuple[float, float, Any, int | None]] = [
            (float(k - origin), w, self._frames[k].image, k) for k, w in sorted(weights.parts)
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



__all__ = ["CadenceNodes", "NodePlan", "RegionChangeMeter", "Weights"]
