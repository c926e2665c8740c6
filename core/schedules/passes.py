"""Passes: where no mix of whole frames poses every layer, a mix per layer, composited by regions.

Three rhythms at once (two characters on twos out of step under a camera shaking on
ones) ask a mix of frames for poses no mix gives: the least-squares compromise moves
every layer off its pose and loses drawings. Instead, :class:`~stsr.schedules.cadence.CadenceNodes`
poses what it can with one mix and gives each layer it misses a *pass*: an exact mix of
its own, shown through the layer's regions and the ring around them (:func:`pass_regions`).
A pass also poses the layers it covers, where one mix can (:func:`plan_passes`); the
composite's masks come from :func:`composite_masks`.

Pure numpy over the region grid (``grid``: rows, columns; regions are flat indices);
groups are the schedule's groups of regions, by their position in its ranked list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .mixer import Weights, exact_mix
from .timemaps import group_shares

#: further mixes of a node, each with the groups (or regions) whose layers it poses
Passes = tuple[tuple[Weights, tuple[int, ...]], ...]
#: per group: the other groups with regions inside its pass, and the share of their regions there
Touching = tuple[tuple[tuple[int, float], ...], ...]


@dataclass(frozen=True)
class NodePlan:
    """How a node is made: one mix of frames, or, where no mix poses every layer, one per layer, composited.

    ``passes``: the further mixes, each with the regions of the layers it poses (the
    first mix, ``weights``, poses the rest); ``moving``: the regions that constrain the
    node, over which the composite's masks spread; ``spared``: per pass, the regions of the
    groups it puts off their pose, which its mask may not spread onto (:func:`composite_masks`);
    ``rhythms``: per layer (group), the frames (absolute) at which it gets a new drawing within
    ``window`` (the first and last frame the node's mixes may use); ``roles``: per pass, the layers
    it poses where the first mix does not and those it puts off their pose. Their pixels, told
    apart by when they change, draw the border (:func:`~stsr.schedules.ownership.refine_shares`).
    """

    weights: Weights
    passes: Passes = ()
    moving: tuple[int, ...] = ()
    spared: tuple[tuple[int, ...], ...] = ()
    rhythms: tuple[tuple[int, ...], ...] = ()
    roles: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = ()
    window: tuple[int, int] = (0, 0)
    #: the node's frame (absolute)
    at: int | None = None


#: a pass's ring takes the regions of a group more than this many times as large as its own (a background),
#: not those of a character about its size: their outlines share those regions, and the pass showed the
#: neighbour 10-30 % from its render (robustness seed 1 scene 23, two characters on fours out of step).
#: Three, not two: a character drawn at the node 2.8 times the pass's size lost that drawing to the ring
#: (held-out seed 2 scenes 12 and 27); four kept one more but put a third character 0.16 off in view (2:30)
RING_OVER = 3


def pass_regions(own: Sequence[int], extent: np.ndarray, grid: tuple[int, int] | None,
                 settled: np.ndarray | None = None) -> tuple[int, ...]:
    """A pass's regions: its layers' own, the ring around them that no smaller layer needs, and beyond
    that ring the ``settled`` regions (see :func:`settled`) of a second one.

    ``extent``: per region, the size (in regions) of the group it belongs to, 0 where it
    belongs to none (or to one that does not claim it). A region holds one layer's time, and
    where a layer's outline meets a layer on another rhythm the region changes with both, so
    it went to the other group: the pass's own regions are mostly its inside. The ring around
    them is its outline; it goes to the pass unless a layer not much larger (:data:`RING_OVER`)
    claims it (a background's pass must not take a character's edge, nor one character's pass its
    neighbour's). Free regions in it still follow the majority around them in the composite (see
    :func:`~stsr.schedules.timemaps.group_shares`).

    The second ring: a layer's edge moves across the regions around it, and in those that also
    hold a layer changing on every frame (its edge over a pan) the pan's group claims them. With one
    ring the composite's smoothed border ran through the edge, which showed 5-10 % of its old pose
    (robustness scene 23: a character on fours 0.2-0.3 frames late at its drawings). Where the
    pass shows what is there as it is, it takes them too.
    """
    if grid is None:
        return tuple(own)
    member = np.zeros(extent.size, np.uint8)
    member[list(own)] = 1
    near = cv2.dilate(member.reshape(grid), np.ones((3, 3), np.uint8)).ravel().astype(bool)
    ring = near & ((extent == 0) | (extent > RING_OVER * len(own)))
    if settled is not None:
        ring |= cv2.dilate(member.reshape(grid), np.ones((5, 5), np.uint8)).ravel().astype(bool) & ~near & settled
    return tuple(int(r) for r in np.flatnonzero(ring | member.astype(bool)))


def shows_pose(mix: Weights, row: Sequence[float], start: int, key: tuple[int, int] | None = None) -> bool:
    """Whether ``mix`` (frames relative to the node) puts a group's layer at its pose.

    ``row``: the drawing (relative) each frame from ``start`` on shows, then the target. With
    the group's ``key`` (its drawings before and after the node), a held layer counts as posed
    only by frames between them: before its last drawing its regions may show another layer's
    (two characters crossing: robustness scene 23 took a pass that put a character 1.5 frames
    back for one that posed it). A layer on ones is seen drawn in every frame.
    """
    if key is not None:
        first, following = key[0], max(key[1], 0)
        if following - first != 1 and not all(first <= k <= following for k, _ in mix.parts):
            return False
    return pose_error(mix, row, start) <= 1e-6


def pose_error(mix: Weights, row: Sequence[float], start: int) -> float:
    """How far (frames) ``mix`` puts a group's layer from its pose (``row`` as for :func:`shows_pose`)."""
    return abs(sum(w * row[k - start] for k, w in mix.parts) - row[-1])


def shows_drawing(mix: Weights, row: Sequence[float], start: int) -> bool:
    """Whether every frame of ``mix`` shows the drawing a group's layer has at its pose: the picture is that drawing.

    Any other mix that poses it shows an in-between, as good as the interpolator and the
    assumption that the layer moves straight between its drawings (a shaking camera does not).
    """
    return all(row[k - start] == row[-1] for k, _ in mix.parts)


def settled(groups: Sequence[Sequence[int]], both: Sequence[bool | None], regions: int,
            grid: tuple[int, int] | None) -> np.ndarray:
    """Regions a pass may take at no loss: of the groups it shows as they are, not next to a group it misses.

    ``both[g]``: True where the pass shows group ``g``'s own drawing (:func:`shows_drawing`) and
    the first mix poses it too, False otherwise, None for the pass's own groups. There the
    pass's layer may reach into them (a pan the pass shows as a source frame shows, where the
    first mix has an in-between of it); next to a group the pass does not, a region may hold
    that layer's edge as well. Not where the pass shows only an in-between: the first mix's
    original frame of a shaking camera is right where the pass's in-between is not (gmfss_union
    on the shaking camera lost 0.6 dB when passes reached into every region they posed).
    ``regions``: how many regions the grid has.
    """
    shared = np.zeros(regions, bool)
    other = np.zeros(regions, np.uint8)
    for members, agrees in zip(groups, both, strict=True):
        if agrees:
            shared[list(members)] = True
        elif agrees is not None:
            other[list(members)] = 1
    if grid is not None:
        other = cv2.dilate(other.reshape(grid), np.ones((3, 3), np.uint8)).ravel()
    return shared & ~other.astype(bool)


def touching(groups: Sequence[Sequence[int]], extent: np.ndarray, grid: tuple[int, int] | None) -> Touching:
    """Per group: the others with regions inside its pass and the share of their regions there.

    The largest share first (a character beside it before the background all around);
    shares to two significant digits, so periodic content repeats its problem.
    """
    result = []
    for own, regions in enumerate(groups):
        inside = np.zeros(extent.size, bool)
        inside[list(pass_regions(regions, extent, grid))] = True
        shares = [(other, float(f"{inside[list(others)].mean():.2g}")) for other, others in enumerate(groups)
                  if other != own and inside[list(others)].any()]
        result.append(tuple(sorted(shares, key=lambda item: -item[1])))
    return tuple(result)


def plan_passes(index: int, missed: Sequence[int], wanted: Sequence[int],
                window: Callable[[list[int]], tuple[list[int], list[tuple]]], around: Touching | None,
                max_mix: int, max_passes: int, cover: float | None) -> Passes | None:
    """A mix for each missed group that also poses the layers its pass shows, or None.

    ``window(groups)``: the candidate frames and rows of those groups (see the mixer). A
    pass shows through its layer's regions and the ring around them, where the layers next
    to it (``around``) show the pass's poses: each pass also takes those it can, the most
    covered first. A layer with ``cover`` of its regions inside the pass that it cannot
    pose would be torn between two poses: then there are no passes (the caller's compromise
    moves the layers instead; ``cover`` None: never). None too when more than ``max_passes`` are needed. Two
    layers that ask for the same mix share one pass (one render).
    """
    passes: list[tuple[Weights, tuple[int, ...]]] = []
    left = list(missed)
    while left:
        if len(passes) == max_passes:
            return None
        chosen = [left[0]]
        mix = exact_mix(index, *window(chosen), max_mix)
        if mix is None:
            return None
        near = [(g, share) for g, share in (around[left[0]] if around is not None else ()) if g in wanted]
        for other, _ in near:
            trial = exact_mix(index, *window([*chosen, other]), max_mix)
            if trial is not None:
                chosen, mix = [*chosen, other], trial
        if cover is not None and any(share >= cover and g not in chosen for g, share in near):
            return None
        posed = tuple(g for g in chosen if g in left)
        same = [position for position, (other, _) in enumerate(passes) if _same_mix(other, mix)]
        if same:
            passes[same[0]] = (mix, passes[same[0]][1] + posed)
        else:
            passes.append((mix, posed))
        left = [g for g in left if g not in posed]
    return tuple(passes)


def _same_mix(first: Weights, second: Weights) -> bool:
    """The same frames with the same weights, up to rounding (two solves of one mix differ in the last bits)."""
    return len(first.parts) == len(second.parts) and all(
        a == b and abs(u - v) <= 1e-9 for (a, u), (b, v) in zip(first.parts, second.parts, strict=True))


def composite_masks(plan: NodePlan, regions: int, grid: tuple[int, int] | None, reach: float,
                    sigma: float) -> list[np.ndarray]:
    """Per region, the share of the first mix and of each pass (summing to 1), smoothed.

    Smoothing spreads a pass beyond its regions; onto a layer the pass puts off its pose
    (``plan.spared``) that spread is a tear. Robustness scene 29 (twos, threes and a pan, the
    characters touching): the pass for the character on twos showed a quarter of the outline of
    the one on threes 2 frames back. There a pass keeps to its own regions.
    """
    moving = np.zeros(regions, bool)
    moving[list(plan.moving)] = True
    members = []
    rest = moving.copy()
    for _, own in plan.passes:
        member = np.zeros(regions, bool)
        member[list(own)] = True
        rest &= ~member
        members.append(member)
    shares = group_shares([rest, *members], moving, grid, reach, sigma)
    for share, member, spared in zip(shares[1:], members, plan.spared or [()] * len(members), strict=True):
        off = np.zeros(regions, bool)
        off[list(spared)] = True
        share[off & ~member] = 0.0
    total = np.sum(shares, axis=0)
    shares[0] = np.where(total > 1e-6, shares[0], 1.0)  # nothing left: the first mix
    total = np.sum(shares, axis=0)
    return [share / total for share in shares]


__all__ = [
    "NodePlan", "Passes", "Touching", "composite_masks", "pass_regions", "plan_passes", "pose_error", "settled",
    "shows_drawing", "shows_pose", "touching",
]
