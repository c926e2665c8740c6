"""Stutter measured on a method's output: per character step, stutter index, held frames, lag, PSNR.

Pictures are tracked: each character has a body colour nothing else has, so its
position in an output picture is the centroid of that colour near its path. The
centroid is turned into a *pose time* (source frames) by comparison with the
ground truth rendered at a guessed pose (same occluders on top), refined until
the two centroids agree; this is robust to the background, to the colour patch
and to occlusion. Oracle frames carry their poses: no tracking.

* step: pose advance per output frame (ideal: source rate / output rate, 0.4);
* stutter index (SI) = std(step) / mean(step) on the steady part, per character;
* held fraction: steps under a quarter of the median;
* lag: presentation time minus pose time, in source frames (positive = late);
* PSNR against the ground truth rendered at each output frame's presentation time;
* drawing-time fidelity: at the first output frame at or after each new drawing's time
  (within one output frame), PSNR against that drawing in the pixels it changed (the first of the
  two constraints in :mod:`stsr.schedules.base`: no drawing is lost);
* frozen share: share of a moving layer's output steps that stand still (under a
  quarter of the true step) while the truth moves (the second: nothing freezes while
  its source moves); the worst layer's.

Layers that are not tracked (mouth, arm, text...: their look changes, not only their
place) get poses only from the oracle; with real backends they are NaN and only
the drawing-time fidelity judges them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import cv2
import numpy as np

from stsr.eval.analysis import held_fraction, stutter_index
from stsr.eval.synthetic import Scene, drawing_time

#: Euclidean RGB distance under which a pixel has a character's body colour
COLOR_TOLERANCE = 60.0
#: source frames excluded at both ends of a shot (start-up and the last hold)
EDGE_FRAMES = 8
PSNR_CAP = 60.0


def yuv420_roundtrip(rgb: np.ndarray) -> np.ndarray:
    """What an RGB picture looks like after the 4:2:0 video files of the benchmark."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return frame.reformat(format="yuv420p").reformat(format="rgb24").to_ndarray()


