"""Engine runs over raw frame streams (Y4M on pipes) rather than files."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import BinaryIO

import numpy as np

from ..errors import InputError
from ..interpolators import Interpolator
from ..io.video import DecodedFrame
from ..io.y4m import Y4MHeader, Y4MReader, Y4MWriter
from ..schedules import DEFAULT_SCHEDULE
from .frames import make_interpolator, resample_frames, tag_cuts, tensor_to_frame
from .pipeline import BackgroundIterator
from .rates import target_rate


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
) -> int:
    """Y4M in, resampled Y4M out; returns the number of frames written."""
    reader = Y4MReader(source)
    rate = target_rate(reader.header.rate, fps, times)
    interpolator = interpolator or make_interpolator(backend, device, backend_options)
    stop = threading.Event()
    decoded = BackgroundIterator(tag_cuts(timed_frames(reader.frames(), reader.header.rate), scene_detect), 6,
                                 "decode", stop)
    outputs = BackgroundIterator(resample_frames(decoded, interpolator, rate, schedule), 8, "model", stop)
    writer = Y4MWriter(sink, Y4MHeader(reader.header.width, reader.header.height, rate))
    written = 0
    try:
        for output in outputs:
            writer.write(tensor_to_frame(output.image))
            written += 1
        writer.flush()
    finally:
        stop.set()
        outputs.close()
        decoded.close()
    if written == 0:
        raise InputError("the Y4M input had fewer than 2 frames; nothing to interpolate")
    return written
