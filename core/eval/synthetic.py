"""Anime-like clips with ground truth: the sample the README converts, test data, benchmark scenes.

A scene is a textured background (optionally panning) and flat-shaded characters
with dark outlines and a second colour patch, each moving at constant speed and
each *drawn* on its own hold rhythm: a drawing made at frame ``n`` shows the pose
of time ``n`` and is held until the next drawing. :meth:`Scene.render_at` renders
the continuous truth at any time; :meth:`Scene.source_frame` renders what a studio
would ship (with holds).

Besides characters, a scene holds *layers* whose look (not only place) changes
with their pose time, each on its own rhythm: a mouth alternating two drawings on
a moving head (:class:`Mouth`), a small shape redrawn with a new outline
(:class:`Blob`), a back-and-forth cycle (:class:`Swing`), an arm on a held body
(:class:`Arm`), a flicker (:class:`Glow`), burned-in text (:class:`Caption`) and a
fast head turn (:class:`TurningHead`). Their look is a smooth function of the pose
time, so the truth at an in-between time is well defined; the background can shake
and zoom, the clip can cross-dissolve to a second shot and carry film grain.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import ClassVar

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
    #: the stutter benchmark finds it by its body colour along a straight path
    tracked: ClassVar[bool] = True

    @property
    def moves(self) -> bool:
        return self.velocity != (0.0, 0.0) and any(self.velocity)

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
    #: camera shake amplitude (pixels) and zoom (relative scale gained per frame), both smooth in time
    shake: float = 0.0
    zoom: float = 0.0

    def render(self, width: int, height: int, time: float, duration_frames: int) -> np.ndarray:
        travel_x = abs(self.velocity[0]) * duration_frames + 8
        travel_y = abs(self.velocity[1]) * duration_frames + 8
        key = (width + int(travel_x) + 2, height + int(travel_y) + 2)
        if key not in self._cache:
            self._cache[key] = _texture(key[0], key[1], self.seed)
        texture = self._cache[key]
        offset_x = 4 + (travel_x - 8 if self.velocity[0] < 0 else 0) + self.velocity[0] * time
        offset_y = 4 + (travel_y - 8 if self.velocity[1] < 0 else 0) + self.velocity[1] * time
        if self.shake or self.zoom:
            return self._render_moving_camera(texture, width, height, time, offset_x, offset_y)
        shift = np.float32([[1, 0, -offset_x], [0, 1, -offset_y]])
        return cv2.warpAffine(texture, shift, (width, height), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)


    def shake_at(self, time: float) -> tuple[float, float]:
        """How far the shake has moved the view at ``time`` (pixels, on top of the pan)."""
        return self.shake * math.sin(1.9 * time), self.shake * math.cos(2.7 * time + 0.5)

    def zoom_at(self, time: float) -> float:
        """How much larger than at time 0 the view shows things at ``time``."""
        return 1.0 + self.zoom * time

    def _render_moving_camera(self, texture: np.ndarray, width: int, height: int, time: float,
                              offset_x: float, offset_y: float) -> np.ndarray:
        """Shake (two incommensurate sines) and zoom about the frame centre."""
        shake_x, shake_y = self.shake_at(time)
        offset_x += shake_x
        offset_y += shake_y
        factor = self.zoom_at(time)
        cx, cy = width / 2, height / 2
        # output (u, v) samples texture at ((u - cx) / factor + cx + offset_x, ...)
        matrix = np.float32([[1 / factor, 0, cx - cx / factor + offset_x],
                             [0, 1 / factor, cy - cy / factor + offset_y]])
        return cv2.warpAffine(texture, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT)


def _fixed_point(x: float, y: float) -> tuple[int, int]:
    return round(x * _SUBPIXEL), round(y * _SUBPIXEL)


@dataclass
class Layer:
    """A drawn element whose look changes with its pose time; sizes in pixels of the frame.

    ``anchor`` names the index (in the scene's layer list) of a character it rides on:
    it is drawn relative to that character's pose, whatever its own rhythm.
    """

    holds: tuple[int, ...] = (2,)
    phase: int = 0
    anchor: int | None = None
    tracked: ClassVar[bool] = False
    moves: ClassVar[bool] = True

    def draw_layer(self, canvas: np.ndarray, time: float, anchor_at: tuple[float, float] | None) -> None:
        raise NotImplementedError


@dataclass
class Mouth(Layer):
    """A mouth alternating closed/open every drawing: openness goes 0 -> 1 -> 0 over two holds."""

    offset: tuple[float, float] = (0.0, 12.0)
    width: float = 9.0
    height: float = 8.0
    color: tuple[int, int, int] = (150, 20, 45)

    def openness(self, time: float) -> float:
        return 0.5 - 0.5 * math.cos(math.pi * (time - self.phase) / self.holds[0])

    def draw_layer(self, canvas: np.ndarray, time: float, anchor_at: tuple[float, float] | None) -> None:
        x, y = anchor_at or (0.0, 0.0)
        center = _fixed_point(x + self.offset[0], y + self.offset[1])
        axes = _fixed_point(self.width, 1.0 + self.height * self.openness(time))
        cv2.ellipse(canvas, center, axes, 0, 0, 360, self.color, -1, cv2.LINE_AA, _SUBPIXEL_BITS)
        cv2.ellipse(canvas, center, axes, 0, 0, 360, (30, 24, 40), 1, cv2.LINE_AA, _SUBPIXEL_BITS)


@dataclass
class Blob(Layer):
    """A small shape (a tear, a spark) falling, redrawn with a new outline every drawing."""

    start: tuple[float, float] = (100.0, 30.0)
    velocity: tuple[float, float] = (0.0, 1.5)
    radius: float = 7.0
    color: tuple[int, int, int] = (190, 235, 255)
    points: int = 9

    def draw_layer(self, canvas: np.ndarray, time: float, anchor_at: tuple[float, float] | None) -> None:
        x, y = self.start[0] + self.velocity[0] * time, self.start[1] + self.velocity[1] * time
        outline = []
        for k in range(self.points):
            angle = 2 * math.pi * k / self.points
            reach = self.radius * (1.0 + 0.5 * math.sin(1.3 * time + 2.4 * k)) * (1.6 if k == 0 else 1.0)
            outline.append(_fixed_point(x + reach * math.sin(angle), y - reach * math.cos(angle)))
        polygon = np.array([outline], np.int32)
        cv2.fillPoly(canvas, polygon, self.color, cv2.LINE_AA, _SUBPIXEL_BITS)
        cv2.polylines(canvas, polygon, True, (30, 24, 40), 1, cv2.LINE_AA, _SUBPIXEL_BITS)


@dataclass
class Swing(Layer):
    """A back-and-forth cycle: the drawings alternate between two extremes (motion reverses each drawing)."""

    start: tuple[float, float] = (100.0, 70.0)
    amplitude: tuple[float, float] = (40.0, 6.0)
    radius: tuple[float, float] = (20.0, 28.0)
    color: tuple[int, int, int] = (40, 250, 120)

    def position(self, time: float) -> tuple[float, float]:
        hold = self.holds[0]
        triangle = 1.0 - abs(((time - self.phase) / hold) % 2.0 - 1.0)  # 0 at even drawings, 1 at odd ones
        return self.start[0] + self.amplitude[0] * triangle, self.start[1] + self.amplitude[1] * triangle

    def draw_layer(self, canvas: np.ndarray, time: float, anchor_at: tuple[float, float] | None) -> None:
        x, y = self.position(time)
        axes = _fixed_point(*self.radius)
        cv2.ellipse(canvas, _fixed_point(x, y), axes, 0, 0, 360, self.color, -1, cv2.LINE_AA, _SUBPIXEL_BITS)
        cv2.ellipse(canvas, _fixed_point(x, y), axes, 0, 0, 360, (30, 24, 40), 2, cv2.LINE_AA, _SUBPIXEL_BITS)


@dataclass
class Arm(Layer):
    """An arm swinging up from a (held) body's shoulder at constant angular speed."""

    offset: tuple[float, float] = (20.0, -10.0)
    length: float = 34.0
    angle: float = 0.3
    speed: float = 0.045  # radians per source frame
    thickness: int = 7
    color: tuple[int, int, int] = (255, 120, 40)

    def draw_layer(self, canvas: np.ndarray, time: float, anchor_at: tuple[float, float] | None) -> None:
        x, y = anchor_at or (0.0, 0.0)
        x0, y0 = x + self.offset[0], y + self.offset[1]
        angle = self.angle + self.speed * time
        x1, y1 = x0 + self.length * math.cos(angle), y0 - self.length * math.sin(angle)
        cv2.line(canvas, _fixed_point(x0, y0), _fixed_point(x1, y1), (30, 24, 40), self.thickness + 2,
                 cv2.LINE_AA, _SUBPIXEL_BITS)
        cv2.line(canvas, _fixed_point(x0, y0), _fixed_point(x1, y1), self.color, self.thickness,
                 cv2.LINE_AA, _SUBPIXEL_BITS)


@dataclass
class Glow(Layer):
    """A soft glow whose brightness changes every frame (a flicker, a flash building up)."""

    center: tuple[float, float] = (128.0, 72.0)
    radius: float = 60.0
    color: tuple[int, int, int] = (255, 240, 200)
    strength: float = 150.0
    holds: tuple[int, ...] = (1,)

    def intensity(self, time: float) -> float:
        return 0.5 + 0.5 * math.sin(1.7 * time)

    def draw_layer(self, canvas: np.ndarray, time: float, anchor_at: tuple[float, float] | None) -> None:
        height, width = canvas.shape[:2]
        ys, xs = np.ogrid[:height, :width]
        falloff = np.exp(-((xs - self.center[0]) ** 2 + (ys - self.center[1]) ** 2) / (2 * self.radius**2))
        light = (self.strength * self.intensity(time) * falloff)[..., None] * (np.array(self.color) / 255.0)
        canvas[...] = np.clip(np.round(canvas + light), 0, 255).astype(np.uint8)


@dataclass
class Caption(Layer):
    """Burned-in text scrolling on its own rhythm (ones: credits, a sign, a telop)."""

    text: str = "STSR 24 > 60"
    start: tuple[float, float] = (20.0, 130.0)
    velocity: tuple[float, float] = (1.5, 0.0)
    scale: float = 0.6
    holds: tuple[int, ...] = (1,)

    def draw_layer(self, canvas: np.ndarray, time: float, anchor_at: tuple[float, float] | None) -> None:
        x, y = self.start[0] + self.velocity[0] * time, self.start[1] + self.velocity[1] * time
        height, width = canvas.shape[:2]
        # putText has no sub-pixel origin: draw at the whole pixel, then shift colour and cover by the fraction.
        paint = np.zeros((height, width, 3), np.float32)
        cover = np.zeros((height, width), np.float32)
        origin = (math.floor(x), math.floor(y))
        for color, thickness in (((20, 20, 20), 4), ((255, 255, 255), 2)):
            mask = np.zeros((height, width), np.uint8)
            cv2.putText(mask, self.text, origin, cv2.FONT_HERSHEY_SIMPLEX, self.scale, 255, thickness, cv2.LINE_AA)
            alpha = mask.astype(np.float32) / 255.0
            paint = paint * (1 - alpha[..., None]) + alpha[..., None] * np.array(color, np.float32)
            cover = np.maximum(cover, alpha)
        shift = np.float32([[1, 0, x - origin[0]], [0, 1, y - origin[1]]])
        paint = cv2.warpAffine(paint, shift, (width, height), flags=cv2.INTER_LINEAR)
        cover = cv2.warpAffine(cover, shift, (width, height), flags=cv2.INTER_LINEAR)[..., None]
        colour = np.where(cover > 1e-6, paint / np.maximum(cover, 1e-6), 0.0)
        canvas[...] = np.clip(np.round(canvas * (1 - cover) + colour * cover), 0, 255).astype(np.uint8)


@dataclass
class TurningHead(Layer):
    """A big head turning fast from one side to the other (a drawn turn, not a cut), drifting sideways."""

    start: tuple[float, float] = (128.0, 80.0)
    velocity: tuple[float, float] = (1.0, 0.0)
    radius: tuple[float, float] = (52.0, 60.0)
    turn_at: float = 36.0
    turn_frames: float = 6.0
    skin: tuple[int, int, int] = (250, 215, 190)
    hair: tuple[int, int, int] = (60, 30, 140)

    def turn(self, time: float) -> float:
        """-1 (facing left) to 1 (facing right), smooth."""
        u = min(1.0, max(0.0, (time - self.turn_at) / self.turn_frames + 0.5))
        return 2.0 * (u * u * (3 - 2 * u)) - 1.0

    def draw_layer(self, canvas: np.ndarray, time: float, anchor_at: tuple[float, float] | None) -> None:
        x, y = self.start[0] + self.velocity[0] * time, self.start[1] + self.velocity[1] * time
        facing = self.turn(time)
        rx, ry = self.radius

        def ellipse(cx: float, cy: float, ax: float, ay: float, color: tuple[int, int, int], width: int) -> None:
            cv2.ellipse(canvas, _fixed_point(cx, cy), _fixed_point(max(ax, 0.5), max(ay, 0.5)), 0, 0, 360, color,
                        width, cv2.LINE_AA, _SUBPIXEL_BITS)

        ellipse(x, y, rx, ry, self.hair, -1)
        # The face: a skin ellipse sliding to the side the head faces, squeezed at the middle of the turn.
        face_x = x + 0.45 * rx * facing
        ellipse(face_x, y + 0.12 * ry, rx * (0.55 + 0.2 * abs(facing)), ry * 0.8, self.skin, -1)
        for side in (-1, 1):
            eye_x = face_x + side * rx * 0.28 * (0.6 + 0.4 * abs(facing)) + 0.15 * rx * facing
            ellipse(eye_x, y, rx * 0.09, ry * 0.16, (40, 60, 200), -1)
        ellipse(x, y, rx, ry, (30, 24, 40), 3)


@dataclass
class Scene:
    """A clip: size, length, background and characters; renders source frames and truth."""

    width: int = 320
    height: int = 180
    frames: int = 48
    rate: Fraction = Fraction(24000, 1001)
    background: Background = field(default_factory=Background)
    characters: list[Character | Layer] = field(default_factory=list)
    #: frame index at which a cut to a second layout happens (None: no cut)
    cut_at: int | None = None
    #: (first frame, length in frames) of a cross-dissolve to a second shot (None: none)
    dissolve: tuple[int, int] | None = None
    #: standard deviation (0-255) of per-frame film grain in the shipped frames (the truth has none)
    grain: float = 0.0
    #: H.264 CRF the benchmark encodes this scene's source with (None: the writer's default)
    crf: int | None = None

    def _layers_at(self, times: Sequence[float], background_time: float) -> np.ndarray:
        frame = self.background.render(self.width, self.height, background_time, self.frames)
        scale = self.height / 180
        for character, time in zip(self.characters, times, strict=True):
            if isinstance(character, Layer):
                anchor_at = None
                if character.anchor is not None:
                    anchor_at = self.characters[character.anchor].position(times[character.anchor])
                character.draw_layer(frame, time, anchor_at)
            else:
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
        frame = self._apply_cut(self._layers_at(times, background_time), index)
        if self.grain > 0:
            noise = np.random.default_rng((self.background.seed, index)).normal(0.0, self.grain, frame.shape)
            frame = np.clip(np.round(frame + noise), 0, 255).astype(np.uint8)
        return frame

    def drawing_frame(self, index: int) -> np.ndarray:
        """The drawings shown at frame ``index`` without grain: what the animator drew."""
        characters, background = self.drawing_times(index)
        return self.render_poses(characters, background, float(index))

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

    def dissolve_share(self, time: float) -> float:
        """How much of the second shot a cross-dissolve shows at ``time`` (0 before, 1 after)."""
        if self.dissolve is None:
            return 0.0
        first, length = self.dissolve
        return min(1.0, max(0.0, (time - first) / length))

    def _apply_cut(self, frame: np.ndarray, time: float) -> np.ndarray:
        if self.dissolve is not None:
            share = self.dissolve_share(time)
            if share > 0:
                second = frame[:, ::-1, ::-1].astype(np.float32)
                frame = np.clip(np.round((1 - share) * frame + share * second), 0, 255).astype(np.uint8)
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