def psnr(picture: np.ndarray, truth: np.ndarray) -> float:
    error = np.mean((picture.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return PSNR_CAP if error <= 0 else min(PSNR_CAP, 10 * np.log10(255.0**2 / error))


@dataclass
class Measured:
    """Per output frame: presentation time (source frames), pose per character (NaN: lost), PSNR."""

    times: np.ndarray
    poses: np.ndarray  # (frames, characters)
    psnr: np.ndarray
    #: mean PSNR (dB) at new drawings, changed pixels only (NaN: none measured)
    fidelity: float = float("nan")


#: a pixel whose drawing changed by more than this (0-255, any channel) belongs to the new drawing
CHANGE_THRESHOLD = 12


def redrawn_layers(scene: Scene, index: int) -> tuple[list[bool], bool]:
    """Which moving characters, and whether a moving background, bring a new drawing at source frame ``index``."""
    background = scene.background
    moving = background.velocity != (0.0, 0.0) or bool(background.shake) or bool(background.zoom)
    return ([c.moves and drawing_time(index, c.holds, c.phase) == index for c in scene.characters],
            moving and drawing_time(index, background.holds, background.phase) == index)


def new_drawings(scene: Scene) -> list[int]:
    """Source frames (away from the ends and a cut) that bring a new drawing of some moving layer."""
    frames = []
    for index in range(EDGE_FRAMES, scene.frames - EDGE_FRAMES):
        if scene.cut_at is not None and abs(index - scene.cut_at) <= 1:
            continue
        characters, background = redrawn_layers(scene, index)
        if any(characters) or background or scene.dissolve_share(index) != scene.dissolve_share(index - 1):
            frames.append(index)
    return frames


def changed_pixels(scene: Scene, index: int) -> np.ndarray:
    """Where drawing ``index`` differs from the previous frame's drawings, grown by 2 px."""
    difference = np.abs(scene.drawing_frame(index).astype(np.int16) - scene.drawing_frame(index - 1).astype(np.int16))
    mask = (difference.max(axis=2) > CHANGE_THRESHOLD).astype(np.uint8)
    return cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)


def drawing_fidelity(scene: Scene, times: np.ndarray, picture_at: Any, roundtrip: bool) -> float:
    """Mean PSNR at the first output frame from each new drawing's time on, against the drawing, changed pixels.

    ``picture_at(j)`` gives output ``j``'s RGB picture; ``times`` are in source frames.
    """
    if times.size < 2:
        return float("nan")
    interval = float(np.median(np.diff(times)))
    scores = []
    for index in new_drawings(scene):
        # The first output frame that should show the drawing: at its time or just after.
        # (A quarter frame of slack: decoded containers round timestamps, to the millisecond in Matroska.)
        later = np.flatnonzero(times >= index - interval / 4)
        if not later.size or times[later[0]] - index >= interval * 0.75:
            continue
        nearest = int(later[0])
        mask = changed_pixels(scene, index)
        if not mask.any():
            continue
        drawing = scene.drawing_frame(index)
        if roundtrip:
            drawing = yuv420_roundtrip(drawing)
        scores.append(psnr(picture_at(nearest)[mask], drawing[mask]))
    return float(np.mean(scores)) if scores else float("nan")


def source_frames_time(times: list[Fraction], scene: Scene) -> np.ndarray:
    return np.array([float(t * scene.rate) for t in times])


def _centroid(weights: np.ndarray, offset: tuple[int, int]) -> tuple[float, float, float]:
    """Weighted centroid (x, y) and total weight (the area in pixels) of a soft mask."""
    total = float(weights.sum())
    if total <= 0:
        return float("nan"), float("nan"), 0.0
    ys, xs = np.indices(weights.shape)
    return (float((xs * weights).sum()) / total + offset[0], float((ys * weights).sum()) / total + offset[1],
            total)


@dataclass
class Tracker:
    """Finds every character's pose time in output pictures of ``scene``."""

    scene: Scene
    roundtrip: bool = True
    _scale: float = field(init=False)

    def __post_init__(self) -> None:
        self._scale = self.scene.height / 180

    def _window(self, index: int, pose: float) -> tuple[int, int, int, int]:
        character = self.scene.characters[index]
        x, y = character.position(pose)
        margin_x = character.radius[0] * self._scale + 24
        margin_y = character.radius[1] * self._scale + 24
        # Even corners: a crop's 4:2:0 round trip then pairs the same pixels as the whole frame's.
        x0, x1 = max(0, int(x - margin_x)) // 2 * 2, min(self.scene.width, int(x + margin_x) + 2) // 2 * 2
        y0, y1 = max(0, int(y - margin_y)) // 2 * 2, min(self.scene.height, int(y + margin_y) + 2) // 2 * 2
        return x0, y0, x1, y1

    def _mask(self, picture: np.ndarray, index: int, window: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = window
        body = np.array(self.scene.characters[index].body, np.float32)
        crop = picture[y0:y1, x0:x1].astype(np.float32)
        # Soft: edge pixels count by how much body colour they hold, so the centroid moves
        # continuously with sub-pixel motion (a hard mask moves in whole pixels).
        distance = np.linalg.norm(crop - body, axis=2)
        return np.clip(2.0 - 2.0 * distance / COLOR_TOLERANCE, 0.0, 1.0)

    def _truth_centroid(self, index: int, poses: dict[int, float], window: tuple[int, int, int, int],
                        background: np.ndarray) -> tuple[float, float, int]:
        """Centroid of character ``index``'s visible body in the truth rendered at ``poses``.

        Rendered over the real background so that edge pixels blend as in the output.
        """
        canvas = background.copy()
        for other, character in enumerate(self.scene.characters):
            if character.tracked:
                character.draw(canvas, poses[other], self._scale)
        x0, y0, x1, y1 = window
        crop = canvas[y0:y1, x0:x1]
        if self.roundtrip:
            crop = yuv420_roundtrip(crop)
        return _centroid(self._mask(crop, index, (0, 0, x1 - x0, y1 - y0)), (x0, y0))

    def poses(self, picture: np.ndarray, time: float) -> list[float]:
        """Pose time of each character in ``picture`` shown at ``time`` (source frames)."""
        if self.scene.cut_at is not None and time >= self.scene.cut_at:
            picture = np.ascontiguousarray(picture[:, ::-1, ::-1])  # undo the second shot's mirror
        count = len(self.scene.characters)
        background = self.scene.background.render(self.scene.width, self.scene.height, time, self.scene.frames)
        found: dict[int, float] = {}
        # Topmost first: its pose is needed to know what hides the ones below.
        for index in reversed(range(count)):
            character = self.scene.characters[index]
            if not (character.tracked and character.moves):
                found[index] = float("nan")
                continue
            velocity = np.array(character.velocity, np.float64)
            window = self._window(index, time)
            measured_x, measured_y, area = _centroid(self._mask(picture, index, window), window[:2])
            expected = np.pi * character.radius[0] * character.radius[1] * self._scale**2
            if area < 0.15 * expected:
                found[index] = float("nan")
                continue
            pose = time
            for _ in range(6):
                # Characters below are drawn at the presentation time (they do not hide this one).
                guess = {other: time for other in range(count)} | {**found, index: pose}
                guess = {k: (v if np.isfinite(v) else time) for k, v in guess.items()}
                truth_x, truth_y, truth_area = self._truth_centroid(index, guess, window, background)
                if truth_area == 0:
                    break
                delta = float(np.dot((measured_x - truth_x, measured_y - truth_y), velocity) / velocity.dot(velocity))
                pose += delta
                if abs(delta) < 1e-3:
                    break
            found[index] = pose
        return [found[index] for index in range(count)]


def measure_pictures(scene: Scene, times: list[Fraction], pictures: list[np.ndarray]) -> Measured:
    """Track every character and compute PSNR for decoded output pictures."""
    tracker = Tracker(scene)
    frame_times = source_frames_time(times, scene)
    poses = np.array([tracker.poses(picture, time) for picture, time in zip(pictures, frame_times, strict=True)])
    scores = np.array([psnr(picture, yuv420_roundtrip(scene.render_at(time)))
                       for picture, time in zip(pictures, frame_times, strict=True)])
    fidelity = drawing_fidelity(scene, frame_times, lambda j: pictures[j], roundtrip=True)
    return Measured(frame_times, poses.reshape(len(pictures), len(scene.characters)), scores, fidelity)


def measure_oracle(scene: Scene, times: list[Fraction], frames: list[Any]) -> Measured:
    """Poses straight from oracle frames; PSNR of their renders against the truth."""
    frame_times = source_frames_time(times, scene)
    poses = np.array([frame.poses() for frame in frames], dtype=np.float64)
    scores = np.array([psnr(frame.render(), scene.render_at(time))
                       for frame, time in zip(frames, frame_times, strict=True)])
    fidelity = drawing_fidelity(scene, frame_times, lambda j: frames[j].render(), roundtrip=False)
    return Measured(frame_times, poses.reshape(len(frames), len(scene.characters)), scores, fidelity)


def steady_mask(scene: Scene, times: np.ndarray) -> np.ndarray:
    """Output frames away from the clip's ends and from a cut: where motion should be constant."""
    keep = (times >= EDGE_FRAMES) & (times <= scene.frames - EDGE_FRAMES - 2)
    if scene.cut_at is not None:
        keep &= np.abs(times - scene.cut_at) > EDGE_FRAMES
    return keep


#: an output step under this share of the true step is a frozen one
FROZEN_SHARE = 0.25


@dataclass
class CharacterScore:
    stutter_index: float
    held_fraction: float
    lag: float
    mean_step: float
    #: share of steps (while the truth moves) in which the output stands still; NaN: not measured
    frozen_share: float = float("nan")
    #: False for a layer that does not move (a held cel): its timing cannot be seen, SI is not judged
    judged: bool = True


@dataclass
class Score:
    characters: list[CharacterScore]
    psnr: float
    #: per output frame: time and step per character (for plots)
    step_times: np.ndarray
    steps: np.ndarray
    fidelity: float = float("nan")

    @property
    def worst_si(self) -> float:
        values = [c.stutter_index for c in self.characters if c.judged]
        return float("nan") if any(np.isnan(values)) else max(values, default=float("nan"))

    @property
    def worst_frozen_share(self) -> float:
        values = [c.frozen_share for c in self.characters if np.isfinite(c.frozen_share)]
        return max(values) if values else float("nan")

    @property
    def worst_lag(self) -> float:
        values = [c.lag for c in self.characters if c.judged]
        return max(values, key=abs)


def score(scene: Scene, measured: Measured) -> Score:
    keep = steady_mask(scene, measured.times)
    # Steps between consecutive kept frames of the same shot only.
    shot = np.zeros_like(measured.times, dtype=int) if scene.cut_at is None else (measured.times >= scene.cut_at)
    pair = keep[1:] & keep[:-1] & (shot[1:] == shot[:-1])
    steps = np.diff(measured.poses, axis=0)
    true_steps = np.diff(measured.times)
    characters = []
    for index in range(measured.poses.shape[1]):
        valid = pair & np.isfinite(steps[:, index])
        character_steps = steps[valid, index]
        frozen = float("nan")
        if scene.characters[index].moves and valid.any():
            frozen = float(np.mean(np.abs(character_steps) < FROZEN_SHARE * true_steps[valid]))
        lag_values = (measured.times - measured.poses[:, index])[keep & np.isfinite(measured.poses[:, index])]
        characters.append(CharacterScore(
            stutter_index=stutter_index(character_steps),
            held_fraction=held_fraction(character_steps),
            lag=float(np.mean(lag_values)) if lag_values.size else float("nan"),
            mean_step=float(np.mean(character_steps)) if character_steps.size else float("nan"),
            frozen_share=frozen,
            judged=scene.characters[index].moves,
        ))
    step_times = measured.times[1:]
    masked = np.where(pair[:, None], steps, np.nan)
    return Score(characters, float(np.mean(measured.psnr[keep])), step_times, masked, measured.fidelity)
