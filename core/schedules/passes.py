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
    node, over which the composite's masks spread.
    """

    weights: Weights
    passes: Passes = ()
    moving: tuple[int, ...] = ()


def pass_regions(own: Sequence[int], extent: np.ndarray, grid: tuple[int, int] | None) -> tuple[int, ...]:
    """A pass's regions: its layers' own, and the ring around them that no smaller layer needs.

    ``extent``: per region, the size (in regions) of the group it belongs to, 0 where it
    belongs to none (or to one that does not claim it). A region holds one layer's time, and
    where a layer's outline meets a layer on another rhythm the region changes with both, so
    it went to the other group: the pass's own regions are mostly its inside. The ring around
    them is its outline; it goes to the pass unless a smaller layer claims it (a background's
    pass must not take a character's edge). Free regions in it still follow the majority
    around them in the composite (see :func:`~stsr.schedules.timemaps.group_shares`).
    """
    if grid is None:
        return tuple(own)
    member = np.zeros(extent.size, np.uint8)
    member[list(own)] = 1
    ring = cv2.dilate(member.reshape(grid), np.ones((3, 3), np.uint8)).ravel().astype(bool)
    ring &= (extent == 0) | (extent > len(own))
    return tuple(int(r) for r in np.flatnonzero(ring | member.astype(bool)))


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
                max_mix: int, max_passes: int, cover: float) -> Passes | None:
    """A mix for each missed group that also poses the layers its pass shows, or None.

    ``window(groups)``: the candidate frames and rows of those groups (see the mixer). A
    pass shows through its layer's regions and the ring around them, where the layers next
    to it (``around``) show the pass's poses: each pass also takes those it can, the most
    covered first. A layer with ``cover`` of its regions inside the pass that it cannot
    pose would be torn between two poses: then there are no passes (the caller's compromise
    moves the layers instead). None too when more than ``max_passes`` are needed. Two
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
        if any(share >= cover and g not in chosen for g, share in near):
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
    """Per region, the share of the first mix and of each pass (summing to 1), smoothed."""
    moving = np.zeros(regions, bool)
    moving[list(plan.moving)] = True
    members = []
    rest = moving.copy()
    for _, own in plan.passes:
        member = np.zeros(regions, bool)
        member[list(own)] = True
        rest &= ~member
        members.append(member)
    return group_shares([rest, *members], moving, grid, reach, sigma)


__all__ = ["NodePlan", "Passes", "Touching", "composite_masks", "pass_regions", "plan_passes", "touching"]
