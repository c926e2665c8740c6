"""Drawings shown as themselves: the first constraint, checked on traced recipes.

The oracle's check (:mod:`.constraints`) judges a drawing by the pose an output shows.
A mix of the drawings before and after can have the drawing's pose exactly (a quarter
of the next drawing and three quarters of the last, or a third each of three) and
still never show the drawing: with pictures it is a blend of two others. A traced
output knows its recipe per layer, so here a drawing counts as shown when an output
within one output frame of its time takes at least :data:`OWN_SHARE` of the layer from
frames that show that very drawing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stsr.eval.synthetic import Scene, drawing_time

from .constraints import moving_layers
from .occlusion import IN_VIEW, visible_share

#: share of a layer's recipe that must come from frames showing the drawing (60 outputs a second
#: from 24 frames put one within a fifth of a frame of each drawing: four fifths of it is the node's)
OWN_SHARE = 0.75


def drawn_layers(scene: Scene) -> list[tuple[int, tuple[int, ...], int]]:
    """(layer, holds, phase) of the layers whose drawings must each show: the moving ones not on ones.

    Layers on ones are left out, since an in-between of two of their frames is as good as either.
    """
    return [layer for layer in moving_layers(scene) if layer[1] != (1,)]


def lost_drawings(scene: Scene, times: np.ndarray, recipes: Sequence[Sequence[Sequence[tuple[int, float]]]],
                  first: int, last: int) -> list[tuple[int, int]]:
    """(layer, frame) of each new drawing from ``first`` to ``last`` that no output near it shows as itself.

    ``times``: output times in source frames; ``recipes[output][layer]``: ``(source frame,
    weight)`` pairs. Drawings of a character less than half in view are not judged.
    """
    interval = float(np.median(np.diff(times)))
    lost = []
    for layer, holds, phase in drawn_layers(scene):
        for frame in range(first, last + 1):
            if drawing_time(frame, holds, phase) != frame:
                continue
            if layer < len(scene.characters) and visible_share(scene, layer, frame) < IN_VIEW:
                continue
            near = np.flatnonzero(np.abs(times - frame) <= interval + 1e-6)
            if not any(_own_share(recipes[output][layer], frame, holds, phase) >= OWN_SHARE for output in near):
                lost.append((layer, frame))
    return lost


def _own_share(recipe: Sequence[tuple[int, float]], drawing: int, holds: tuple[int, ...], phase: int) -> float:
    return sum(weight for frame, weight in recipe if drawing_time(frame, holds, phase) == drawing)
