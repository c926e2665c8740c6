"""Timing errors weighed by how far a layer moves in them, for layers whose speed varies.

The robustness benchmark judges each layer by its poses (source-frame times): a pose
half a frame late is half a frame of error wherever it falls. For a layer moving at a
steady speed that is exactly what shows on screen. A camera that shakes on ones does
not move steadily: between two of its frames it may cover 7 px, between the next two
0.6 px (it turns). A schedule that takes the slow step for a hold and shows that frame
half a frame late errs by 0.3 px there, not by the 3 px that half a frame means on
average; the pose measure counts both alike.

:func:`distance_poses` turns each layer's poses into the steady-speed poses with the
same on-screen errors: the distance between where the layer is shown and where it
should be, divided by its mean speed, signed by the timing error. For a layer moving
in a straight line at a steady speed they are the poses themselves, so its stutter
index is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from stsr.eval.synthetic import Scene

Path = Callable[[float], np.ndarray]


def layer_path(scene: Scene, layer: int) -> Path | None:
    """Where layer ``layer`` (characters, then the background) is at a pose time, in pixels.

    None for layers without a place (a mouth's openness, a glow's light): they are judged
    by their poses alone.
    """
    if layer < len(scene.characters):
        character = scene.characters[layer]
        position = getattr(character, "position", None)
        if position is None:
            return None
        return lambda time: np.asarray(position(time), np.float64)
    camera = scene.background
    # A zoom moves each pixel by its distance from the centre times the scale's change: the
    # mean distance stands for the frame.
    rows, columns = np.mgrid[0:scene.height, 0:scene.width]
    reach = float(np.hypot(rows + 0.5 - scene.height / 2, columns + 0.5 - scene.width / 2).mean())

    def at(time: float) -> np.ndarray:
        shake_x, shake_y = camera.shake_at(time)
        return np.array([camera.velocity[0] * time + shake_x, camera.velocity[1] * time + shake_y,
                         reach * camera.zoom_at(time)])

    return at


def _between_drawings(path: Path, poses: np.ndarray) -> np.ndarray:
    """The path at each pose, as a perfect interpolator shows it: straight between whole pose times."""
    low = np.floor(poses)
    share = (poses - low)[:, None]
    starts = np.array([path(float(k)) for k in low])
    ends = np.array([path(float(k) + 1.0) for k in low])
    return starts * (1.0 - share) + ends * share


def distance_poses(scene: Scene, times: np.ndarray, poses: np.ndarray, steady: np.ndarray) -> np.ndarray:
    """``poses`` (outputs x layers) with each layer's errors in :data:`steady` outputs turned into distances.

    An output's error is the distance from where it shows the layer to where the layer is
    at the output's time (plus the layer's mean lag, which is no stutter), over the layer's
    mean speed there; it keeps the sign of the timing error. Outputs outside ``steady``
    keep their poses.
    """
    result = np.array(poses, np.float64, copy=True)
    clock = times[steady]
    if clock.size < 2:
        return result
    for layer in range(poses.shape[1]):
        path = layer_path(scene, layer)
        if path is None:
            continue
        shown = poses[steady, layer]
        lag = float(np.mean(shown - clock))
        due = _between_drawings(path, clock + lag)
        speed = float(np.linalg.norm(np.diff(due, axis=0), axis=1).sum() / (clock[-1] - clock[0]))
        if speed < 1e-9:
            continue
        error = np.linalg.norm(_between_drawings(path, shown) - due, axis=1) / speed
        result[steady, layer] = clock + lag + np.sign(shown - clock - lag) * error
    return result
