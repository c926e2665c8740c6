"""Decoding the first video stream as RGB frames with exact timestamps.

Times are exact :class:`~fractions.Fraction` seconds from the container's
timestamps, so variable frame rate input is handled by the schedule, not by
guessing a rate. Inputs deeper than 8 bits can be decoded as 16-bit RGB
(``deep=True``) so that 10-bit precision survives into the float tensors.
The YUV -> RGB matrix is the input's own (BT.709 for untagged HD, BT.601 for SD).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import cv2
import numpy as np

from ..errors import InputError
from .color import FULL_RANGE_FORMATS, full_to_limited10
from .probe import open_input, probe, processing_size, short_reason

#: swscale's exact rounding: without it RGB <-> YUV steps are off by up to one code value
ACCURATE = av.video.reformatter.Interpolation.BILINEAR | av.video.reformatter.Interpolation.ACCURATE_RND


def swscale_colorspace(matrix: int) -> int:
    """FFmpeg matrix value -> the closest one swscale has coefficients for."""
    if matrix in (1, 4, 5, 7, 9):
        return matrix
    if matrix == 10:  # BT.2020 constant luminance: swscale only knows the non-constant one
        return 9
    return 5  # BT.601 (5 and 6 are the same matrix)


def to_rgb(frame: av.VideoFrame, width: int, height: int, matrix: int, color_range: int, deep: bool) -> np.ndarray:
    """One decoded frame as RGB (H, W, 3): uint16 when ``deep``, else uint8.

    Always through swscale's planar 16-bit RGB (``gbrp16le``): its direct 8-bit
    YUV -> RGB paths are biased by 0.2-0.7 code values (measured on a colour chart);
    the planar 16-bit one is exact to 0.05 and, at 1080p, half the cost of
    ``rgb48le`` with exact rounding.
    """
    bits = FULL_RANGE_FORMATS.get(frame.format.name)
    if color_range == 2 and bits is not None and not (frame.width % 2 or frame.height % 2):
        limited = full_to_limited10(frame.to_ndarray(), bits, frame.width, frame.height)
        frame = av.VideoFrame.from_ndarray(limited, format="yuv420p10le")
        color_range = 1
    planar = frame.reformat(width=width, height=height, format="gbrp16le", src_colorspace=matrix,
                            src_color_range=color_range)
    return merge_planes(planar, deep)


#: swscale's white in 16-bit RGB: 255 * 256, not 65535 (measured: Y 235 -> 65280, RGB 65280 -> Y 235)
SWSCALE_WHITE16 = 65280


def merge_planes(planar: av.VideoFrame, deep: bool) -> np.ndarray:
    """A swscale ``gbrp16le`` frame -> interleaved RGB (H, W, 3): uint16 on the full 65535 scale, or uint8.

    swscale's 16-bit white is 65280, so the samples are rescaled (x * 257 / 256,
    saturating; for 8 bits x / 256 rounded), else every colour comes out 0.4% dark.
    """
    width, height = planar.width, planar.height
    channels = []
    for index in (2, 0, 1):  # gbrp planes are G, B, R
        plane = planar.planes[index]
        samples = np.frombuffer(plane, np.uint16).reshape(height, plane.line_size // 2)[:, :width]
        if deep:
            channels.append(cv2.add(np.ascontiguousarray(samples), np.ascontiguousarray(samples >> 8)))
        else:
            channels.append(cv2.convertScaleAbs(samples, alpha=1 / 256))
    return cv2.merge(channels)


def to_swscale16(rgb: np.ndarray) -> np.ndarray:
    """uint8 or full-scale uint16 RGB -> uint16 on swscale's 16-bit scale (white 65280), for its RGB -> YUV."""
    if rgb.dtype == np.uint8:
        return rgb.astype(np.uint16) << 8
    return rgb - (rgb >> 8)


def to_8bit(rgb16: np.ndarray) -> np.ndarray:
    """uint16 RGB (H, W, 3) on the full 16-bit scale -> uint8, rounded to nearest."""
    height, width = rgb16.shape[:2]
    flat = np.ascontiguousarray(rgb16).reshape(height, width * 3)
    return cv2.convertScaleAbs(flat, alpha=1 / 257).reshape(height, width, 3)


@dataclass(frozen=True)
class DecodedFrame:
    """An RGB frame (H, W, 3), uint8 or uint16 (``deep`` decoding), with its exact time and duration."""

    index: int
    time: Fraction
    duration: Fraction
    rgb: np.ndarray

    @property
    def bit_depth(self) -> int:
        return 16 if self.rgb.dtype == np.uint16 else 8

    @property
    def rgb8(self) -> np.ndarray:
        """The frame as uint8 (for cut detection and previews)."""
        if self.rgb.dtype == np.uint8:
            return self.rgb
        return (self.rgb >> 8).astype(np.uint8)


def decode(
    path: str | os.PathLike[str],
    height: int | None = None,
    start_time: Fraction | None = None,
    deep: bool = False,
    even: bool = True,
    frame_threads: bool = True,
) -> Iterator[DecodedFrame]:
    """Decode the first video stream as RGB at ``height`` with exact timestamps.

    ``frame_threads=False`` decodes with slice threads only: a frame-threaded FFmpeg
    decoder freed while its threads still hold frames (a decode stopped early, as a
    chunk worker's is) was seen to deadlock in ``avcodec_free_context``.

    ``start_time`` seeks to the keyframe before it and drops frames before it.
    ``deep`` gives uint16 RGB (full 16-bit scale) instead of uint8; ``even=False``
    keeps an odd input size as it is. Corrupt data raises :class:`InputError`. The
    duration of the last frame is the stream's own when given, else the interval
    before it (right for VFR, where the nominal rate is only an average).
    """
    path = Path(path)
    info = probe(path)
    width, out_height = processing_size(info.width, info.height, height, even=even)
    matrix = swscale_colorspace(info.color.conversion_matrix(info.width, info.height))
    color_range = 2 if info.color.full_range else 1
    with open_input(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO" if frame_threads else "SLICE"
        time_base = stream.time_base or Fraction(1, 1)
        nominal = Fraction(1) / info.frame_rate
        if start_time:
            container.seek(int(start_time / time_base), stream=stream, backward=True, any_frame=False)
        previous: tuple[Fraction, np.ndarray, Fraction | None] | None = None
        intervals: list[Fraction] = []
        index = 0
        last_time: Fraction | None = None
        try:
            for frame in container.decode(stream):
                if frame.pts is not None:
                    time = Fraction(frame.pts) * time_base
                elif last_time is not None:
                    time = last_time + (intervals[-1] if intervals else nominal)
                else:
                    time = Fraction(0)
                if last_time is not None and time <= last_time:
                    continue  # duplicate or out-of-order timestamp: keep the stream monotonic
                if start_time is not None and time < start_time and time + nominal <= start_time:
                    last_time = time
                    continue
                if last_time is not None:
                    intervals.append(time - last_time)
                    intervals = intervals[-64:]
                last_time = time
                own = Fraction(frame.duration) * time_base if frame.duration else None
                rgb = to_rgb(frame, width, out_height, matrix, color_range, deep)
                if previous is not None:
                    ptime, prgb, _ = previous
                    yield DecodedFrame(index, ptime, time - ptime, prgb)
                    index += 1
                previous = (time, rgb, own)
        except av.error.FFmpegError as error:
            raise InputError(f"{path}: corrupt video stream near frame {index} ({short_reason(error)})") from None
        if previous is not None:
            ptime, prgb, own = previous
            last_duration = own or (intervals[-1] if intervals else nominal)
            yield DecodedFrame(index, ptime, last_duration, prgb)
