"""Passes: a mix per layer where no mix of whole frames poses them all (``stsr.schedules.passes``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stsr.schedules.mixer import exact_mix
from stsr.schedules.passes import (
    NodePlan,
    composite_masks,
    pass_regions,
    plan_passes,
    settled,
    shows_drawing,
    shows_pose,
)

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


def test_a_pass_leaves_the_edge_of_a_character_about_its_size_but_takes_a_backgrounds() -> None:
    # Robustness seed 1 scene 23: two characters on fours, out of step, side by side. The pass for one
    # took the regions of the other (20 regions against its 16) where their outlines meet, and showed
    # that character 10-30 % from the pass's render.
    # Held-out seed 2 scene 12: a character drawn at the node, 36 regions beside a pass of 13, lost that
    # drawing to the pass's ring.
    extent = np.zeros(GRID[0] * GRID[1], np.int64)
    own = [2 * 8 + 2, 2 * 8 + 3, 3 * 8 + 2, 3 * 8 + 3]  # a 2x2 character
    extent[own] = len(own)
    neighbour = [r for r in range(extent.size) if r % 8 in (4, 5, 6) and 1 <= r // 8 <= 4]  # 3x4, three times
    extent[neighbour] = len(neighbour)
    background = [r for r in range(extent.size) if r % 8 <= 1 or (r // 8 == 0 and r % 8 <= 3)]  # 14, left of it
    extent[background] = len(background)
    regions = set(pass_regions(own, extent, GRID))
    assert not regions & set(neighbour)
    assert 2 * 8 + 1 in regions and 3 * 8 + 1 in regions  # the background's edge goes with the pass


def test_a_pass_reaches_a_second_ring_into_a_pan_both_mixes_pose_but_not_beside_a_layer_it_misses() -> None:
    # Robustness scene 23: a character on fours over a pan on ones, its edge across regions the pan
    # claims (they change on every frame). Its pass and the first mix both put the pan at its pose,
    # so the pass may take a second ring of the pan's regions; not those beside the other character,
    # which the pass shows at another pose (its edge may be there too).
    own = [2 * 8 + 3, 2 * 8 + 4, 3 * 8 + 3, 3 * 8 + 4]  # the pass's character, 2x2
    other = [5 * 8 + 0]  # the other character, bottom left, off its pose in the pass
    pan = [r for r in range(GRID[0] * GRID[1]) if r not in own and r not in other]
    extent = np.zeros(GRID[0] * GRID[1], np.int64)
    extent[own], extent[other], extent[pan] = len(own), len(other), len(pan)
    free = settled([own, pan, other], [None, True, False], 48, GRID)
    assert free[pan].sum() == len(pan) - 3  # the pan's three regions beside the other character are not
    assert not free[own].any() and not free[other].any()
    one_ring = set(pass_regions(own, extent, GRID))
    two_rings = set(pass_regions(own, extent, GRID, free))
    assert one_ring < two_rings
    assert 0 * 8 + 1 in two_rings and 4 * 8 + 6 in two_rings and 0 * 8 + 1 not in one_ring  # distance 2
    assert 4 * 8 + 1 not in two_rings  # distance 2 but beside the other character
    assert 0 * 8 + 0 not in two_rings and 5 * 8 + 7 not in two_rings  # distance 3
    # Where the first mix misses the pan too (False), there is no second ring.
    assert set(pass_regions(own, extent, GRID, settled([own, pan, other], [None, False, False], 48, GRID))) == one_ring


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


def test_a_held_layer_is_surely_posed_only_by_frames_between_its_drawings() -> None:
    # Robustness scene 23's node 41: two characters on fours crossing over a pan on ones. The group
    # of the character drawn at 40 and 44 (key (-1, 3)) shows a change at 39 too, the other
    # character's drawing: by its row the pass 39: 1/2, 43: 1/8, 44: 3/8 poses it, in truth it puts it
    # 1.5 frames back. The pan, drawn in every frame, is posed by any mix its row says.
    from stsr.schedules.mixer import Weights

    start = -2  # rows from frame 39, the node at 41
    held = (-2.0, -1.0, -1.0, -1.0, -1.0, 3.0, 3.0, 0.0)
    pan = (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0)
    crossing = Weights(((-2, 0.5), (2, 0.125), (3, 0.375)))
    first = Weights(((-1, 0.75), (3, 0.25)))
    assert shows_pose(crossing, held, start) and not shows_pose(crossing, held, start, (-1, 3))
    assert shows_pose(first, held, start, (-1, 3))
    assert shows_pose(first, pan, start, (0, 1)) and not shows_pose(crossing, pan, start, (0, 1))
    assert shows_pose(Weights(((-1, 0.5), (1, 0.5))), pan, start, (0, 1))  # beyond its drawings: on ones


def test_only_a_mix_of_frames_that_all_show_a_layers_drawing_shows_it_as_it_is() -> None:
    # Robustness scene 5 (a camera shaking on ones under characters on twos), node 20: the first mix
    # is frame 20, the pass for a character is the in-between of 19 and 21. Both pose the camera by
    # its drawing times, but only frame 20 shows it where it is: the camera turns between 19 and 21.
    # At node 21 the pass is frame 21 and the first mix the in-between: the pass shows it as it is.
    from stsr.schedules.mixer import Weights

    start = -1  # rows from frame 19 (node 20), from frame 20 (node 21)
    camera = (-1.0, 0.0, 1.0, 0.0)
    in_between, frame = Weights(((-1, 0.5), (1, 0.5))), Weights(((0, 1.0),))
    assert shows_pose(in_between, camera, start, (0, 1)) and shows_pose(frame, camera, start, (0, 1))
    assert shows_drawing(frame, camera, start) and not shows_drawing(in_between, camera, start)
    held = (-1.0, -1.0, 1.0, -1.0)  # a character drawn at 19 and 21, posed at its drawing 19 at node 20
    assert shows_drawing(Weights(((-1, 0.25), (0, 0.75))), held, start)
    assert not shows_drawing(in_between, held, start)


def test_a_pass_does_not_spread_onto_a_layer_it_puts_off_its_pose() -> None:
    # Robustness scene 29's node 19: the pass for a character on twos touches one on threes that it
    # shows 2 frames back. The composite's smoothing spread the pass over the neighbour's outline (a
    # quarter of it came from the pass). Onto a layer it poses (or a free region) it still spreads.
    from stsr.schedules.mixer import Weights

    own = (2 * 8 + 3, 2 * 8 + 4, 3 * 8 + 3, 3 * 8 + 4)
    neighbour = (2 * 8 + 5, 3 * 8 + 5, 2 * 8 + 6, 3 * 8 + 6)  # right of it
    posed = (2 * 8 + 2, 3 * 8 + 2)  # left of it, a layer the pass poses as well
    moving = own + neighbour + posed
    mix = Weights(((10, 1.0),))
    spread = composite_masks(NodePlan(Weights(((9, 1.0),)), ((mix, own),), moving), 48, GRID, 1.0, 0.7)
    kept = composite_masks(NodePlan(Weights(((9, 1.0),)), ((mix, own),), moving, (neighbour,)), 48, GRID, 1.0, 0.7)
    for shares in (spread, kept):
        assert np.allclose(shares[0] + shares[1], 1.0)
    assert spread[1][2 * 8 + 5] > 0.2 and kept[1][2 * 8 + 5] == 0.0
    assert kept[1][2 * 8 + 2] == spread[1][2 * 8 + 2] > 0.2
    assert kept[1][2 * 8 + 3] == spread[1][2 * 8 + 3] > 0.5


def test_a_light_layer_on_its_own_rhythm_gets_a_pass_where_the_mix_leaves_it_far_off() -> None:
    # Robustness seed 2 scene 30's node 23 (H.264): a character on twos going behind two others
    # keeps 10 regions (weight 86, under ``pass_share`` of the second's 300). The mix that poses the
    # pan, the 2-3 and the fours character shows it a whole frame late, at its drawing.
    from stsr.schedules.cadence import CadenceNodes

    low, high, node = 21, 26, 23
    rows = [(-3.0, -1.0, -1.0, 1.0, 1.0, 3.0, 0.0), (-2.0, -2.0, 0.0, 0.0, 0.0, 3.0, 0.0),
            (-2.0, -2.0, -2.0, -2.0, 2.0, 2.0, 0.0), (-2.0, -2.0, 0.0, 0.0, 2.0, 2.0, 0.0)]
    keys = ((-1, 1), (0, 3), (-2, 2), (0, 2))
    around = ((), ((0, 0.13),), ((1, 0.081), (0, 0.057)), ((1, 0.22),))
    nodes = CadenceNodes(None)
    nodes._grid = GRID

    def solve():
        return nodes._solve(node, low, high, rows, keys, (True,) * 4, (340.0, 300.0, 230.0, 86.0), (True,) * 4,
                            around)

    def pose(weights, layer: int) -> float:
        return sum(w * rows[layer][k - low] for k, w in weights.parts)

    # Drawn evenly at the node, it is pinned now (``pin_eligible``): the first mix shows its drawing
    # (frames 23 and 24 both do) and poses the others but the character on fours, which gets the pass.
    mix, passes = solve()
    assert {k for k, _ in mix.parts} == {23, 24}
    assert all(abs(pose(mix, g)) < 1e-9 for g in (0, 1, 3))
    assert [posed for _, posed in passes] == [(2,)] and abs(pose(passes[0][0], 2)) < 1e-9
    # Without the pin, the mix that poses the rest leaves it a frame off: ``far_off`` gives it a pass.
    nodes.pin_eligible = False
    mix, passes = solve()
    assert abs(pose(mix, 3)) > 0.5
    assert [posed for _, posed in passes] == [(3,)]
    assert abs(pose(passes[0][0], 3)) < 1e-9
    nodes.far_off = None
    assert solve()[1] == ()


def test_a_fragment_with_one_long_hold_gets_no_pass_of_its_own() -> None:
    # Robustness seed 2 scene 3's node 53: beside a glow on ones and a character on twos, 8 regions
    # of the character's edge hold from 52 to 57. Far off its pose in the first mix, but no rhythm of
    # a layer of its own: a pass would blend 52 and 57 over the character (0.00 -> 0.01).
    from stsr.schedules.cadence import CadenceNodes

    low, high, node = 52, 57, 53
    rows = [(-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0), (-1.0, -1.0, 1.0, 1.0, 3.0, 3.0, 0.0),
            (-1.0, -1.0, -1.0, -1.0, -1.0, 4.0, 0.0)]
    keys = ((0, 1), (-1, 1), (-1, 4))
    nodes = CadenceNodes(None)
    nodes._grid = GRID
    mix, passes = nodes._solve(node, low, high, rows, keys, (True,) * 3, (2800.0, 310.0, 78.0), (True,) * 3,
                               ((), ((0, 0.053),), ((1, 0.27), (0, 0.037))))
    assert sum(w * rows[2][k - low] for k, w in mix.parts) < -0.5
    assert passes == ()


def test_a_compromise_far_off_a_small_layer_gives_way_to_a_pass_for_the_heaviest() -> None:
    # Robustness seed 1 scene 35's node 26 (H.264): a character on ones (6 regions, too few for a
    # pass of its own) going behind one on threes, over a slow pan on twos (its faint texture). The
    # mix that poses the large character and the pan left the small one 0.65 frame behind; the
    # first mix poses it now, and the large character gets the pass.
    from stsr.schedules.cadence import CadenceNodes

    low, high, node = 24, 28, 26
    rows = [(-2.0, -2.0, -2.0, 1.0, 1.0, 0.0), (-2.0, -1.0, 0.0, 1.0, 2.0, 0.0), (-2.0, -2.0, 0.0, 0.0, 2.0, 0.0)]
    keys = ((-2, 1), (0, 1), (0, 2))
    nodes = CadenceNodes(None)
    nodes._grid = GRID

    def solve():
        return nodes._solve(node, low, high, rows, keys, (True,) * 3, (200.0, 53.0, 46.0), (True, False, False),
                            ((), (), ()))

    def pose(weights, layer: int) -> float:
        return sum(w * rows[layer][k - low] for k, w in weights.parts)

    mix, passes = solve()
    assert mix.parts == ((26, 1.0),)
    assert [posed for _, posed in passes] == [(0,)]
    assert abs(pose(passes[0][0], 0)) < 1e-9
    nodes.far_off = None
    mix, passes = solve()
    assert passes == () and abs(pose(mix, 1)) > 0.5


def test_a_light_layer_with_few_regions_far_off_its_pose_is_posed_by_the_first_mix() -> None:
    # Robustness seed 1 scene 35's node 32 (H.264): further behind the character on threes, the one on
    # ones keeps 3 regions and weighs less than the slow pan's faint texture (19 against 44), so it is
    # not substantial and nothing counted it missed: the mix that posed the others left it 0.67 frame
    # ahead. Refused a pass only for its few regions (``few_regions``), it goes first in the retry: the
    # first mix poses it and the pan, and the character on threes gets the pass.
    from stsr.schedules.cadence import CadenceNodes

    low, high, node = 26, 35, 32
    rows = [(-8.0, -5.0, -5.0, -5.0, -2.0, -2.0, -2.0, 1.0, 1.0, 1.0, 0.0),
            (-6.0, -6.0, -4.0, -4.0, -2.0, -2.0, 0.0, 0.0, 2.0, 2.0, 0.0),
            (-32.0, -5.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 0.0),
            (-32.0,) * 9 + (3.0, -32.0)]
    keys = ((-2, 1), (0, 2), (0, 1), (-32, 3))
    nodes = CadenceNodes(None)
    nodes._grid = GRID

    def solve():
        return nodes._solve(node, low, high, rows, keys, (True, True, True, False), (210.0, 44.0, 19.0, 22.0),
                            (True, False, False, False), ((), ((0, 0.043),), (), ((0, 0.087),)),
                            (170000.0, 1100.0, 7400.0, 11000.0), (False, False, True, False))

    def pose(weights, layer: int) -> float:
        return sum(w * rows[layer][k - low] for k, w in weights.parts)

    mix, passes = solve()
    assert abs(pose(mix, 2)) < 1e-9 and abs(pose(mix, 1)) < 1e-9
    assert [posed for _, posed in passes] == [(0,)]
    assert abs(pose(passes[0][0], 0)) < 1e-9
    nodes.stranded_retry = False
    mix, passes = solve()
    assert passes == () and abs(pose(mix, 2)) > 0.5


def test_a_character_behind_another_keeps_its_timing_with_few_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Held-out seed 2 scene 34, clean: a character on twos goes behind two others (one on ones, one on
    twos out of step). With 6 regions left it could have no pass of its own, and the mix that posed the
    others showed it a whole frame late from 32 to 39. Seen on the same rhythm just before, and drawn
    evenly, it may now have one with fewer regions (``continuing_regions``): at its drawings 36 and 38 it
    is a third of a frame late at most (its in-betweens still lag, 0.5-0.9)."""
    from benchmarks.stutter.robustness import drawn_scene, output_recipes, recipe_poses
    from stsr.schedules.cadence import CadenceNodes

    scene = drawn_scene(2, 34)
    pictures = list(scene.source_frames())

    def late_at(frames: range) -> float:
        times, recipes = output_recipes(scene, pictures, "cadence")
        poses = recipe_poses(scene, recipes)
        chosen = np.isin(np.round(times, 6), list(frames))
        return float(np.max(np.abs(poses[chosen, 1] - times[chosen])))

    assert late_at(range(36, 40, 2)) < 0.4
    # Without a pass of its own, the retry for a light layer refused one for its few regions
    # (``stranded_retry``) poses it with the first mix, and so does the pin of a layer with few regions
    # drawn evenly (``pin_few_regions``) at its drawings; without all three, it is a frame late.
    monkeypatch.setattr(CadenceNodes, "continuing_regions", 10**6)
    assert late_at(range(36, 40, 2)) < 0.4
    monkeypatch.setattr(CadenceNodes, "stranded_retry", False)
    assert late_at(range(36, 40, 2)) < 0.4
    monkeypatch.setattr(CadenceNodes, "pin_few_regions", False)
    assert late_at(range(36, 40, 2)) > 0.9


