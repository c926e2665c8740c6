"""A perfect interpolator: frames are layer poses, in-betweens are exact, pictures rendered on demand.

With it the schedules' own stutter is measured apart from any model's errors: an
in-between of two frames is the frame whose every layer is at the in-between pose
(what an ideal VFI model produces), and the poses of every output frame are known
exactly, so the metrics need no tracking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from stsr.eval.synthetic import Scene


@dataclass(frozen=True, eq=False)
class PoseFrame:
    """Every character's pose and the background's, in source frames; ``shot_time`` picks the side of a cut."""

    scene: Scene = field(repr=False)
    characters: tuple[float, ...]
    background: float
    shot_time: float
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def source(cls, scene: Scene, index: int) -> PoseFrame:
        characters, background = scene.drawing_times(index)
        return cls(scene, tuple(characters), background, float(index))

    @property
    def shot(self) -> bool:
        return self.scene.cut_at is not None and self.shot_time >= self.scene.cut_at

    def render(self) -> np.ndarray:
        if "rgb" not in self._cache:
            self._cache["rgb"] = self.scene.render_poses(self.characters, self.background, self.shot_time)
        return self._cache["rgb"]

    def analysis_image(self) -> np.ndarray:
        """What :class:`stsr.schedules.cadence.RegionChangeMeter` looks at: the rendered picture."""
        return self.render()

    def poses(self) -> tuple[float, ...]:
        return self.characters


@dataclass(frozen=True, eq=False)
class MixFrame:
    """A cross-fade of frames from different shots (only a schedule that blends across a cut makes one)."""

    parts: tuple[tuple[float, PoseFrame], ...]

    def render(self) -> np.ndarray:
        total = sum(weight * part.render().astype(np.float32) for weight, part in self.parts)
        return np.clip(np.round(total), 0, 255).astype(np.uint8)

    def analysis_image(self) -> np.ndarray:
        return self.render()

    def poses(self) -> tuple[float, ...]:
        return tuple(float("nan") for _ in self.parts[0][1].characters)


OracleFrame = PoseFrame | MixFrame


def _parts(frame: OracleFrame) -> tuple[tuple[float, PoseFrame], ...]:
    return ((1.0, frame),) if isinstance(frame, PoseFrame) else frame.parts


def mix(frame0: OracleFrame, frame1: OracleFrame, t: float) -> OracleFrame:
    """The ideal in-between: poses move linearly; frames of different shots cross-fade."""
    if isinstance(frame0, PoseFrame) and isinstance(frame1, PoseFrame) and frame0.shot == frame1.shot:
        if t == 0:
            return frame0
        if t == 1:
            return frame1
        characters = tuple((1 - t) * a + t * b for a, b in zip(frame0.characters, frame1.characters, strict=True))
        background = (1 - t) * frame0.background + t * frame1.background
        # The shot time moves too: a cross-dissolve's share is linear in it (within a shot nothing else uses it).
        shot_time = (1 - t) * frame0.shot_time + t * frame1.shot_time
        return PoseFrame(frame0.scene, characters, background, shot_time)
    parts = [(w * (1 - t), p) for w, p in _parts(frame0)] + [(w * t, p) for w, p in _parts(frame1)]
    return MixFrame(tuple((w, p) for w, p in parts if w > 0))


class _OraclePair:
    def __init__(self, frame0: OracleFrame, frame1: OracleFrame) -> None:
        self.frame0, self.frame1 = frame0, frame1

    def frames_at(self, timesteps: Sequence[Fraction | float]) -> list[OracleFrame]:
        return [mix(self.frame0, self.frame1, float(t)) for t in timesteps]


class OracleInterpolator:
    """The :class:`stsr.interpolators.base.Interpolator` interface over :class:`PoseFrame`."""

    name = "oracle"

    def __init__(self) -> None:
        self.prepared = 0

    def prepare(self, frame0: OracleFrame, frame1: OracleFrame) -> _OraclePair:
        self.prepared += 1
        return _OraclePair(frame0, frame1)

    def describe(self) -> str:
        return "oracle (ground-truth poses)"
