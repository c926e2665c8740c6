"""Engine runs over raw frame streams (Y4M on pipes) rather than files."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import BinaryIO

import numpy as np

from ..errors import Cancelled
from ..interpolators import Interpolator
from ..io.video import DecodedFrame
from ..io.y4m import Y4MHeader, Y4MReader, Y4MWriter
from ..schedules import DEFAULT_SCHEDULE
from .frames import make_interpolator, tensor_to_frame, tensor_to_frame16
from .rates import target_rate
from .stages import JobStages, start_resampling


def timed_frames(frames: Iterable[np.ndarray], rate: Fraction) -> Iterator[DecodedFrame]:
    """Constant-rate frames (a pipe has no timestamps) with exact times ``i / rate``."""
    duration = 1 / Fraction(rate)
    for index, rgb in enumerate(frames):
        yield DecodedFrame(index, index * duration, duration, rgb)


def pipe(
    source: BinaryIO,
    sink: BinaryIO,
    fps: Fraction | None = None,
    times: int | None = None,
    backend: str = "auto",
    device: str = "auto",
    schedule: str = DEFAULT_SCHEDULE,
    scene_detect: bool = True,
    backend_options: dict | None = None,
    interpolator: Interpolator | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Y4M in, resampled Y4M out; returns the number of frames written.

    ``stop`` ends the run early (:class:`~stsr.errors.Cancelled`), after every stage has stopped.
    """
    reader = Y4MReader(source)
    rate = target_rate(reader.header.rate, fps, times)
    interpolator = interpolator or make_interpolator(backend, device, backend_options)
    written = 0
    with JobStages(stop) as stages:
        head, outputs = start_resampling(stages, timed_frames(reader.frames(), reader.header.rate), interpolator,
                                         rate, schedule, scene_detect, "the Y4M input")
        height, width = head[0].rgb.shape[:2] if head else (reader.header.height, reader.header.width)
        writer = Y4MWriter(sink, Y4MHeader(width, height, rate, reader.header.colorspace))
        to_pixels = tensor_to_frame16 if reader.header.bit_depth > 8 else tensor_to_frame  # 10-bit in, 10-bit out
        for output in outputs:
            writer.write(to_pixels(output.image))
            written += 1
        writer.flush()
        if stages.cancelled:
            raise Cancelled("pipe cancelled")
    return written