def test_a_character_on_twos_is_judged_even_by_drawings_before_the_window(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A node's mix window often spans four frames and shows a character on twos with two drawings only:
    never "evenly drawn" there, it got no pass where it needed one. Judged over all the frames the node
    reads (``evenly_over_span``), it is. Found on robustness seed 1 scene 5 (a camera shaking on ones,
    whose turn compression made look like a hold: 0.18); on the benchmark's repeatable encode (no
    mb-tree) that scene no longer shows it, and held-out seed 2 scene 34 does: a character on ones
    beside two on twos, one of them mostly hidden, SI 0.12 with it and 0.36 without (H.264)."""
    from benchmarks.stutter.robustness import decode, drawn_scene, evaluate, write_source
    from stsr.schedules.cadence import CadenceNodes

    scene = drawn_scene(2, 34)
    path = tmp_path / "source.mp4"
    write_source(path, scene)
    pictures = [frame.rgb for frame in decode(path)]

    assert evaluate(scene, pictures, "cadence")[0] <= 0.15
    monkeypatch.setattr(CadenceNodes, "evenly_over_span", False)
    assert evaluate(scene, pictures, "cadence")[0] > 0.25


def test_a_character_sweeping_over_a_drawing_made_at_the_node_comes_from_its_pass(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Held-out seed 2 scene 9, clean: two characters on twos and one on fours over a pan on ones. Where a pass
    poses the one on fours beside a drawing made at the node, the pixels it sweeps over before its next
    drawing changed at the node too (the other's drawing) and stayed with the first mix: its edge showed a
    drawing behind there, SI 0.16. Those pixels now go to the pass (``ownership.SWEPT_AFTER_NODE``): 0.10."""
    from benchmarks.stutter.robustness import drawn_scene, evaluate
    from stsr.schedules import ownership

    scene = drawn_scene(2, 9)
    pictures = list(scene.source_frames())

    assert evaluate(scene, pictures, "cadence")[0] <= 0.12
    monkeypatch.setattr(ownership, "SWEPT_AFTER_NODE", False)
    assert evaluate(scene, pictures, "cadence")[0] > 0.14
