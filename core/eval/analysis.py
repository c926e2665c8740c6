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

For footage without ground truth, :func:`judder` looks at motion per block: dense
flow between consecutive frames, the mean flow magnitude of each 16-pixel block, and
within every window of 5 frames (none across a cut) the ``std / mean`` of each
moving block's magnitudes, averaged with the motion as weight: the **judder index**
(0 = every moving region moves evenly; a region on twos played as it is: about 1).
Alongside: the share of moving blocks' steps that stop dead (under a quarter of
the window's mean) and the *frozen share of motion* (the same, weighted by motion).
:func:`drawing_fidelity` compares a conversion with its source at the source's new
drawings (PSNR in the pixels that changed), the first constraint of
:mod:`stsr.schedules.base` measured without ground truth.
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
from ..scenecut import ContentCutDetector

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


#: frames per judder window, pixels per block, and the magnitude (px/frame at the analysis height)
#: a block's window mean must reach to count as moving
JUDDER_WINDOW = 5
JUDDER_BLOCK = 16
MOVING_BLOCK = 0.5
#: a step under this share of its window's mean is a stop
STOP_SHARE = 0.25


@dataclass
class Judder:
    """Per-block evenness of a video's motion (see the module docstring)."""

    #: motion-weighted mean of std/mean per moving block and window; NaN: nothing moves
    index: float
    #: share of moving blocks' steps that stop dead
    stopped_share: float
    #: the same weighted by motion: share of the motion during which the region stands still
    frozen_share: float
    #: windows judged (those across a cut are left out)
    windows: int

    def summary(self) -> str:
        if not np.isfinite(self.index):
            return "judder index: nothing moves"
        return (f"judder index {self.index:.2f} (0 = even), moving blocks stopped in {self.stopped_share:.0%} of "
                f"their steps, frozen share of motion {self.frozen_share:.0%} ({self.windows} windows)")


