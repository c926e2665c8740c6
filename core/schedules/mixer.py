"""The weight mixer: which source frames, mixed how, put every layer on its pose (pure numpy).

A node of the ``cadence`` schedule is a mix of nearby source frames. Each *group*
(a layer, seen as regions that agree on their drawings) is one row
``(drawing shown at candidate 0, ..., drawing shown at candidate n-1, target pose)``,
all in frames relative to the node. A mix ``w`` (``w >= 0``, ``sum w = 1``) moves a
layer to ``sum_i w_i * drawing_i`` (an interpolator chain does that with pictures),
so a mix that solves every row puts every layer on its target.

* :func:`exact_mix`: the cheapest mix (by :func:`mix_cost`) of at most ``max_frames``
  candidates that solves every row exactly, or None when none does.
* :func:`compromise_mix`: when no mix solves every row (three rhythms at once can need
  negative weights), the non-negative mix closest to the targets in the least-squares
  sense, rows weighted by their importance; ties broken by :func:`mix_cost`.

Both return :class:`Weights` with absolute frame indices (``candidates``) and weights
that are positive and sum to 1.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Weights:
    """A node as a mix of source frames: ``{shot frame index: weight}``, weights > 0, sum 1."""

    parts: tuple[tuple[int, float], ...]

    @property
    def frames(self) -> int:
        return len(self.parts)


def mix_cost(weights: np.ndarray, offsets: np.ndarray) -> float:
    """What a mix of frames at ``offsets`` from the node costs.

    Expected distance in frames from the node (the interpolator's difficulty), half a
    frame per extra frame in the mix (one more interpolation generation), and twice the
    offset of the mix's mean time from the node: a layer that moves on every frame but
    went unseen (too small, too faint) is on time only when the mean time is the node's.
    """
    spread = float(np.dot(weights, np.abs(offsets)))
    return spread + 0.5 * (len(weights) - 1) + 2.0 * abs(float(np.dot(weights, offsets)))


def exact_mix(index: int, candidates: list[int], groups: Sequence[tuple], max_frames: int,
         tolerance: float = 1e-6) -> Weights | None:
    """Cheapest non-negative mix of candidate frames that puts every group on its target.

    Each group is ``(drawing at candidate 0, ..., drawing at candidate n-1, target)``
    relative to ``index``; the cost is :func:`mix_cost`.
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
            cost = mix_cost(weights, offsets[chosen])
            if best is None or cost < best[0] - 1e-9:
                parts = tuple((candidates[c], float(w)) for c, w in zip(chosen, weights, strict=True))
                best = (cost, Weights(parts))
        if best is not None and best[0] <= 0.5 * size:
            # A larger mix costs at least 0.5 more per frame: cannot win.
            break
    return None if best is None else best[1]


def compromise_mix(index: int, candidates: list[int], groups: Sequence[tuple], importance: Sequence[float],
                max_frames: int, tolerance: float = 1e-6) -> Weights:
    """The non-negative mix closest to every group's target when no mix reaches them all.

    With three or more rhythms at once a mix of pictures cannot always put every layer
    on its pose (weights would have to be negative); least squares, each group weighted
    by ``importance``, spreads the error over the layers instead of dropping one.
    """
    matrix = np.array([group[:-1] for group in groups], dtype=np.float64)
    target = np.array([group[-1] for group in groups], dtype=np.float64)
    scale = np.sqrt(np.asarray(importance, dtype=np.float64))[:, None]
    offsets = np.array([c - index for c in candidates], dtype=np.float64)
    best: tuple[float, Weights] = (math.inf, Weights(((index, 1.0),)))
    for size in range(1, min(max_frames, len(candidates)) + 1):
        for subset in itertools.combinations(range(len(candidates)), size):
            columns = list(subset)
            weighted = scale * matrix[:, columns]
            # Least squares under sum(w) = 1, through its KKT system.
            kkt = np.zeros((size + 1, size + 1))
            kkt[:size, :size] = 2 * weighted.T @ weighted
            kkt[:size, size] = kkt[size, :size] = 1.0
            rhs = np.concatenate((2 * weighted.T @ (scale[:, 0] * target), [1.0]))
            solution, *_ = np.linalg.lstsq(kkt, rhs, rcond=None)
            weights = solution[:size]
            if np.any(weights < -tolerance) or abs(weights.sum() - 1) > 1e-6:
                continue
            weights = np.clip(weights, 0.0, None)
            weights /= weights.sum()
            residual = float(np.sum((scale[:, 0] * (matrix[:, columns] @ weights - target)) ** 2))
            score = residual + 1e-3 * mix_cost(weights, offsets[columns])
            if score < best[0] - 1e-12:
                keep = weights > tolerance
                parts = tuple((candidates[columns[i]], float(weights[i])) for i in np.flatnonzero(keep))
                best = (score, Weights(parts))
    return best[1]


__all__ = ["Weights", "compromise_mix", "exact_mix", "mix_cost"]
