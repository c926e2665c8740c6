"""How much of a character the picture shows, and its stutter where it shows enough of it.

    .venv/bin/python -m benchmarks.stutter.robustness --hard 0.5 --visible

The robustness benchmark judges every layer that moves visibly, also while it passes behind
another: a character 10 % visible that runs a frame late stutters in the pose table but
barely on screen, and detection sees little of it to go by. This splits a miss into what
happens where the character is in view and what happens behind another (characters are
drawn in order, each over the ones before it; a glow covers nothing).
"""

from __future__ import annotations

import numpy as np

from stsr.eval.analysis import stutter_index
from stsr.eval.synthetic import Scene

from .oracle import drawn_over, layer_coverage

#: a character counts as in view where at least this share of it shows
IN_VIEW = 0.5


def visible_share(scene: Scene, layer: int, frame: int) -> float:
    """The share of character ``layer``'s pixels that no later character covers at source frame ``frame``."""
    characters, _ = scene.drawing_times(frame)
    own = layer_coverage(scene, layer, characters)
    if not own.any():
        return 0.0
    above = np.zeros_like(own)
    for other in drawn_over(scene, layer):
        above |= layer_coverage(scene, other, characters)
    return float((own & ~above).sum() / own.sum())


def in_view_si(scene: Scene, times: np.ndarray, poses: np.ndarray, judged: np.ndarray, layer: int) -> float:
    """SI of ``layer`` over the judged steps (``judged``: per output) where it is in view at both ends.

    ``times``: output times in source frames; ``poses``: its poses there. NaN when fewer than
    two such steps remain. The background is always in view.
    """
    if layer >= len(scene.characters):
        shown = np.ones(times.size, bool)
    else:
        shares = {frame: visible_share(scene, layer, frame) for frame in {int(t) for t in times}}
        shown = np.array([shares[int(t)] >= IN_VIEW for t in times])
    steps = np.diff(poses)
    keep = judged[1:] & judged[:-1] & shown[1:] & shown[:-1]
    return stutter_index(steps[keep])