def block_magnitudes(pictures: Sequence[np.ndarray], analysis_height: int = 144,
                     block: int = JUDDER_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """Per pair of consecutive pictures: mean flow magnitude per block, and whether a cut lies between.

    Magnitudes are in pixels per frame at ``analysis_height``; shapes ``(pairs, rows, columns)``, ``(pairs,)``.
    """
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    detector = ContentCutDetector()
    magnitudes, cuts = [], []
    previous: np.ndarray | None = None
    for picture in pictures:
        cut = detector.is_cut(picture)
        height, width = picture.shape[:2]
        small_height = min(analysis_height, height)
        small_width = max(block, round(width * small_height / height))
        gray = cv2.cvtColor(cv2.resize(picture, (small_width, small_height), interpolation=cv2.INTER_AREA),
                            cv2.COLOR_RGB2GRAY)
        if previous is not None:
            flow = dis.calc(previous, gray, None)
            magnitude = np.linalg.norm(flow, axis=2)
            rows, columns = small_height // block, small_width // block
            blocks = magnitude[:rows * block, :columns * block].reshape(rows, block, columns, block).mean(axis=(1, 3))
            magnitudes.append(blocks)
            cuts.append(cut)
        previous = gray
    if not magnitudes:
        return np.zeros((0, 0, 0)), np.zeros(0, bool)
    return np.array(magnitudes), np.array(cuts, bool)


def judder_of_magnitudes(magnitudes: np.ndarray, cuts: np.ndarray, window: int = JUDDER_WINDOW) -> Judder:
    """The judder index and stop shares from per-block magnitudes (sliding windows, none across a cut)."""
    weighted_ratio = weight_total = 0.0
    stops = steps = 0
    frozen_motion = motion_total = 0.0
    windows = 0
    for first in range(0, len(magnitudes) - window + 1):
        if cuts[first:first + window].any():
            continue
        part = magnitudes[first:first + window]  # (window, rows, columns)
        mean = part.mean(axis=0)
        moving = mean >= MOVING_BLOCK
        if not moving.any():
            continue
        windows += 1
        ratio = part.std(axis=0)[moving] / mean[moving]
        weighted_ratio += float((ratio * mean[moving]).sum())
        weight_total += float(mean[moving].sum())
        stopped = part[:, moving] < STOP_SHARE * mean[moving]
        stops += int(stopped.sum())
        steps += stopped.size
        frozen_motion += float((stopped * mean[moving]).sum())
        motion_total += float(mean[moving].sum() * window)
    if weight_total == 0:
        return Judder(float("nan"), float("nan"), float("nan"), 0)
    return Judder(weighted_ratio / weight_total, stops / steps, frozen_motion / motion_total, windows)


def judder_of_pictures(pictures: Sequence[np.ndarray], analysis_height: int = 144) -> Judder:
    return judder_of_magnitudes(*block_magnitudes(pictures, analysis_height))


def _pictures(path: str | os.PathLike[str], height: int | None, start: Fraction | None,
              duration: Fraction | None) -> tuple[list[Fraction], list[np.ndarray]]:
    end = None if duration is None else (start or Fraction(0)) + duration
    times, pictures = [], []
    for frame in decode(Path(path), height=height, start_time=start):
        if end is not None and frame.time >= end:
            break
        times.append(frame.time)
        pictures.append(frame.rgb)
    return times, pictures


def judder(path: str | os.PathLike[str], analysis_height: int = 144, start: Fraction | None = None,
           duration: Fraction | None = None) -> Judder:
    """The judder index of a video (optionally a part of it), measured at ``analysis_height``."""
    info = probe(Path(path))
    _, pictures = _pictures(path, min(analysis_height, info.height), start, duration)
    return judder_of_pictures(pictures, analysis_height)


#: a pixel changed by more than this (0-255, any channel) belongs to a new drawing
DRAWING_CHANGE = 12
#: a source frame whose mean change is under this (0-255) is a held frame, not a new drawing
HELD_CHANGE = 0.8


def drawing_fidelity_of(source: Sequence[np.ndarray], source_times: Sequence[Fraction],
                        output: Sequence[np.ndarray], output_times: Sequence[Fraction]) -> float:
    """Mean PSNR (dB) at the first output frame from each new source drawing's time on, changed pixels only.

    A new drawing is a source frame that differs from the one before (cuts left out);
    the output frame must come less than one output frame after it.
    """
    if len(output_times) < 2 or len(source) < 2:
        return float("nan")
    out_times = np.array([float(t) for t in output_times])
    interval = float(np.median(np.diff(out_times)))
    detector = ContentCutDetector()
    scores = []
    detector.is_cut(source[0])
    for index in range(1, len(source)):
        cut = detector.is_cut(source[index])
        difference = np.abs(source[index].astype(np.int16) - source[index - 1].astype(np.int16))
        if cut or difference.mean() < HELD_CHANGE:
            continue
        # The first output frame that should show the drawing: at its time or just after.
        when = float(source_times[index])
        # (A quarter frame of slack: containers round timestamps, to the millisecond in Matroska.)
        later = np.flatnonzero(out_times >= when - interval / 4)
        if not later.size or out_times[later[0]] - when >= interval * 0.75:
            continue
        nearest = int(later[0])
        mask = cv2.dilate((difference.max(axis=2) > DRAWING_CHANGE).astype(np.uint8), np.ones((5, 5), np.uint8))
        picture = output[nearest]
        if picture.shape != source[index].shape or not mask.any():
            continue
        error = np.mean((picture[mask.astype(bool)].astype(np.float64)
                         - source[index][mask.astype(bool)].astype(np.float64)) ** 2)
        scores.append(60.0 if error <= 0 else min(60.0, 10 * np.log10(255.0**2 / error)))
    return float(np.mean(scores)) if scores else float("nan")


def drawing_fidelity(source: str | os.PathLike[str], output: str | os.PathLike[str],
                     start: Fraction | None = None, duration: Fraction | None = None) -> float:
    """:func:`drawing_fidelity_of` for two files (the output decoded at the source's size)."""
    info = probe(Path(source))
    source_times, source_pictures = _pictures(source, None, start, duration)
    output_times, output_pictures = _pictures(output, info.height, start, duration)
    if output_pictures and output_pictures[0].shape != source_pictures[0].shape:
        size = (source_pictures[0].shape[1], source_pictures[0].shape[0])
        output_pictures = [cv2.resize(p, size, interpolation=cv2.INTER_AREA) for p in output_pictures]
    return drawing_fidelity_of(source_pictures, source_times, output_pictures, output_times)
