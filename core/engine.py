"""The conversion engine: decode -> cut detection -> resample -> encode, streaming.

Shared by ``stsr convert``, ``stsr pipe``, the watch folder and the player: they
all turn a stream of :class:`~core.video.DecodedFrame` into uniformly timed
output frames with :func:`resample_frames`, and differ only in where frames come
from and go to.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .device import resolve_device
from .errors import InputError
from .interpolators import Interpolator, create_backend
from .pipeline import BackgroundIterator
from .scenecut import create_detector
from .schedule import SCHEDULES, OutputFrame, Resampler, SourceFrame, output_frame_count
from .video import AtomicOutput, DecodedFrame, VideoWriter, decode, probe

log = logging.getLogger(__name__)

DEFAULT_RATE = Fraction(60000, 1001)
#: what ``stsr convert`` resamples with unless told otherwise (see core.schedules_multi; "pairs" is the published one)
DEFAULT_SCHEDULE = "cadence"


def parse_rate(text: str) -> Fraction:
    """Parse ``60000/1001``, ``59.94``, ``120``; reject zero, negative and garbage with one line."""
    try:
        rate = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise InputError(f"bad frame rate {text!r} (examples: 60000/1001, 59.94, 120)") from None
    if rate <= 0 or rate > 1000:
        raise InputError(f"bad frame rate {text!r}: must be above 0 and at most 1000")
    if rate.denominator > 1 and "/" not in text:
        # 59.94 and 29.97 mean the NTSC rates.
        for ntsc in (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001),
                     Fraction(120000, 1001), Fraction(48000, 1001)):
            if abs(rate - ntsc) < Fraction(1, 100):
                return ntsc
    return rate


def target_rate(source_rate: Fraction, fps: Fraction | None, times: int | None) -> Fraction:
    """``--times N`` is the reference's rate, ``source / 2 * N``; otherwise ``--fps``."""
    if times is not None:
        if times < 1:
            raise InputError("--times must be at least 1")
        return source_rate / 2 * times
    return fps or DEFAULT_RATE


def frame_to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (H, W, 3) -> float32 (3, H, W) in [0, 1] on ``device``."""
    tensor = torch.from_numpy(rgb).to(device, non_blocking=True)
    return tensor.permute(2, 0, 1).float().div_(255.0)


def tensor_to_frame(image: torch.Tensor) -> np.ndarray:
    """float (3, H, W) in [0, 1] -> uint8 (H, W, 3), contiguous, on the CPU."""
    return image.detach().clamp(0, 1).mul(255.0).round_().to(torch.uint8).permute(1, 2, 0).contiguous().cpu().numpy()


def tag_cuts(frames: Iterable[DecodedFrame], scene_detect: bool) -> Iterator[tuple[DecodedFrame, bool]]:
    """Pair every decoded frame with "a cut lies before it"."""
    detector = create_detector(scene_detect)
    for frame in frames:
        yield frame, detector.is_cut(frame.rgb)


def resample_frames(
    frames: Iterable[tuple[DecodedFrame, bool]],
    interpolator: Interpolator,
    rate: Fraction,
    schedule: str = "pairs",
    first_index: int = 0,
    start: Fraction | None = None,
) -> Iterator[OutputFrame[torch.Tensor]]:
    """The model stage: decoded frames (with cut flags) in, output frames (tensors) out."""
    resampler: Resampler[torch.Tensor] = Resampler(interpolator, rate, schedule, start=start, first_index=first_index)
    end: Fraction | None = None
    with torch.inference_mode():
        for decoded, cut in frames:
            image = frame_to_tensor(decoded.rgb, interpolator.device)
            yield from resampler.push(SourceFrame(decoded.index, decoded.time, image, cut))
            end = decoded.time + decoded.duration
        if end is not None:
            yield from resampler.finish(end)


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


def make_interpolator(backend: str, device: str, options: dict[str, Any] | None = None) -> Interpolator:
    """Create a backend on the resolved device (CUDA when present for ``auto``)."""
    try:
        resolved = resolve_device(device)
    except ValueError as error:
        raise InputError(str(error)) from None
    return create_backend(backend, device=resolved, **(options or {}))


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


def silence_library_logs() -> None:
    """FFmpeg's own log lines are noise for users: its errors reach them as one-line exceptions."""
    with contextlib.suppress(Exception):
        import av.logging

        av.logging.set_level(av.logging.PANIC)
