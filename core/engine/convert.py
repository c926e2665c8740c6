"""The conversion engine: decode -> cut detection -> resample -> encode, streaming.

Shared by ``stsr convert``, ``stsr pipe``, the watch folder and the player: they
all turn a stream of :class:`~core.video.DecodedFrame` into uniformly timed
output frames with :func:`resample_frames`, and differ only in where frames come
from and go to.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..interpolators import Interpolator
from ..io.video import AtomicOutput, DecodedFrame, VideoWriter, decode, probe
from ..schedules import DEFAULT_SCHEDULE, SCHEDULES, output_frame_count
from .frames import make_interpolator, resample_frames, tag_cuts, tensor_to_frame
from .pipeline import BackgroundIterator
from .rates import target_rate

log = logging.getLogger(__name__)

@dataclass
class ConvertOptions:
    """Everything ``stsr convert`` can be told; defaults are the sane ones."""

    fps: Fraction | None = None
    times: int | None = None
    backend: str = "auto"
    backend_options: dict[str, Any] = field(default_factory=dict)
    height: int | None = None
    schedule: str = DEFAULT_SCHEDULE
    scene_detect: bool = True
    device: str = "auto"
    codec: str = "h264"
    overwrite: bool = False


@dataclass
class Progress:
    """What a progress display needs; sent after every output frame."""

    done: int
    total: int
    elapsed: float

    @property
    def fps(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class ConvertResult:
    output: Path
    frames: int
    rate: Fraction
    seconds: float
    backend: str
    width: int
    height: int

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def convert(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    options: ConvertOptions | None = None,
    progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    interpolator: Interpolator | None = None,
) -> ConvertResult:
    """Convert ``source`` to ``target`` at the target rate; atomic, streaming, interruptible.

    ``stop`` (set from another thread or a signal handler) abandons the job: the
    temporary file is removed and :class:`KeyboardInterrupt` is raised.
    """
    options = options or ConvertOptions()
    if options.schedule not in SCHEDULES:
        raise InputError(f"unknown mode {options.schedule!r} (choose from {', '.join(SCHEDULES)})")
    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise InputError(f"{target}: output would overwrite the input")
    atomic = AtomicOutput(target, options.overwrite)  # refuses an existing target before any work
    info = probe(source)
    rate = target_rate(info.frame_rate, options.fps, options.times)
    if interpolator is None:
        interpolator = make_interpolator(options.backend, options.device, options.backend_options)
    stop = stop or threading.Event()
    started = time.monotonic()

    decoded = BackgroundIterator(tag_cuts(decode(source, options.height), options.scene_detect), 6, "decode", stop)
    # Check "fewer than 2 frames" before creating any output.
    first_two: list[tuple[DecodedFrame, bool]] = []
    for item in decoded:
        first_two.append(item)
        if len(first_two) == 2:
            break
    if len(first_two) < 2:
        decoded.close()
        count = "no frames" if not first_two else "only one frame"
        raise InputError(f"{source}: {count}; need at least 2 to interpolate")
    height, width = first_two[0][0].rgb.shape[:2]
    start = first_two[0][0].time
    end_estimate = start + (info.duration or Fraction(info.frame_count) / info.frame_rate)
    total = output_frame_count(start, end_estimate, rate)

    def all_frames() -> Iterator[tuple[DecodedFrame, bool]]:
        yield from first_two
        yield from decoded

    outputs = BackgroundIterator(resample_frames(all_frames(), interpolator, rate, options.schedule), 8,
                                 "model", stop)
    written = 0
    try:
        with atomic:
            writer = VideoWriter(atomic.temporary, rate, width, height, options.codec, copy_from=source)
            try:
                for output in outputs:
                    writer.write(tensor_to_frame(output.image), output.time)
                    written += 1
                    if progress is not None:
                        progress(Progress(written, max(total, written), time.monotonic() - started))
                if stop.is_set():
                    raise KeyboardInterrupt
                writer.close()
            except BaseException:
                writer.abort()
                raise
            atomic.commit()
    finally:
        stop.set()
        outputs.close()
        decoded.close()
    return ConvertResult(target, written, rate, time.monotonic() - started, interpolator.describe(), width, height)


