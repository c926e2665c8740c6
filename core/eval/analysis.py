"""Stutter as numbers and as a picture: per-frame motion of a video, held frames, stutter index.

Stutter is uneven motion: on twos every other frame repeats the previous one, so
the per-frame step along a moving object's path alternates between 0 and twice
its speed. Two numbers say how uneven it is:

* **stutter index** ``std(step) / mean(step)``: 0 for perfectly even motion, about 1
  for twos played as they are, 0.5 for a hitch every fifth frame;
* **held fraction**: share of steps under a quarter of the median step (or of the mean,
  when larger: with half the steps held the median is a held step).

:func:`video_motion` measures the per-frame motion of a whole video with dense
optical flow (OpenCV DIS on a small copy), which is what ``stsr analyze`` shows
for a source and for a converted output; the stutter benchmark measures it per
character with ground truth.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..io.video import decode, probe

#: a step under this share of the median step counts as held
HELD_SHARE = 0.25


def stutter_index(steps: Sequence[float] | np.ndarray) -> float:
    """``std / mean`` of the per-frame steps; NaN when there is no motion to judge."""
    values = np.asarray(steps, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan")
    mean = values.mean()
    if abs(mean) < 1e-12:
        return float("nan")
    return float(values.std() / abs(mean))


def held_fraction(steps: Sequence[float] | np.ndarray) -> float:
    """Share of steps smaller than a quarter of the median step (repeated pictures).

    When half the steps or more are held (twos, threes played as they are) the median
    is itself a held step; the mean stands in for it when it is larger.
    """
    values = np.abs(np.asarray(steps, dtype=np.float64))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan")
    reference = max(float(np.median(values)), float(values.mean()))
    if reference <= 1e-12:
        return float("nan")
    return float((values < HELD_SHARE * reference).mean())


@dataclass
class MotionProfile:
    """Per-frame motion of a video: ``motion[i]`` is the mean displacement from frame i to i + 1."""

    path: Path
    rate: Fraction
    #: presentation time (seconds) of each frame pair's second frame
    times: np.ndarray
    #: mean optical-flow magnitude, pixels (at the video's own height) per frame
    motion: np.ndarray
    width: int
    height: int

    @property
    def speed(self) -> np.ndarray:
        """Motion per second, comparable across frame rates."""
        intervals = np.diff(np.concatenate(([self.times[0] - 1 / float(self.rate)], self.times)))
        return self.motion / np.maximum(intervals, 1e-9)

    @property
    def moving(self) -> bool:
        """False for a still picture (nothing to judge)."""
        return bool(self.motion.size) and float(np.mean(self.motion)) > 0.02

    @property
    def stutter_index(self) -> float:
        return stutter_index(self.motion) if self.moving else float("nan")

    @property
    def held_fraction(self) -> float:
        return held_fraction(self.motion) if self.moving else float("nan")

    def summary(self) -> str:
        rate = float(self.rate)
        text = f"{self.path.name}: {self.motion.size + 1} frames at {rate:.3f} fps, {self.width}x{self.height}"
        if not self.moving:
            return text + "; no motion to judge"
        return (f"{text}; mean motion {self.motion.mean():.2f} px/frame, "
                f"held {self.held_fraction:.0%} of frames, stutter index {self.stutter_index:.2f}")


class _FlowMeter:
    """Mean DIS flow magnitude between consecutive grayscale thumbnails."""

    def __init__(self) -> None:
        self._dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def motion(self, gray0: np.ndarray, gray1: np.ndarray) -> float:
        flow = self._dis.calc(gray0, gray1, None)
        return float(np.linalg.norm(flow, axis=2).mean())


def video_motion(path: str | os.PathLike[str], analysis_height: int = 180, start: Fraction | None = None,
                 duration: Fraction | None = None) -> MotionProfile:
    """Per-frame motion of a video's first stream (optionally a part of it)."""
    path = Path(path)
    info = probe(path)
    meter = _FlowMeter()
    height = min(analysis_height, info.height)
    scale = info.height / height
    times: list[float] = []
    motion: list[float] = []
    previous: np.ndarray | None = None
    end = None if duration is None else (start or Fraction(0)) + duration
    rate = info.frame_rate
    for frame in decode(path, height=height, start_time=start):
        if end is not None and frame.time >= end:
            break
        gray = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
        if previous is not None:
            motion.append(meter.motion(previous, gray) * scale)
            times.append(float(frame.time))
        previous = gray
    return MotionProfile(path, Fraction(rate), np.array(times), np.array(motion), info.width, info.height)


def plot_motion(profiles: Sequence[MotionProfile], target: str | os.PathLike[str], title: str | None = None) -> Path:
    """One PNG: speed (pixels per second) of each profile over time; held frames sit on zero."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 3.6), dpi=90)
    for profile, style in zip(profiles, ("-o", "-", "-", "-"), strict=False):
        label = f"{profile.path.name} ({float(profile.rate):.3f} fps"
        label += f", SI {profile.stutter_index:.2f})" if profile.moving else ")"
        axis.plot(profile.times, profile.speed, style, markersize=2.5, linewidth=1, label=label)
    axis.set_xlabel("time (s)")
    axis.set_ylabel("motion (px per second)")
    axis.set_ylim(bottom=0)
    axis.set_title(title or "per-frame motion: flat is smooth, drops to zero are held frames")
    axis.legend(loc="upper right", fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    target = Path(target)
    figure.savefig(target)
    plt.close(figure)
    return target
