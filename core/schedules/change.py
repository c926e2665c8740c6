"""Where the picture changes, region by region, and which changes are new drawings.

The ``cadence`` schedule's eyes: :class:`RegionChangeMeter` reduces a frame to a small
analysis image, measures per-region change between consecutive frames and decides
which changes are drawings (as opposed to compression noise). It accepts ``torch``
tensors, numpy images, objects with an ``analysis_image()`` method, or plain numbers
(one region each, for tests).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


@dataclass
class RegionChangeMeter:
    """How much each region of the picture changed between two frames, and which changes are drawings.

    Pictures are reduced to at most ``analysis_height`` rows (area averaging also
    averages away compression noise) and cut into ``block`` x ``block`` regions; a
    region's change is its mean absolute difference (0-255 scale). Numbers and
    sequences of numbers are their own regions.

    A change counts as a new drawing when it is above ``ratio`` times the region's
    largest change in the frames around it, and above ``floor`` -- or only above
    ``steady_floor`` in a region that changes that much in every frame around. That
    is what tells a slow pan over a smooth background (small changes, every frame)
    from compression noise on a held character next to it (small changes between
    large ones, or next to nothing), which no single threshold separates. A region
    that changes in every frame around by at least ``continual_share`` of its largest
    change, and by more than ``continual_median`` of it in half of them (a camera shaking or
    zooming on ones, whose steps shrink where it turns), is drawn in every frame: by
    the ratio alone its slow steps passed for holds and put the camera half a frame
    off there. A pan's small steps under a character's edge on fours (one large change
    among small ones) stay below that, so the region follows the character. Where the
    camera turns, its step can fall to a tenth of the others: when ``camera_turn`` of the
    picture is such a region and half of those slow down together, once in the frames
    around, those slow steps are drawings too.

    Light is told from lines (:meth:`kinds`): a glow or a flash brightens a region
    as a whole, a drawing moves lines in it. A glow on ones over a character on twos
    changes the character's regions in every frame, in steps of any size (a flicker),
    so by the change alone the character looks drawn on ones and the glow's small
    steps look like holds. A region whose change less its mean (*structure*) reaches
    ``structure_share`` of its change nearby has lines: where in ``steady_light`` of
    the frames around its brightness changes without its lines (a light over it),
    its drawings are judged on the structure alone (the character's twos, not the
    glow's ones). A region without lines is lit only: any
    change of its mean brightness above ``floor`` is a drawing, however small beside
    the others, and above ``steady_floor`` in a region that changes in every frame
    around (a glow's faint edge). A light is continuous: a region lit only whose brightness
    changes in ``continuous_light`` of the frames around is drawn in every frame, also where
    its steps shrink to nothing as the light turns (at its brightest or darkest), which would
    otherwise pass for holds and make a layer on twos of it.
    """

    analysis_height: int = 144
    block: int = 8
    floor: float = 2.0
    steady_floor: float = 0.7
    ratio: float = 0.35
    #: a region whose every change around is at least this share of its largest, and whose median
    #: change around is above ``continual_median`` of it, is on ones (a shaking camera)
    continual_share: float = 0.2
    continual_median: float = 0.45
    #: where at least this share of the regions changes much in every frame around (a camera shaking on
    #: ones) and half of those take their one slow step of those frames together, the camera turns: the
    #: slow steps are drawings too, however slow (None: the rule is off)
    camera_turn: float | None = 0.25
    #: a region whose largest change near a node is smaller does not constrain the node
    informative: float = 4.0
    number_tolerance: float = 1e-9
    structure_share: float = 0.3
    #: share of the frames around in which a region's change is mostly light for it to be under a light
    steady_light: float = 0.4
    #: share of the frames around in which a region lit only changes for it to be a light, drawn in every frame
    continuous_light: float = 0.5

    def thumbnail(self, frame: Any) -> np.ndarray:
        """A small float32 array standing for ``frame``: (h, w, 3) for pictures, (n,) for numbers."""
        image = analysis_image(frame, self.analysis_height)
        if image is None:
            return np.atleast_1d(np.asarray(frame, dtype=np.float64)).ravel()
        height, width = image.shape[:2]
        if height > self.analysis_height:
            small_width = max(self.block, round(width * self.analysis_height / height))
            image = cv2.resize(image, (small_width, self.analysis_height), interpolation=cv2.INTER_AREA)
        return image.astype(np.float32)

    def difference(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Change per region (flattened) from ``previous`` to ``current``."""
        if previous.ndim == 1:
            return np.abs(current - previous)
        return self._region_change(current - previous)

    def kinds(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray | None:
        """Per region (rows): its structure change (the change less its mean) and its light change (|mean|).

        None for numbers and for pictures smaller than a region.
        """
        return None if previous.ndim == 1 else self._region_kinds(current - previous)

    def measure(self, previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`difference` and :meth:`kinds` together, from one subtraction (what a schedule stores per frame)."""
        if previous.ndim == 1:
            return np.abs(current - previous), None
        change = current - previous
        return self._region_change(change), self._region_kinds(change)

    def _region_change(self, change: np.ndarray) -> np.ndarray:
        absolute = np.abs(change).mean(axis=2)
        height, width = absolute.shape
        if height < self.block or width < self.block:
            return np.array([absolute.mean()])
        rows, cols = height // self.block, width // self.block
        cropped = absolute[: rows * self.block, : cols * self.block]
        return cropped.reshape(rows, self.block, cols, self.block).mean(axis=(1, 3)).ravel()

    def _region_kinds(self, change: np.ndarray) -> np.ndarray | None:
        height, width = change.shape[:2]
        if height < self.block or width < self.block:
            return None
        rows, cols = height // self.block, width // self.block
        cells = change[: rows * self.block, : cols * self.block].reshape(rows, self.block, cols, self.block, -1)
        mean = cells.mean(axis=(1, 3), keepdims=True)
        return np.stack([np.abs(cells - mean).mean(axis=(1, 3, 4)).ravel(), np.abs(mean).mean(axis=(1, 3, 4)).ravel()])

    def judge(self, index: int, changes: dict[int, np.ndarray], kinds: dict[int, np.ndarray | None], before: int,
              after: int, numbers: bool) -> np.ndarray:
        """:meth:`drawings` of frame ``index`` among the recorded frames from ``before`` back to ``after`` on.

        ``changes`` / ``kinds``: a schedule's records of :meth:`measure` per frame; the light
        test needs the kinds of every frame around (pictures), else the change alone is judged.
        """
        around = [k for k in range(index - before, index + after + 1) if k in changes]
        kinds_around = [kinds.get(k) for k in around]
        known = all(kind is not None for kind in kinds_around)
        return self.drawings(changes[index], np.stack([changes[k] for k in around]), numbers, kinds.get(index),
                             np.stack(kinds_around) if known else None)

    def drawings(self, change: np.ndarray, neighbourhood: np.ndarray, numbers: bool,
                 kinds: np.ndarray | None = None, kinds_around: np.ndarray | None = None) -> np.ndarray:
        """Which regions got a new drawing, given their changes in the frames around (rows).

        ``kinds`` / ``kinds_around``: :meth:`kinds` of this change and of the ones around
        (``(frames, 2, regions)``), to tell light from lines; without them, the change alone.
        """
        if numbers:
            return change > np.maximum(self.number_tolerance, self.ratio * neighbourhood.max(axis=0))
        drawn = self._drawn(change, neighbourhood)
        if kinds is None or kinds_around is None:
            return drawn
        structure = kinds_around[:, 0]
        largest = neighbourhood.max(axis=0)
        lines = structure.max(axis=0) > self.structure_share * largest
        # Lines under a light that changes by itself in many frames around (a glow flickering over a
        # character on twos: every frame the character holds): its steps, large or small, would hide
        # the lines' own drawings or pass for them. A flat shape moving in also changes a region's
        # brightness, but once; a character on ones moves its lines with it in every frame.
        mostly_light = structure < self.structure_share * neighbourhood
        light = (kinds_around[:, 1] > self.floor) & mostly_light
        lit = np.mean(light, axis=0) >= self.steady_light
        by_lines = np.where(lit, self._drawn(kinds[0], structure), drawn)
        steady = neighbourhood.min(axis=0) > self.steady_floor
        brightened = (kinds[1] > self.floor) | (steady & (kinds[1] > self.steady_floor))
        glowing = (kinds_around[:, 1] > self.steady_floor) & mostly_light
        shining = np.mean(glowing, axis=0) >= self.continuous_light
        return np.where(lines, by_lines, drawn | brightened | shining)

    def _drawn(self, change: np.ndarray, neighbourhood: np.ndarray) -> np.ndarray:
        # Small changes count only in a region that changes in every frame around (a slow pan),
        # never in one that is mostly still (noise next to a moving or held character); in one that
        # changes much in every frame (a camera shaking on ones), its slowest steps are drawings too.
        least, largest = neighbourhood.min(axis=0), neighbourhood.max(axis=0)
        steady = least > self.steady_floor
        large_enough = (change > self.floor) | (steady & (change > self.steady_floor))
        by_ratio = self.ratio * largest
        busy = steady & (np.median(neighbourhood, axis=0) > self.continual_median * largest)
        continual = busy & (least > self.continual_share * largest)
        drawn = large_enough & ((change > by_ratio) | continual)
        if self.camera_turn is not None and busy.mean() >= self.camera_turn:
            # Where the camera turns its step can fall to a tenth of the others (robustness seed 2 scene
            # 20: 1.2 against 7-9), under ``continual_share``. Most of the picture slows then, together and
            # once in the frames around; noise between a character's drawings on twos is slow every other
            # frame, and a region slowing alone keeps the ratio's verdict.
            turning = busy & large_enough & ~drawn & ((neighbourhood <= by_ratio).sum(axis=0) <= 1)
            if turning.sum() >= 0.5 * busy.sum():
                drawn |= turning
        return drawn


def analysis_image(frame: Any, height: int) -> np.ndarray | None:
    """The frame as an (H, W, 3) array on the 0-255 scale (tensors already at about ``height`` rows)."""
    render = getattr(frame, "analysis_image", None)
    if callable(render):
        return np.asarray(render(), dtype=np.float32)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(frame, torch.Tensor) and frame.ndim == 3:
        image = frame.detach().float()
        if image.shape[-2] > height:
            # Average down on the device: a small copy to the CPU, and fast (1080p: ~15 ms on a CPU).
            size = (height, max(1, round(image.shape[-1] * height / image.shape[-2])))
            image = torch.nn.functional.adaptive_avg_pool2d(image[None], size)[0]
        return (image.clamp(0, 1) * 255).permute(1, 2, 0).cpu().numpy()
    if isinstance(frame, np.ndarray) and frame.ndim == 3:
        return frame.astype(np.float32)
    return None




__all__ = ["RegionChangeMeter", "analysis_image"]
