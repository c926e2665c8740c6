"""Passes: a mix per layer where no mix of whole frames poses them all (``stsr.schedules.passes``)."""

from __future__ import annotations

import numpy as np

from stsr.schedules.mixer import exact_mix
from stsr.schedules.passes import pass_regions, plan_passes

GRID = (6, 8)
NODE = 10


def _rows(layers: list[tuple[int, int]], candidates: list[int]) -> list[tuple]:
    """Rows for layers on ``(hold, phase)`` at NODE: the drawing each candidate shows, target NODE."""
    return [(*(float(k - (k - phase) % hold - NODE) for k in candidates), 0.0) for hold, phase in layers]


def test_a_pass_takes_the_ring_around_its_layer_but_not_a_smaller_layers_regions() -> None:
    extent = np.zeros(GRID[0] * GRID[1], np.int64)
    own = [2 * 8 + 3, 2 * 8 + 4, 3 * 8 + 3, 3 * 8 + 4]  # a 2x2 layer
    extent[own] = len(own)
    background = [r for r in range(extent.size) if r % 8 >= 5]  # a larger group right of it
    extent[background] = len(background)
    smaller = [1 * 8 + 2]  # a one-region group at its top-left corner
    extent[smaller] = 1
    regions = set(pass_regions(own, extent, GRID))
    assert set(own) <= regions
    assert 2 * 8 + 5 in regions and 1 * 8 + 3 in regions  # the larger group's and a free region of the ring
    assert 1 * 8 + 2 not in regions  # the smaller layer keeps its edge
    assert 0 not in regions and 5 * 8 + 7 not in regions  # nothing beyond the ring
    assert pass_regions(own, extent, None) == tuple(own)


def test_three_rhythms_get_a_pass_for_the_layer_the_mix_misses() -> None:
    # Two layers on twos out of step and one on ones: no mix of frames poses all three at NODE
    # (even: the first twos are drawn there), but one mix poses the ones and the first twos
    # (frame NODE itself) and another the second twos (its in-between).
    layers = [(1, 0), (2, 0), (2, 1)]
    candidates = list(range(NODE - 2, NODE + 3))
    rows = _rows(layers, candidates)

    def window(groups: list[int]) -> tuple[list[int], list[tuple]]:
        return candidates, [rows[g] for g in groups]

    assert exact_mix(NODE, candidates, rows, 4) is None
    passes = plan_passes(NODE, [2], [0, 1, 2], window, None, 4, 2, 0.1)
    assert passes is not None and len(passes) == 1
    mix, posed = passes[0]
    assert posed == (2,)
    shown = sum(w * rows[2][candidates.index(k)] for k, w in mix.parts)
    assert abs(shown - rows[2][-1]) < 1e-9
    # A pass covering the ones and the first twos too poses what it can with the second twos (any two
    # of the three have a mix), the most covered first: the ones here. The first twos, a quarter
    # inside the pass and not posed by it, would be torn between two poses: no pass at all.
    around = ((), (), ((0, 0.3), (1, 0.25)))
    assert plan_passes(NODE, [2], [0, 1, 2], window, around, 4, 2, 0.1) is None
    # ... unless the pass covers too little of it to matter: then the pass poses the ones as well.
    passes = plan_passes(NODE, [2], [0, 1, 2], window, ((), (), ((0, 0.3), (1, 0.05))), 4, 2, 0.1)
    assert passes is not None
    mix, _ = passes[0]
    for layer in (0, 2):
        assert abs(sum(w * rows[layer][candidates.index(k)] for k, w in mix.parts) - rows[layer][-1]) < 1e-9


def test_a_layer_that_may_not_have_a_pass_is_posed_by_the_first_mix() -> None:
    # Grain's node 20 (oracle): a character on threes drawn at 19 and 22, one on twos drawn at 20
    # and a slow pan on ones, ranked in that order by weight. The pan's texture is too faint for a
    # pass of its own. The greedy mix by weight poses the two characters, leaves the pan off and
    # has to take the compromise that moves all three. Another order poses the pan with one
    # character and gives the other a pass: every layer exactly on its pose.
    from stsr.schedules.cadence import CadenceNodes

    low, high, node = 19, 22, 20
    rows = [(-1.0, -1.0, -1.0, 2.0, 0.0), (-2.0, 0.0, 0.0, 2.0, 0.0), (-1.0, 0.0, 1.0, 2.0, 0.0)]
    keys = ((-1, 2), (0, 2), (0, 1))
    nodes = CadenceNodes(None)
    nodes._grid = GRID
    mix, passes = nodes._solve(node, low, high, rows, keys, (True, True, True), (270.0, 240.0, 220.0),
                               (True, True, False), ((), (), ()))

    def pose(weights, layer: int) -> float:
        return sum(w * rows[layer][k - low] for k, w in weights.parts)

    assert len(passes) == 1
    extra, posed = passes[0]
    assert 2 not in posed and abs(pose(mix, 2)) < 1e-9  # the pan by the first mix
    for layer in (0, 1):
        assert abs(pose(extra if layer in posed else mix, layer)) < 1e-9


def test_two_layers_that_ask_for_the_same_mix_share_one_pass() -> None:
    # Robustness scene 23's node 41 (two characters on fours crossing over a pan on ones): the
    # groups at 2 and 3 both get the mix 39: 1/2, 43: 1/8, 44: 3/8, solved with other layers
    # beside them, so the two solutions differ in the last bits. One render, not two.
    from stsr.schedules.cadence import CadenceNodes

    low, high, node = 39, 45, 41
    rows = [(-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0), (-2.0, -1.0, -1.0, -1.0, -1.0, 3.0, 3.0, 0.0),
            (-2.0, -2.0, -2.0, -2.0, 2.0, 2.0, 2.0, 0.0), (-2.0, -1.0, -1.0, -1.0, 2.0, 2.0, 2.0, 0.0),
            (-2.0, -1.0, -1.0, -1.0, -1.0, -1.0, 4.0, 0.0)]
    keys = ((0, 1), (-1, 3), (-2, 2), (-1, 2), (-1, 4))
    around = ((), ((0, 0.0028),), ((1, 0.3), (0, 0.02)), ((2, 0.19), (1, 0.15), (0, 0.031)), ((0, 0.031),))
    nodes = CadenceNodes(None)
    nodes._grid = GRID
    _, passes = nodes._solve(node, low, high, rows, keys, (True,) * 5, (1000.0, 200.0, 150.0, 83.0, 25.0),
                             (False, True, True, True, False), around)
    assert len(passes) == 1
    mix, posed = passes[0]
    assert sorted(posed) == [2, 3]
    for group in posed:
        assert abs(sum(w * rows[group][k - low] for k, w in mix.parts) - rows[group][-1]) < 1e-9
