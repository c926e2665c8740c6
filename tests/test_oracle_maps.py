"""The benchmark oracle with per-pixel time maps: what the ``regional`` schedule is measured with.

A constant map must give the scalar in-between exactly; a map that gives each layer its
own value must move each layer by its own value (the median over its pixels) and count
the pixels a map tears away from their layer's value; composites of passes pose each
layer by the weights over its pixels. The robustness benchmark's recipe tracer must agree.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from benchmarks.stutter.oracle import TEAR, CompositeFrame, OracleInterpolator, PoseFrame, layer_masks
from benchmarks.stutter.passes import CountingInterpolator
from benchmarks.stutter.robustness import Traced, Tracer
from benchmarks.stutter.scenes import make_scene


@pytest.fixture(scope="module")
def scene():  # two characters, twos beside threes, far apart
    return make_scene("twos_threes", 256, 144, 24)


def test_a_constant_map_is_the_scalar_in_between(scene) -> None:
    first, second = PoseFrame.source(scene, 4), PoseFrame.source(scene, 7)
    oracle = OracleInterpolator()
    pair = oracle.prepare(first, second)
    (mapped,), (scalar,) = pair.frames_at([np.full((144, 256), 0.3, np.float32)]), pair.frames_at([Fraction(3, 10)])
    assert mapped.characters == pytest.approx(scalar.characters)
    assert mapped.background == pytest.approx(scalar.background)
    assert np.array_equal(mapped.render(), scalar.render())
    assert oracle.worst_tear == 0.0


def test_each_layer_moves_by_the_map_over_its_own_pixels(scene) -> None:
    first, second = PoseFrame.source(scene, 4), PoseFrame.source(scene, 7)
    masks = layer_masks(scene, [first.characters, second.characters])
    assert not masks[0][masks[1]].any()  # far apart: their masks do not meet
    time_map = np.zeros((144, 256), np.float32)
    time_map[masks[1]] = 0.5  # only the second character's pixels move, halfway
    oracle = OracleInterpolator()
    (frame,) = oracle.prepare(first, second).frames_at([time_map])
    assert frame.characters[0] == pytest.approx(first.characters[0])
    assert frame.characters[1] == pytest.approx((first.characters[1] + second.characters[1]) / 2)
    assert oracle.worst_tear < 0.05  # only the 2 px the second character's mask is grown by, on the background
    # Half of the first character's pixels asked for another time: torn.
    rows = np.flatnonzero(masks[0].any(axis=1))
    time_map[rows[: len(rows) // 2]] = np.where(masks[0][rows[: len(rows) // 2]], 0.9, 0.0)
    oracle.prepare(first, second).frames_at([time_map])
    assert oracle.worst_tear > 0.3 > TEAR


def test_a_composite_poses_each_layer_by_its_weights(scene) -> None:
    first, second = PoseFrame.source(scene, 4), PoseFrame.source(scene, 7)
    masks = layer_masks(scene, [first.characters, second.characters])
    weight = masks[1].astype(np.float32)  # the second character from `second`, everything else from `first`
    frame = PoseFrame.composite([first, second], [1 - weight, weight])
    assert isinstance(frame, CompositeFrame)
    # Within a twentieth of a frame: the masks are grown 2 px past the weight's edge.
    assert frame.characters == pytest.approx((first.characters[0], second.characters[1]), abs=0.05)
    assert frame.background == pytest.approx(first.background, abs=0.05)
    assert second.characters[1] - first.characters[1] >= 2


def test_the_tracer_follows_maps_as_the_oracle_does(scene) -> None:
    pictures = list(scene.source_frames())
    traced = [Traced(((n, 1.0),), pictures[n], scene=scene) for n in (4, 7)]
    masks = layer_masks(scene, [PoseFrame.source(scene, 4).characters, PoseFrame.source(scene, 7).characters])
    time_map = np.where(masks[1], 0.5, 0.25).astype(np.float32)
    (recipe,) = Tracer().prepare(*traced).frames_at([time_map])
    (posed,) = OracleInterpolator().prepare(PoseFrame.source(scene, 4), PoseFrame.source(scene, 7)).frames_at(
        [time_map])
    assert recipe.poses() == pytest.approx(list(posed.characters))


def test_a_map_counts_as_one_in_between_unless_it_is_all_0_or_all_1(scene) -> None:
    counter = CountingInterpolator(OracleInterpolator())
    pair = counter.prepare(PoseFrame.source(scene, 4), PoseFrame.source(scene, 7))
    pair.frames_at([np.zeros((144, 256), np.float32), np.ones((144, 256), np.float32),
                    np.full((144, 256), 0.5, np.float32), Fraction(1, 2), Fraction(0)])
    assert (counter.count.prepares, counter.count.inbetweens) == (1, 2)


def test_a_composite_poses_a_character_by_its_pixels_that_can_show() -> None:
    """Crossing: the second character is drawn over the first. Pixels of the first that the second
    covers in every part show the second whatever their weights, so they do not pose the first:
    weights that take the second's pixels (covered ones included) from one part pose the first
    by its other pixels only, in the oracle and in the robustness tracer alike."""
    from benchmarks.stutter.oracle import layer_coverage, shown_masks

    scene = make_scene("crossing", 256, 144, 72)
    frame = next(n for n in range(72) if (layer_coverage(scene, 0, PoseFrame.source(scene, n).characters)
                                          & layer_coverage(scene, 1, PoseFrame.source(scene, n).characters)).sum()
                 > 0.3 * layer_coverage(scene, 0, PoseFrame.source(scene, n).characters).sum())
    first, second = PoseFrame.source(scene, frame - 1), PoseFrame.source(scene, frame)
    poses = [first.characters, second.characters]
    masks = layer_masks(scene, poses)
    shown = shown_masks(scene, masks, poses)
    covered = masks[0] & ~shown[0]
    assert covered.any() and shown[0].any()
    assert np.array_equal(shown[1], masks[1]) and np.array_equal(shown[-1], masks[-1])  # nothing over them
    weight = covered.astype(np.float32)  # the covered pixels from `second`, everything else from `first`
    composite = PoseFrame.composite([first, second], [1 - weight, weight])
    assert composite.characters[0] == pytest.approx(first.characters[0])
    pictures = list(scene.source_frames())
    traced = [Traced(((n, 1.0),), pictures[n], scene=scene) for n in (frame - 1, frame)]
    assert Traced.composite(traced, [1 - weight, weight]).poses()[0] == pytest.approx(first.characters[0])
