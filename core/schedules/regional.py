"""``regional``: every region of the picture on its own drawings' time, through per-pixel time maps.

Why: a mix of whole frames (``cadence``) cannot put three layers on three rhythms on their
poses at once, and loses drawings there (a camera shaking on ones under two characters on
twos out of step); a pair midpoint (``pairs``) merges drawings on threes and shifts ones.
A time map renders each pixel at its own ``t`` in one pass, so each region can follow its
own drawings.

How (the arithmetic is in :mod:`~stsr.schedules.timemaps`, on numbers): the change meter
of :mod:`~stsr.schedules.change` says, per region of a grid, on which frames drawings
were made. An output at ``tau`` (in source frames) is rendered from ``A``, the latest
keypoint at or before ``tau`` (a frame where some region gets a drawing), which shows
every region at its latest drawing ``p_r``; and from a frame ``B`` that shows every
region at its next drawing ``n_r``, with the map ``(tau - p_r) / (n_r - p_r)``. At a
drawing's own time its regions have ``t = 0``: the drawing itself, never lost. Content
on ones gets ``B = A + 1`` and ``t = 0`` at its frames: the original frames. When no
single ``B`` shows every region at its next drawing, the fewest groups that each share
one are rendered one pass each and composited by smoothed group masks. All outputs
between two keypoints reuse the same prepared pairs. Regions with no drawing near
(still, or flat inside a moving layer) take their neighbours' time, so maps are smooth
where regions meet; a cut ends the shot (never interpolated across).

Needs a backend with ``supports_time_maps``; others are refused in one line (use
``cadence`` or ``pairs`` with them).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import InputError
from .base import Context, OutputFrame, OutputSchedule, PairPreparer, SourceFrame
from .change import RegionChangeMeter
from .composite import composite, grid_to_picture
from .timemaps import (
    Group,
    Rhythm,
    choose_groups,
    fill_free,
    group_shares,
    neighbourhood,
    pass_times,
    region_times,
    rhythm_at,
    smooth_grid,
)


class _RegionalContext:
    """``RegionalFrames.context_frames`` from the settings it depends on (class or instance)."""

    def __get__(self, instance: object, owner: type) -> Context:
        s = owner if instance is None else instance
        # An output at frame n reads drawings back to n - 2 * max_hold + 1 (its keypoint is at most
        # max_hold back, that keypoint's previous drawing max_hold - 1 more); each is judged among
        # context_before earlier changes, and a run's first frame has none.
        before = 2 * s.max_hold + s.context_before + 1  # type: ignore[attr-defined]
        return Context(before, s.lookahead + s.context_after)  # type: ignore[attr-defined]


class RegionalFrames(OutputSchedule[Any]):
    """Output frames with every region on its own drawings' time (see the module docstring).

    ``lookahead``: frames read ahead of an output's frame for the next drawings (a hold up
    to ``max_hold`` and a restart ramp must fit). A gap longer than ``max_hold`` between a
    region's drawings is a still layer that starts moving: it holds, then covers the gap
    in its last ``restart`` frames. Groups under ``min_group`` regions (an edge, noise) do
    not get a pass of their own: they ride along with the largest group, as close to their
    time as its partner frame allows.
    """

    lookahead = 10
    max_hold = 6
    restart = 2
    context_before = 4
    context_after = 2
    #: in regions: 8 regions of 6x6 analysis pixels (288 px, about the 3 regions of 8x8 before); fewer
    #: groups get a pass of their own (oracle: threes 1.74 -> 1.18 passes per output frame, same SI)
    min_group = 8
    #: Gaussian sigma (in regions) of maps and group masks
    smoothing = 0.7
    #: how far (sigma, regions) a group mask reaches into free regions at first (the nearest layer)
    mask_reach = 1.0
    context_frames = _RegionalContext()
    #: region size (analysis pixels, at most 144 rows): smaller than the change meter's 8 because a
    #: region holds one time, and where two layers on different rhythms share one, one of them is
    #: off; 6 halves the mixed area of 8 on the hard scenes (mouth in a moving head: oracle SI 0.42 ->
    #: 0.20, no drawing lost), while 4 lets single-region noise split layers (fours: 0.05 -> 0.11)
    block = 6

    def __init__(self, interpolator: PairPreparer[Any], rate: Fraction, start: Fraction, first_index: int = 0,
                 meter: RegionChangeMeter | None = None) -> None:
        if not getattr(interpolator, "supports_time_maps", False):
            name = getattr(interpolator, "name", type(interpolator).__name__)
            raise InputError(f"the regional schedule needs per-pixel time maps, which backend {name!r} does not take;"
                             " use --schedule cadence or pairs with it")
        super().__init__(interpolator, rate, start, first_index)
        self.meter = meter or RegionChangeMeter(block=self.block)
        self._shot = 0
        self._reset()

    # -- streaming ---------------------------------------------------------------------------

    def _reset(self) -> None:
        self._frames: dict[int, SourceFrame[Any]] = {}
        self._differences: dict[int, np.ndarray] = {}
        #: per shot frame index k >= 1 (pictures): structure and light change from k - 1 to k
        self._kinds: dict[int, np.ndarray | None] = {}
        self._events: dict[int, np.ndarray] = {}
        self._previous_thumbnail: np.ndarray | None = None
        self._grid: tuple[int, int] | None = None
        self._count = 0
        self._classified = -1
        self._cursor = 0
        self._min_support = 1
        self._prepared: dict[tuple[int, int, int], Any] = {}
        self._shot += 1

    def push(self, frame: SourceFrame[Any]) -> list[OutputFrame[Any]]:
        index = self._count
        self._count += 1
        self._frames[index] = frame
        thumbnail = self.meter.thumbnail(frame.image)
        if thumbnail.ndim > 1:
            block = self.meter.block
            self._grid = (max(1, thumbnail.shape[0] // block), max(1, thumbnail.shape[1] // block))
        if self._previous_thumbnail is None:
            # The shot's first frame is a drawing of every region.
            self._events[0] = np.ones(self.meter.difference(thumbnail, thumbnail).size, bool)
            self._classified = 0
        else:
            self._differences[index], self._kinds[index] = self.meter.measure(self._previous_thumbnail, thumbnail)
            self._min_support = max(1, self._differences[index].size // 256)
        self._previous_thumbnail = thumbnail
        self._classify_until(index - self.context_after)
        return self._emit(final=False)

    def end_shot(self, next_shot_start: Fraction) -> list[OutputFrame[Any]]:
        if not self._frames:
            return []
        self._classify_until(self._count - 1)
        outputs = self._emit(final=True)
        last = self._frames[self._count - 1]
        while self.time_of(self.next_index) < next_shot_start:
            outputs.append(OutputFrame(self.next_index, self.time_of(self.next_index), last.image, "held"))
            self.next_index += 1
        self._reset()
        return outputs

    def _classify_until(self, last: int) -> None:
        """Turn changes into drawings up to frame ``last``, each judged among its neighbours."""
        numbers = self._grid is None
        for index in range(max(1, self._classified + 1), last + 1):
            self._events[index] = self.meter.judge(index, self._differences, self._kinds, self.context_before,
                                                   self.context_after, numbers)
            self._classified = index

    # -- which outputs are ready, and from which keypoint --------------------------------------

    def _emit(self, final: bool) -> list[OutputFrame[Any]]:
        outputs: list[OutputFrame[Any]] = []
        first_time = self._frames[min(self._frames)].time if self._cursor == 0 else None
        batch: list[tuple[int, Fraction, int]] = []
        while True:
            time = self.time_of(self.next_index)
            if first_time is not None and time < first_time:
                outputs.append(OutputFrame(self.next_index, time, self._frames[0].image, "held"))
                self.next_index += 1
                continue
            while self._cursor + 1 < self._count and self._frames[self._cursor + 1].time <= time:
                self._cursor += 1
            n = self._cursor
            if n + 1 >= self._count or (not final and n + self.lookahead > self._classified):
                break
            start, stop = self._frames[n].time, self._frames[n + 1].time
            batch.append((self.next_index, n + (time - start) / (stop - start), n))
            self.next_index += 1
        outputs += self._render(batch)
        self._forget_before(self._cursor)
        return outputs

    def _forget_before(self, cursor: int) -> None:
        for old in [k for k in self._frames if k < cursor - self.max_hold - 1]:
            del self._frames[old]
        history = cursor - 2 * self.max_hold - 2
        for records in (self._events, self._differences, self._kinds):
            for old in [k for k in records if k < history]:
                del records[old]

    def anchor_of(self, n: int) -> int:
        """The keypoint outputs in ``[n, n + 1)`` come from: the latest drawing within ``max_hold``, else ``n``.

        A longer still stretch makes every frame its own keypoint, which keeps what an
        output depends on within a bounded window (``context_frames``).
        """
        for k in range(n, max(-1, n - self.max_hold - 1), -1):
            drawn = self._events.get(k)
            if k == 0 or (drawn is not None and int(drawn.sum()) >= self._min_support):
                return k
        return n

    # -- pictures --------------------------------------------------------------------------------

    def _render(self, batch: list[tuple[int, Fraction, int]]) -> list[OutputFrame[Any]]:
        outputs: list[OutputFrame[Any]] = []
        position = 0
        while position < len(batch):
            anchor = self.anchor_of(batch[position][2])
            same = position
            while same < len(batch) and self.anchor_of(batch[same][2]) == anchor:
                same += 1
            outputs += self._render_from(anchor, batch[position:same])
            position = same
        return outputs

    def next_keypoint(self, anchor: int) -> int:
        """The first keypoint after ``anchor`` (see :meth:`anchor_of`)."""
        for k in range(anchor + 1, anchor + self.max_hold + 1):
            drawn = self._events.get(k)
            if drawn is not None and int(drawn.sum()) >= self._min_support:
                return k
        return anchor + self.max_hold + 1

    def plan(self, anchor: int) -> tuple[Rhythm, list[Group]]:
        """The rhythm around ``anchor`` and the groups of moving regions (one pass each)."""
        horizon = min(anchor + self.lookahead, self._classified)
        rhythm = rhythm_at(anchor, self.next_keypoint(anchor), self._events, horizon, self.max_hold, self.restart,
                           self._grid)
        groups = choose_groups(rhythm, horizon)
        if len(groups) > 1:
            minimum = 1 if self._grid is None else self.min_group
            kept = [g for g in groups if g.regions.size >= minimum] or [max(groups, key=lambda g: g.regions.size)]
            if len(kept) < len(groups):
                largest = max(range(len(kept)), key=lambda i: kept[i].regions.size)
                riders = [g.regions for g in groups if g.regions.size < minimum]
                kept[largest] = Group(kept[largest].partner, np.concatenate([kept[largest].regions, *riders]))
            groups = kept
        return rhythm, groups

    def _render_from(self, anchor: int, batch: Sequence[tuple[int, Fraction, int]]) -> list[OutputFrame[Any]]:
        rhythm, groups = self.plan(anchor)
        source = self._frames[anchor].image
        if not groups:
            # Nothing moves before the next keypoint: the keypoint's frame is the picture.
            return [OutputFrame(j, self.time_of(j), source, "node") for j, _, _ in batch]
        masks = self._group_masks(groups, rhythm.active, source)
        timesteps: list[list[Any]] = [[] for _ in groups]
        still: list[bool] = []
        for _, tau, _ in batch:
            times = region_times(float(tau), rhythm)
            per_pass = [pass_times(rhythm, group.partner, times) for group in groups]
            # Every region that differs between A and B at time 0: the picture is A itself.
            still.append(all(not values[matters].any() for values, matters in per_pass))
            for g, (values, matters) in enumerate(per_pass):
                timesteps[g].append(self._time_map(values, matters, rhythm.riding, source))
        rendered: list[list[Any]] = []
        for g, group in enumerate(groups):
            wanted = [t for t, is_still in zip(timesteps[g], still, strict=True) if not is_still]
            images = iter(self._pair(anchor, group.partner).frames_at(wanted) if wanted else [])
            rendered.append([source if is_still else next(images) for is_still in still])
        outputs = []
        for position, (j, _, _) in enumerate(batch):
            if still[position]:
                outputs.append(OutputFrame(j, self.time_of(j), source, "node"))
                continue
            image = composite([rendered[g][position] for g in range(len(groups))], masks)
            outputs.append(OutputFrame(j, self.time_of(j), image, "interpolated"))
        return outputs

    def _time_map(self, values: np.ndarray, matters: np.ndarray, riding: np.ndarray, like: Any) -> Any:
        """A scalar when every region that matters has the same time (exactly the scalar pass), else a map.

        Free regions take their neighbours' time, but not a riding part's: a flat face
        takes the head's time, not the mouth's.
        """
        if not matters.any():
            return Fraction(0)
        if self._grid is None:
            return grid_to_picture(values, None, like) if values.size > 1 else Fraction(float(values[0]))
        carriers = matters & ~riding
        filled = fill_free(values, carriers if carriers.any() else matters, self._grid)
        riders = matters & riding
        # A riding part is small: its time also covers the free regions around it, unsmoothed, or
        # the smoothing and the bilinear map would give most of its pixels its carrier's time.
        zone = neighbourhood(riders, self._grid) & ~carriers
        if zone.any():
            filled[zone] = fill_free(values, riders, self._grid)[zone]
        filled[matters] = values[matters]
        sharp = filled.copy()
        filled = smooth_grid(filled, self._grid, self.smoothing)
        filled[zone] = sharp[zone]
        if float(filled.max() - filled.min()) < 1e-6:
            return Fraction(float(values[matters][0])).limit_denominator(1 << 20)
        return grid_to_picture(np.clip(filled, 0.0, 1.0), self._grid, like)

    def _group_masks(self, groups: list[Group], moving: np.ndarray, like: Any) -> list[Any]:
        """Smoothed masks of the groups, summing to 1; still regions go with their nearest group."""
        if len(groups) == 1:
            return [None]
        members = []
        for group in groups:
            member = np.zeros(moving.size, bool)
            member[group.regions] = True
            members.append(member)
        shares = group_shares(members, moving, self._grid, self.mask_reach, self.smoothing)
        return [grid_to_picture(share, self._grid, like) for share in shares]

    def _pair(self, anchor: int, partner: int) -> Any:
        """``prepare(A, B)`` once per keypoint and partner: every output until the next keypoint reuses it."""
        key = (self._shot, anchor, partner)
        prepared = self._prepared.get(key)
        if prepared is None:
            for old in [k for k in self._prepared if k[1] != anchor]:
                del self._prepared[old]
            prepared = self.interpolator.prepare(self._frames[anchor].image, self._frames[partner].image)
            self._prepared[key] = prepared
        return prepared


__all__ = ["RegionalFrames"]
