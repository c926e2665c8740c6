"""Anime-like clips with ground truth: the sample the README converts, test data, benchmark scenes.

A scene is a textured background (optionally panning) and flat-shaded characters
with dark outlines and a second colour patch, each moving at constant speed and
each *drawn* on its own hold rhythm: a drawing made at frame ``n`` shows the pose
of time ``n`` and is held until the next drawing. :meth:`Scene.render_at` renders
the continuous truth at any time; :meth:`Scene.source_frame` renders what a studio
would ship (with holds).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import cv2
import numpy as np

_SUBPIXEL_BITS = 4
_SUBPIXEL = 1 << _SUBPIXEL_BITS


def drawing_time(frame: int, holds: Sequence[int], phase: int = 0) -> int:
    """Frame at which the drawing shown at ``frame`` was made.

    ``holds`` is the repeating pattern of hold lengths (``[1]`` ones, ``[2]`` twos,
    ``[2, 3]`` a 2-3 pattern); ``phase`` shifts the first drawing.
    """
    if frame < phase:
        return frame if phase else 0
    position = phase
    cycle = sum(holds)
    # Jump whole cycles, then walk the pattern.
    cycles = (frame - phase) // cycle
    position += cycles * cycle
    for hold in holds * 2:
        if position + hold > frame:
            return position
        position += hold
    return position


@dataclass
class Character:
    """A flat-shaded blob with an outline and a colour patch, moving in a straight line."""

    start: tuple[float, float]
    velocity: tuple[float, float]  # pixels per source frame
    radius: tuple[float, float] = (28.0, 40.0)
    body: tuple[int, int, int] = (236, 150, 120)
    patch: tuple[int, int, int] = (250, 230, 120)
    holds: tuple[int, ...] = (2,)
    phase: int = 0
    outline: int = 3

    def position(self, time: float) -> tuple[float, float]:
        return self.start[0] + self.velocity[0] * time, self.start[1] + self.velocity[1] * time

    def draw(self, canvas: np.ndarray, time: float, scale: float = 1.0) -> None:
        x, y = self.position(time)
        rx, ry = self.radius[0] * scale, self.radius[1] * scale
        thickness = max(1, round(self.outline * scale))

        def ellipse(cx: float, cy: float, ax: float, ay: float, color: tuple[int, int, int], width: int) -> None:
            center = (round(cx * _SUBPIXEL), round(cy * _SUBPIXEL))
            axes = (max(1, round(ax * _SUBPIXEL)), max(1, round(ay * _SUBPIXEL)))
            cv2.ellipse(canvas, center, axes, 0, 0, 360, color, width, cv2.LINE_AA, _SUBPIXEL_BITS)

        ellipse(x, y, rx, ry, self.body, -1)
        ellipse(x + rx * 0.3, y - ry * 0.35, rx * 0.35, ry * 0.22, self.patch, -1)
        ellipse(x + rx * 0.3, y - ry * 0.35, rx * 0.35, ry * 0.22, (30, 24, 40), max(1, thickness - 1))
        ellipse(x, y, rx, ry, (30, 24, 40), thickness)


def _texture(width: int, height: int, seed: int) -> np.ndarray:
    """A painted-looking background: soft colour clouds plus a few hard-edged shapes."""
    rng = np.random.default_rng(seed)
    base = np.zeros((height, width, 3), np.float32)
    for octave, weight in ((8, 0.55), (24, 0.3), (64, 0.15)):
        noise = rng.random((max(2, height // octave), max(2, width // octave), 3), dtype=np.float32)
        base += weight * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    sky = np.array([120, 170, 215], np.float32)
    ground = np.array([110, 160, 100], np.float32)
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    image = (sky * (1 - rows) + ground * rows) * 0.75 + base * 70
    canvas = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(max(6, width * height // 12000)):
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(8, 40)), int(rng.integers(8, 60))
        color = tuple(int(c) for c in rng.integers(60, 200, 3))
        cv2.rectangle(canvas, (cx, cy), (cx + w, cy + h), color, -1, cv2.LINE_AA)
        cv2.rectangle(canvas, (cx, cy), (cx + w, cy + h), (40, 40, 50), 2, cv2.LINE_AA)
    return canvas


@dataclass
class Background:
    """A texture larger than the frame, panned at ``velocity`` px/frame on its own hold rhythm."""

    velocity: tuple[float, float] = (0.0, 0.0)
    holds: tuple[int, ...] = (1,)
    phase: int = 0
    seed: int = 7
    _cache: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)

    def render(self, width: int, height: int, time: float, duration_frames: int) -> np.ndarray:
        travel_x = abs(self.velocity[0]) * duration_frames + 8
        travel_y = abs(self.velocity[1]) * duration_frames + 8
        key = (width + int(travel_x) + 2, height + int(travel_y) + 2)
        if key not in self._cache:
            self._cache[key] = _texture(key[0], key[1], self.seed)
        texture = self._cache[key]
        offset_x = 4 + (travel_x - 8 if self.velocity[0] < 0 else 0) + self.velocity[0] * time
        offset_y = 4 + (travel_y - 8 if self.velocity[1] < 0 else 0) + self.velocity[1] * time
        shift = np.float32([[1, 0, -offset_x], [0, 1, -offset_y]])
        return cv2.warpAffine(texture, shift, (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)


@dataclass
class Scene:
    """A clip: size, length, background and characters; renders source frames and truth."""

    width: int = 320
    height: int = 180
    frames: int = 48
    rate: Fraction = Fraction(24000, 1001)
    background: Background = field(default_factory=Background)
    characters: list[Character] = field(default_factory=list)
    #: frame index at which a cut to a second layout happens (None: no cut)
    cut_at: int | None = None

    def _layers_at(self, times: Sequence[float], background_time: float) -> np.ndarray:
        frame = self.background.render(self.width, self.height, background_time, self.frames)
        scale = self.height / 180
        for character, time in zip(self.characters, times, strict=True):
            character.draw(frame, time, scale)
        return frame

    def _after_cut(self, index_or_time: float) -> bool:
        return self.cut_at is not None and index_or_time >= self.cut_at

    def render_at(self, time: float) -> np.ndarray:
        """The continuous truth: every layer at its exact pose for ``time`` (source frames)."""
        frame = self._layers_at([time] * len(self.characters), time)
        return self._apply_cut(frame, time)

    def source_frame(self, index: int) -> np.ndarray:
        """What the studio ships at frame ``index``: every layer shows its latest drawing."""
        times = [float(drawing_time(index, c.holds, c.phase)) for c in self.characters]
        background_time = float(drawing_time(index, self.background.holds, self.background.phase))
        frame = self._layers_at(times, background_time)
        return self._apply_cut(frame, index)

    def drawing_times(self, index: int) -> tuple[list[float], float]:
        """Pose times shown in source frame ``index``: one per character, and the background's."""
        characters = [float(drawing_time(index, c.holds, c.phase)) for c in self.characters]
        return characters, float(drawing_time(index, self.background.holds, self.background.phase))

    def render_poses(self, character_times: Sequence[float], background_time: float, shot_time: float) -> np.ndarray:
        """Every layer at its own pose time; ``shot_time`` says which side of the cut the frame is on.

        The stutter benchmark's oracle interpolator renders its frames with this: an
        in-between of two frames is the frame whose layers are at the in-between poses.
        """
        frame = self._layers_at(list(character_times), background_time)
        return self._apply_cut(frame, shot_time)

    def _apply_cut(self, frame: np.ndarray, time: float) -> np.ndarray:
        if not self._after_cut(time):
            return frame
        # A different shot: colours rotated and mirrored, so nothing matches across the cut.
        return np.ascontiguousarray(frame[:, ::-1, ::-1])

    def source_frames(self) -> Iterator[np.ndarray]:
        for index in range(self.frames):
            yield self.source_frame(index)


def sample_scene(width: int = 480, height: int = 270, seconds: float = 4.0) -> Scene:
    """The README's sample: two characters on twos out of phase over a slow pan on ones."""
    scale = height / 180
    frames = math.ceil(seconds * 24000 / 1001)
    return Scene(
        width=width,
        height=height,
        frames=frames,
        background=Background(velocity=(-0.6 * scale, 0.0), holds=(1,)),
        characters=[
            Character(start=(40 * scale, 95 * scale), velocity=(2.4 * scale, 0.0), holds=(2,), phase=0),
            Character(start=(280 * scale, 60 * scale), velocity=(-1.6 * scale, 0.35 * scale), holds=(2,), phase=1,
                      radius=(20.0, 26.0), body=(140, 170, 240), patch=(255, 255, 255)),
        ],
    )
