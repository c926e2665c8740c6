"""``convert``: a video file in, a smooth video file out (decode -> cuts -> resample -> encode, streaming).

The stages are wired by :mod:`stsr.engine.stages` (shared with ``pipe``); the
output is written under a temporary name and renamed only when complete.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import Cancelled, InputError
from ..interpolators import Interpolator
from ..io.color import channels_last_array
from ..io.probe import hdr_metadata
from ..io.video import AtomicOutput, VideoWriter, check_copies, choose_settings, decode, probe, processing_size
from ..schedules import DEFAULT_SCHEDULE, SCHEDULES, output_frame_count
from .frames import make_interpolator
from .rates import target_rate
from .stages import JobStages, start_resampling

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
    #: h264, h265, av1, vp9, ffv1, h264_nvenc, hevc_nvenc; None: H.265 10-bit for deep inputs, else H.264
    codec: str | None = None
    overwrite: bool = False
    crf: int | None = None
    preset: str | None = None
    pix_fmt: str | None = None
    encoder_options: dict[str, str] = field(default_factory=dict)


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
    #: the encode settings, e.g. "libx265, yuv420p10le, crf 18, preset medium"
    encoder: str = ""

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
    temporary file is removed, every background stage has ended, and
    :class:`~stsr.errors.Cancelled` is raised. The job never sets ``stop`` itself.
    """
    options = options or ConvertOptions()
    if options.schedule not in SCHEDULES:
        raise InputError(f"unknown mode {options.schedule!r} (choose from {', '.join(SCHEDULES)})")
    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise InputError(f"{target}: output would overwrite the input")
    atomic = AtomicOutput(target, options.overwrite)  # refuses an existing or unwritable target before any work
    info = probe(source)
    # Everything about the output is checked before any work: codec vs container, encoder, copied streams.
    notes = check_copies(source, target)
    out_width, out_height = processing_size(info.width, info.height, options.height, even=False)
    settings = choose_settings(target, options.codec, info.bit_depth, out_width, out_height, options.crf,
                               options.preset, options.pix_fmt, options.encoder_options, hdr_metadata(source))
    for note in notes:  # conversions and left-out attachments: said before converting, never silent
        log.warning("%s", note)
    deep = info.bit_depth > 8 or settings.bit_depth > 8
    rate = target_rate(info.frame_rate, options.fps, options.times)
    if interpolator is None:
        interpolator = make_interpolator(options.backend, options.device, options.backend_options)
    started = time.monotonic()
    written = 0
    with JobStages(stop) as stages:
        frames = decode(source, options.height, deep=deep, even=False)
        head, outputs = start_resampling(stages, frames, interpolator, rate, options.schedule, options.scene_detect,
                                         str(source))
        if stages.cancelled:
            raise Cancelled(f"{source}: conversion cancelled")
        height, width = head[0].rgb.shape[:2]
        start = head[0].time
        end_estimate = start + (info.duration or Fraction(info.frame_count) / info.frame_rate)
        total = output_frame_count(start, end_estimate, rate)
        with atomic:
            writer = VideoWriter(atomic.temporary, rate, width, height, settings, copy_from=source, color=info.color,
                                 target=target)
            try:
                for output in outputs:  # float RGB straight to the encoder's YUV: no 8-bit rounding step
                    writer.write(channels_last_array(output.image), output.time)
                    written += 1
                    if progress is not None:
                        progress(Progress(written, max(total, written), time.monotonic() - started))
                if stages.cancelled:
                    raise Cancelled(f"{source}: conversion cancelled")
                writer.close()
            except BaseException:
                writer.abort()
                raise
            atomic.commit()
    return ConvertResult(target, written, rate, time.monotonic() - started, interpolator.describe(), width, height,
                         settings.describe())


