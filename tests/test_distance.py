"""Timing errors weighed by distance (benchmarks/stutter/distance.py) on the shaking camera scene."""

from __future__ import annotations

import numpy as np

from benchmarks.stutter.distance import distance_poses
from benchmarks.stutter.scenes import make_scene
from stsr.eval.analysis import stutter_index


def test_a_timing_error_counts_by_how_far_the_layer_moves_in_it() -> None:
    # shake_zoom at 256x144: the camera covers 5.1 px from frame 38 to 39 and 0.62 px from 40 to 41
    # (it turns); two characters move in straight lines.
    scene = make_scene("shake_zoom", 256, 144, 72)
    times = np.arange(8.0, 62.0, 0.4)
    steady = np.ones(times.size, bool)
    # Half a frame late, each pose staying between the same two frames as its time.
    fast, slow = (times >= 38) & (times < 38.5), (times >= 40) & (times < 40.5)
    late = fast | slow
    poses = np.repeat(times[:, None], 3, axis=1)
    poses[late] += 0.5

    weighed = distance_poses(scene, times, poses, steady)

    # Characters move steadily: their poses are their distances.
    np.testing.assert_allclose(weighed[:, :2], poses[:, :2], atol=1e-9)
    camera_error = weighed[:, 2] - times - np.mean(weighed[:, 2] - times)
    # Half a frame late where the camera covers 5 px is about half a mean frame's distance; where it
    # turns, a tenth of that at most.
    assert camera_error[fast].min() > 0.3
    assert camera_error[slow].max() < 0.1
    assert stutter_index(np.diff(weighed[:, 2])) < stutter_index(np.diff(poses[:, 2]))
    # On time, nothing moves.
    np.testing.assert_allclose(distance_poses(scene, times, np.repeat(times[:, None], 3, axis=1), steady),
                               np.repeat(times[:, None], 3, axis=1), atol=1e-9)
