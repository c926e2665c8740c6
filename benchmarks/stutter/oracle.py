"""A perfect interpolator: frames are layer poses, in-betweens are exact, pictures rendered on demand.

With it the schedules' own stutter is measured apart from any model's errors: an
in-between of two frames is the frame whose every layer is at the in-between pose
(what an ideal VFI model produces), and the poses of every output frame are known
exactly, so the metrics need no tracking.

Time maps (``supports_time_maps``): an in-between asked with a per-pixel map moves each
layer by the map's **median over the pixels that show where the layer is**: where its
drawings at the two frames' poses differ (edges, outlines, patches, a changed look; a
flat interior looks the same at any time, so a real model's time there is invisible),
grown by 2 px; the background's: every pixel no opaque layer covers. The median, not the
mean: a real model renders a layer's bulk at the time the bulk of those pixels ask for,
and the smooth band where two regions' times meet should not shift it. What
the median hides -- a map that varies *within* a layer, which a real model would render
as a distortion -- is counted instead: :attr:`OracleInterpolator.worst_tear` is the
largest share of a layer's pixels whose map value is more than :data:`TEAR` from the
layer's own. Passes composited by masks (:class:`CompositeFrame`) render as the masked
sum of their pictures (a layer split between two passes shows as a ghost in PSNR and
fidelity) and pose each layer at the mask-weighted mean of its poses, over the pixels where it
can show (:func:`shown_masks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import cv2
import numpy as np

from stsr.eval.synthetic import Glow, Layer, Scene


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

    @classmethod
    def composite(cls, images: Sequence[PoseFrame], weights: Sequence[np.ndarray]) -> CompositeFrame:
        """Passes of one output composited by per-pixel weights (what the ``regional`` schedule does)."""
        return CompositeFrame(tuple((np.asarray(w, np.float32), image) for image, w in zip(images, weights,
                                                                                          strict=True)))


#: a map value further than this from its layer's own counts as tearing the layer
TEAR = 0.05


def layer_drawing(scene: Scene, layer: int, characters: Sequence[float]) -> np.ndarray:
    """Layer ``layer`` alone at the poses ``characters``, drawn over black and over white: (2, H, W, 3).

    A glow is its light's reach (where it is at least a tenth of its peak), over both.
    """
    character = scene.characters[layer]
    anchor_pose = characters[character.anchor] if getattr(character, "anchor", None) is not None else None
    key = (id(scene), layer, characters[layer], anchor_pose)
    cached = _DRAWINGS.get(key)
    if cached is not None and cached[0] is scene:  # the scene itself is kept: its id is never reused meanwhile
        return cached[1]
    height, width = scene.height, scene.width
    canvases = np.stack([np.full((height, width, 3), fill, np.uint8) for fill in (0, 255)])
    if isinstance(character, Glow):
        ys, xs = np.ogrid[:height, :width]
        reach = np.exp(-((xs - character.center[0]) ** 2 + (ys - character.center[1]) ** 2)
                       / (2 * character.radius**2)) > 0.1
        light = round(255 * character.intensity(characters[layer]))
        canvases[0][reach] = light
        canvases[1][reach] = 255 - light
    else:
        for canvas in canvases:
            if isinstance(character, Layer):
                anchor = None if character.anchor is None else \
                    scene.characters[character.anchor].position(characters[character.anchor])
                character.draw_layer(canvas, characters[layer], anchor)
            else:
                character.draw(canvas, characters[layer], scene.height / 180)
    if len(_DRAWINGS) > 300:
        _DRAWINGS.clear()
    _DRAWINGS[key] = (scene, canvases)
    return canvases


_DRAWINGS: dict[tuple, tuple[Scene, np.ndarray]] = {}


def layer_coverage(scene: Scene, layer: int, characters: Sequence[float]) -> np.ndarray:
    """Pixels (H, W) that layer ``layer`` covers at the poses ``characters`` (a glow: its reach)."""
    drawn = layer_drawing(scene, layer, characters)
    if isinstance(scene.characters[layer], Glow):
        return drawn[0].any(axis=2) | (drawn[1] != 255).any(axis=2)
    return (drawn[0] != 0).any(axis=2) | (drawn[1] != 255).any(axis=2)


def layer_masks(scene: Scene, poses: Sequence[Sequence[float]]) -> list[np.ndarray]:
    """Per layer, then the background: the pixels that say where the layer is among the pose tuples.

    For a layer: where its drawings at the given poses differ (what an interpolator's time
    moves visibly: edges, outlines, patches, a changed look), grown by 2 px; a flat interior,
    which looks the same at any time, does not count. Where they do not differ (the layer is
    held), its coverage. The background: every pixel no opaque layer covers.
    """
    grow = np.ones((5, 5), np.uint8)
    masks = []
    for layer in range(len(scene.characters)):
        drawings = [layer_drawing(scene, layer, characters) for characters in poses]
        differs = np.zeros((scene.height, scene.width), bool)
        for other in drawings[1:]:
            differs |= (other != drawings[0]).any(axis=(0, 3))
        if differs.any():
            masks.append(cv2.dilate(differs.astype(np.uint8), grow).astype(bool))
        else:
            masks.append(np.logical_or.reduce([layer_coverage(scene, layer, characters) for characters in poses]))
    opaque = [np.logical_or.reduce([layer_coverage(scene, layer, characters) for characters in poses])
              for layer, c in enumerate(scene.characters) if not isinstance(c, Glow)]
    background = ~np.logical_or.reduce(opaque) if opaque else np.ones((scene.height, scene.width), bool)
    return [*masks, background]


def drawn_over(scene: Scene, layer: int) -> list[int]:
    """The characters drawn over character ``layer``: the later ones (a glow covers nothing)."""
    return [other for other in range(layer + 1, len(scene.characters)) if not isinstance(scene.characters[other], Glow)]


def shown_masks(scene: Scene, masks: Sequence[np.ndarray], poses: Sequence[Sequence[float]]) -> list[np.ndarray]:
    """``masks`` (:func:`layer_masks`) less the pixels where a later character covers the layer at every pose tuple.

    Characters are drawn in order, each over the ones before it: a pixel of a character that a
    later one covers in every picture a composite is made of shows that later one whatever its
    weights there, so it says nothing about the pose the composite shows the character at. With
    masks smoothed over 8 px regions the two kinds of pixel had about the same weights; with a
    border drawn along the pixels (``stsr.schedules.ownership``) the covered ones go with the
    character on top. A layer covered everywhere keeps its whole mask.
    """
    result = list(masks)
    for layer in range(len(scene.characters)):
        later = drawn_over(scene, layer)
        if not later or not masks[layer].any():
            continue
        covered = np.ones_like(masks[layer])
        for characters in poses:
            covered &= np.logical_or.reduce([layer_coverage(scene, other, characters) for other in later])
        shown = masks[layer] & ~covered
        if shown.any():
            result[layer] = shown
    return result


def layer_timesteps(masks: Sequence[np.ndarray], time_map: np.ndarray) -> tuple[list[float], float]:
    """Each layer's timestep (the map's median over its mask) and the worst tear share among them."""
    values, tear = [], 0.0
    for mask in masks:
        inside = time_map[mask] if mask.any() else time_map.ravel()
        value = float(np.median(inside))
        values.append(value)
        tear = max(tear, float(np.mean(np.abs(inside - value) > TEAR)))
    return values, tear


@dataclass(frozen=True, eq=False)
class CompositeFrame:
    """Passes composited by masks: pictures summed by mask, each layer posed at its mask-weighted pose."""

    parts: tuple[tuple[np.ndarray, PoseFrame], ...]
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def scene(self) -> Scene:
        return self.parts[0][1].scene

    def _poses(self) -> tuple[tuple[float, ...], float]:
        if "poses" not in self._cache:
            frames = [frame for _, frame in self.parts]
            poses = [frame.characters for frame in frames]
            masks = shown_masks(self.scene, layer_masks(self.scene, poses), poses)
            posed = [(*frame.characters, frame.background) for frame in frames]
            result = []
            for layer, mask in enumerate(masks):
                weights = np.array([float(part_mask[mask].mean()) if mask.any() else float(part_mask.mean())
                                    for part_mask, _ in self.parts])
                weights = weights / max(weights.sum(), 1e-9)
                result.append(float(sum(w * pose[layer] for w, pose in zip(weights, posed, strict=True))))
            self._cache["poses"] = (tuple(result[:-1]), result[-1])
        return self._cache["poses"]

    @property
    def characters(self) -> tuple[float, ...]:
        return self._poses()[0]

    @property
    def background(self) -> float:
        return self._poses()[1]

    def render(self) -> np.ndarray:
        if "rgb" not in self._cache:
            total = sum(mask[..., None] * frame.render().astype(np.float32) for mask, frame in self.parts)
            self._cache["rgb"] = np.clip(np.round(total), 0, 255).astype(np.uint8)
        return self._cache["rgb"]

    def analysis_image(self) -> np.ndarray:
        return self.render()

    def poses(self) -> tuple[float, ...]:
        return self.characters

    def as_pose(self) -> PoseFrame:
        """The frame with every layer at the pose the composite shows it at: what an ideal interpolator moves."""
        first = self.parts[0][1]
        return PoseFrame(self.scene, self.characters, self.background, first.shot_time)


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


OracleFrame = PoseFrame | MixFrame | CompositeFrame


def _parts(frame: OracleFrame) -> tuple[tuple[float, PoseFrame], ...]:
    if isinstance(frame, CompositeFrame):
        raise TypeError("a composite of passes is an output, never interpolated again")
    return ((1.0, frame),) if isinstance(frame, PoseFrame) else frame.parts


def mix_map(frame0: PoseFrame, frame1: PoseFrame, time_map: np.ndarray) -> tuple[OracleFrame, float]:
    """The ideal in-between with a time map: each layer at its own timestep; and the worst tear share."""
    if frame0.shot != frame1.shot:
        return mix(frame0, frame1, float(np.median(time_map))), 0.0
    masks = layer_masks(frame0.scene, [frame0.characters, frame1.characters])
    steps, tear = layer_timesteps(masks, np.asarray(time_map, np.float64))
    characters = tuple((1 - t) * a + t * b
                       for a, b, t in zip(frame0.characters, frame1.characters, steps[:-1], strict=True))
    t = steps[-1]
    background = (1 - t) * frame0.background + t * frame1.background
    shot_time = (1 - t) * frame0.shot_time + t * frame1.shot_time
    return PoseFrame(frame0.scene, characters, background, shot_time), tear


def mix(frame0: OracleFrame, frame1: OracleFrame, t: float) -> OracleFrame:
    """The ideal in-between: poses move linearly; frames of different shots cross-fade.

    A composite of passes (a node made of several mixes) moves from the poses it shows.
    """
    frame0 = frame0.as_pose() if isinstance(frame0, CompositeFrame) else frame0
    frame1 = frame1.as_pose() if isinstance(frame1, CompositeFrame) else frame1
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
    def __init__(self, frame0: OracleFrame, frame1: OracleFrame, owner: OracleInterpolator) -> None:
        self.frame0, self.frame1, self.owner = frame0, frame1, owner

    def frames_at(self, timesteps: Sequence[Fraction | float | np.ndarray]) -> list[OracleFrame]:
        frames = []
        for t in timesteps:
            if isinstance(t, np.ndarray):
                assert isinstance(self.frame0, PoseFrame) and isinstance(self.frame1, PoseFrame)
                frame, tear = mix_map(self.frame0, self.frame1, t)
                self.owner.worst_tear = max(self.owner.worst_tear, tear)
                frames.append(frame)
            else:
                frames.append(mix(self.frame0, self.frame1, float(t)))
        return frames


class OracleInterpolator:
    """The :class:`stsr.interpolators.base.Interpolator` interface over :class:`PoseFrame`."""

    name = "oracle"
    supports_time_maps = True

    def __init__(self) -> None:
        self.prepared = 0
        #: the largest share of a layer's pixels whose map value strays from the layer's own (see TEAR)
        self.worst_tear = 0.0

    def prepare(self, frame0: OracleFrame, frame1: OracleFrame) -> _OraclePair:
        self.prepared += 1
        return _OraclePair(frame0, frame1, self)

    def describe(self) -> str:
        return "oracle (ground-truth poses)"
