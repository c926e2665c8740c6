"""Scene cut detection on the fly, one frame at a time.

The resampler must never interpolate across a cut, so every frame is tagged with
``cut_before`` as it is decoded. Detectors follow PySceneDetect's idea of a small
interface (``is_cut(frame) -> bool`` per frame in order) so others can be plugged in.

:class:`ContentCutDetector` scores the change between consecutive frames as the
mean absolute difference of HSV channels (PySceneDetect's content score, on a
small thumbnail). A fixed threshold alone fires on fast pans and flashes and
misses cuts between similar shots, so the score must also stand out against the
recent scores (an adaptive ratio, as in PySceneDetect's AdaptiveDetector). Held
frames score 0 and are never cuts.

A fast drawn motion (a head turning in two drawings over a fast pan) passes both
tests, so a candidate must also be unexplained by motion: the previous thumbnail is
warped onto the new one with dense optical flow and the score recomputed; a cut keeps
its score (nothing in the new shot matches the old), a drawn turn loses most of it
(measured on the benchmark's ``fast_turn`` scene: 29.6 -> 13.6, a cut: 64.6 -> 60.8;
see ``benchmarks/stutter/cuts.py``). The flow runs only on candidates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque

import cv2
import numpy as np


class CutDetector(ABC):
    """Tells, frame by frame in decode order, whether a cut precedes the frame."""

    @abstractmethod
    def is_cut(self, rgb: np.ndarray) -> bool:
        """Feed the next RGB uint8 frame (H, W, 3)."""


class NoCutDetector(CutDetector):
    """``--no-scene-detect``: one shot."""

    def is_cut(self, rgb: np.ndarray) -> bool:
        return False


class ContentCutDetector(CutDetector):
    """HSV content score with an absolute threshold and an adaptive ratio."""

    def __init__(self, threshold: float = 27.0, min_ratio: float = 3.0, window: int = 4,
                 min_shot_frames: int = 2, thumbnail_width: int = 128,
                 motion_threshold: float | None = 20.0) -> None:
        self.threshold = threshold
        #: a candidate's motion-compensated score must reach this too (None: no motion check)
        self.motion_threshold = motion_threshold
        self._flow: cv2.DISOpticalFlow | None = None
        self.min_ratio = min_ratio
        self.min_shot_frames = min_shot_frames
        self.thumbnail_width = thumbnail_width
        self._previous: np.ndarray | None = None
        self._recent: deque[float] = deque(maxlen=window)
        self._frames_since_cut = 0
        self.last_score = 0.0

    def _thumbnail(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        small_height = max(8, round(height * self.thumbnail_width / width))
        small = cv2.resize(rgb, (self.thumbnail_width, small_height), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_RGB2HSV).astype(np.float32)

    def score(self, hsv0: np.ndarray, hsv1: np.ndarray) -> float:
        """Mean absolute change of hue, saturation and value (0-255 scale)."""
        delta = np.abs(hsv1 - hsv0)
        delta[..., 0] = np.minimum(delta[..., 0], 180 - delta[..., 0]) * (255 / 90)  # hue is circular, 0-179
        return float(delta.reshape(-1, 3).mean(axis=0).mean())

    def motion_compensated_score(self, hsv0: np.ndarray, hsv1: np.ndarray) -> float:
        """The score after warping ``hsv0`` onto ``hsv1`` along dense flow: change motion cannot explain."""
        if self._flow is None:
            self._flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        gray0, gray1 = (cv2.cvtColor(cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB), cv2.COLOR_RGB2GRAY)
                        for hsv in (hsv0, hsv1))
        flow = self._flow.calc(gray1, gray0, None)  # where each new pixel came from
        height, width = gray0.shape
        xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        warped = cv2.remap(hsv0, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        return self.score(warped, hsv1)

    def is_cut(self, rgb: np.ndarray) -> bool:
        hsv = self._thumbnail(rgb)
        previous, self._previous = self._previous, hsv
        self._frames_since_cut += 1
        if previous is None:
            return False
        value = self.score(previous, hsv)
        self.last_score = value
        moving = [s for s in self._recent if s > 0.5]  # ignore held frames
        baseline = float(np.mean(moving)) if moving else 0.0
        self._recent.append(value)
        cut = (
            value >= self.threshold
            and value >= self.min_ratio * baseline
            and self._frames_since_cut > self.min_shot_frames
            and (self.motion_threshold is None
                 or self.motion_compensated_score(previous, hsv) >= self.motion_threshold)
        )
        if cut:
            self._frames_since_cut = 0
        return cut


def create_detector(enabled: bool = True) -> CutDetector:
    return ContentCutDetector() if enabled else NoCutDetector()
