"""The public functions re-exported by :mod:`stsr` (loaded on first use, so ``import stsr`` stays light)."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from .engine.convert import ConvertOptions, ConvertResult, Progress
from .engine.convert import convert as _convert_file
from .engine.frames import make_interpolator, tensor_to_frame, tensor_to_frame16
from .errors import InputError
from .eval.analysis import Judder, MotionProfile, drawing_fidelity, judder, video_motion
from .interpolators import Interpolator
from .scenecut import create_detector
from .schedules import DEFAULT_SCHEDULE, SCHEDULES, Resampler, SourceFrame

#: 59.94 fps, what anime at 23.976 is usually raised to
DEFAULT_OUTPUT_RATE = Fraction(60000, 1001)

Frame = np.ndarray | torch.Tensor
Time = Fraction | int | float


def _as_fraction(value: Time | str, what: str) -> Fraction:
    try:
        number = value if isinstance(value, Fraction) else Fraction(value).limit_denominator(10**9)
    except (TypeError, ValueError, ZeroDivisionError):
        raise InputError(f"{what} must be a number, got {value!r}") from None
    return number


@dataclass(frozen=True)
class _Kind:
    """What the caller gave, so outputs come back the same way: numpy uint8/uint16 (H, W, 3) or torch (3, H, W)."""

    torch: bool
    dtype: Any
    shape: tuple[int, ...]

    @staticmethod
    def of(frame: Frame) -> _Kind:
        if isinstance(frame, torch.Tensor):
            if frame.dim() != 3 or frame.shape[0] != 3:
                raise InputError(f"torch frames must be (3, H, W) RGB in [0, 1], got shape {tuple(frame.shape)}")
            return _Kind(True, frame.dtype, tuple(frame.shape))
        if not isinstance(frame, np.ndarray):
            raise InputError(f"frames must be numpy arrays or torch tensors, got {type(frame).__name__}")
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise InputError(f"numpy frames must be (H, W, 3) RGB, got shape {frame.shape}")
        if frame.dtype not in (np.uint8, np.uint16):
            raise InputError(f"numpy frames must be uint8 or uint16, got {frame.dtype}")
        return _Kind(False, frame.dtype, frame.shape)

    def to_tensor(self, frame: Frame, device: torch.device) -> torch.Tensor:
        if _Kind.of(frame).shape != self.shape:
            raise InputError(f"all frames must share one size: {self.shape} then {tuple(frame.shape)}")
        if self.torch:
            return frame.to(device=device, dtype=torch.float32).clamp(0, 1)  # type: ignore[union-attr]
        scale = 255.0 if self.dtype == np.uint8 else 65535.0
        return torch.from_numpy(np.ascontiguousarray(frame)).to(device).permute(2, 0, 1).float().div_(scale)

    def from_tensor(self, image: torch.Tensor) -> Frame:
        if self.torch:
            return image.detach().clamp(0, 1).to(self.dtype)
        return tensor_to_frame(image) if self.dtype == np.uint8 else tensor_to_frame16(image)

    def analysis_rgb(self, frame: Frame) -> np.ndarray:
        """uint8 (H, W, 3) for the cut detector."""
        if self.torch:
            return tensor_to_frame(frame)  # type: ignore[arg-type]
        return frame if self.dtype == np.uint8 else (frame >> 8).astype(np.uint8)  # type: ignore[operator]


def _timed(frames: Iterable[Frame | tuple[Time, Frame]], rate_in: Fraction) -> Iterator[tuple[Fraction, Frame]]:
    """Frames with their times: ``(time, frame)`` pairs as given, bare frames at ``index / rate_in``."""
    previous: Fraction | None = None
    for index, item in enumerate(frames):
        if isinstance(item, tuple):
            if len(item) != 2:
                raise InputError("timed frames must be (time, frame) pairs")
            time, frame = _as_fraction(item[0], "a frame time"), item[1]
        else:
            time, frame = Fraction(index) / rate_in, item
        if previous is not None and time <= previous:
            raise InputError(f"frame times must increase: {float(time):.6f} s after {float(previous):.6f} s")
        previous = time
        yield time, frame


def resample(
    frames: Iterable[Frame | tuple[Time, Frame]],
    rate_in: Time | str,
    rate_out: Time | str = DEFAULT_OUTPUT_RATE,
    *,
    backend: str | Interpolator = "auto",
    schedule: str | None = None,
    device: str = "auto",
    scene_detect: bool = True,
) -> Iterator[tuple[Fraction, Frame]]:
    """Resample a stream of frames to ``rate_out`` without stutter; yields ``(time, frame)`` as they are ready.

    Streaming: frames are pulled from ``frames`` only as far as the schedule needs
    (a few frames ahead), so memory stays bounded however long the stream. Output
    frame ``j`` is at exactly ``start + j / rate_out`` (a :class:`~fractions.Fraction`
    of seconds, ``start`` = the first input time) and the outputs cover the input's
    duration. Scene cuts are never interpolated across.

    Args:
        frames: RGB frames, each a numpy ``(H, W, 3)`` ``uint8`` or ``uint16`` array
            or a torch ``(3, H, W)`` float tensor in ``[0, 1]``; either bare (timed
            ``i / rate_in``) or as ``(time_in_seconds, frame)`` pairs (variable frame
            rate). All of one size and kind.
        rate_in: the input frame rate (e.g. ``Fraction(24000, 1001)``, ``"24000/1001"``);
            with timed frames it gives only the last frame's duration.
        rate_out: the output frame rate. Default ``Fraction(60000, 1001)`` (59.94).
        backend: interpolator name (``"auto"``, the default: ``gmfss_union`` when its
            weights are installed, else ``flow``; see :func:`available_backends`) or an
            :class:`~stsr.interpolators.Interpolator` you created.
        schedule: ``None`` (the default) for :data:`stsr.schedules.DEFAULT_SCHEDULE`;
            or one of :data:`stsr.schedules.SCHEDULES` (``"cadence"``, ``"pairs"``,
            ``"naive"``).
        device: ``"auto"`` (default: CUDA when present), ``"cpu"`` or ``"cuda"``.
        scene_detect: look for scene cuts (default ``True``).

    Yields:
        ``(time, frame)``: frames of the same kind and dtype as the input.

    Raises:
        InputError: a bad rate, schedule or device, frames of the wrong shape, dtype
            or size, times that do not increase, or fewer than 2 frames.
        BackendUnavailable: an unknown backend or missing weights.
    """
    rate_in, rate_out = _as_fraction(rate_in, "rate_in"), _as_fraction(rate_out, "rate_out")
    for name, rate in (("rate_in", rate_in), ("rate_out", rate_out)):
        if rate <= 0:
            raise InputError(f"{name} must be above 0, got {rate}")
    schedule = DEFAULT_SCHEDULE if schedule is None else schedule
    if schedule not in SCHEDULES:
        raise InputError(f"unknown schedule {schedule!r} (choose from: {', '.join(SCHEDULES)})")
    interpolator = backend if isinstance(backend, Interpolator) else make_interpolator(backend, device)
    return _resample(frames, rate_in, rate_out, interpolator, schedule, scene_detect)


def _resample(frames: Iterable[Frame | tuple[Time, Frame]], rate_in: Fraction, rate_out: Fraction,
              interpolator: Interpolator, schedule: str, scene_detect: bool) -> Iterator[tuple[Fraction, Frame]]:
    detector = create_detector(scene_detect)
    resampler: Resampler[torch.Tensor] = Resampler(interpolator, rate_out, schedule)
    kind: _Kind | None = None
    count = 0
    end = Fraction(0)
    with torch.inference_mode():
        for time, frame in _timed(frames, rate_in):
            kind = kind or _Kind.of(frame)
            image = kind.to_tensor(frame, interpolator.device)
            cut = detector.is_cut(kind.analysis_rgb(frame))
            for output in resampler.push(SourceFrame(count, time, image, cut and count > 0)):
                yield output.time, kind.from_tensor(output.image)
            count += 1
            end = time + 1 / rate_in
        if count < 2:
            raise InputError(f"{'no frames' if count == 0 else 'only one frame'}; need at least 2 to interpolate")
        assert kind is not None
        for output in resampler.finish(end):
            yield output.time, kind.from_tensor(output.image)


_CONVERT_OPTIONS = tuple(field.name for field in dataclasses.fields(ConvertOptions))


def convert(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    **options: Any,
) -> ConvertResult:
    """Convert the video file ``source`` to ``target``, as ``stsr convert`` does.

    Decode, model and encode run in their own threads with bounded queues; the
    output is written under a temporary name and renamed when complete, so a crash
    or a cancel never leaves a half file. Audio and subtitles are copied.

    Args:
        source: the input video.
        target: the output file (``.mp4``, ``.mkv``, ``.mov``); never overwritten
            unless ``overwrite=True``.
        progress: called after every output frame with a :class:`~stsr.engine.Progress`
            (done, total, elapsed). Default: none.
        stop: set it (from another thread or a signal handler) to cancel. Default: none.
        **options: any field of :class:`~stsr.engine.ConvertOptions`, with its default:
            ``fps=None`` (59.94), ``times=None``, ``backend="auto"``,
            ``backend_options={}``, ``height=None`` (the input's), ``schedule``
            (:data:`~stsr.schedules.DEFAULT_SCHEDULE`), ``scene_detect=True``,
            ``device="auto"``, ``codec="h264"``, ``overwrite=False``.

    Returns:
        A :class:`~stsr.engine.ConvertResult` (output path, frames, rate, seconds, backend, size).

    Raises:
        InputError: an unknown option, a missing or unreadable input, fewer than 2
            frames, an existing target, a target that is the input.
        BackendUnavailable: an unknown backend or missing weights.
        Cancelled: ``stop`` was set; nothing was left behind.
    """
    unknown = sorted(set(options) - set(_CONVERT_OPTIONS))
    if unknown:
        raise InputError(f"unknown option {', '.join(unknown)} (options: {', '.join(_CONVERT_OPTIONS)})")
    if "fps" in options and options["fps"] is not None:
        options["fps"] = _as_fraction(options["fps"], "fps")
    return _convert_file(source, target, ConvertOptions(**options), progress=progress, stop=stop)


@dataclass(frozen=True)
class Analysis:
    """What :func:`analyze` measured: the video's motion profile, and its conversion's when given."""

    video: MotionProfile
    against: MotionProfile | None = None
    #: per-block evenness (judder index, stopped and frozen shares) of each video
    video_judder: Judder | None = None
    against_judder: Judder | None = None
    #: PSNR (dB) of the conversion at the video's new drawings, changed pixels only (NaN: not measured)
    drawing_fidelity: float = float("nan")

    def summary(self) -> str:
        lines = [self.video.summary()]
        if self.video_judder is not None:
            lines.append(f"  {self.video_judder.summary()}")
        if self.against is not None:
            lines.append(self.against.summary())
            if self.against_judder is not None:
                lines.append(f"  {self.against_judder.summary()}")
            if np.isfinite(self.drawing_fidelity):
                lines.append(f"drawing-time fidelity {self.drawing_fidelity:.1f} dB")
        return "\n".join(lines)


def analyze(path: str | os.PathLike[str], against: str | os.PathLike[str] | None = None, *,
            analysis_height: int = 180) -> Analysis:
    """Measure how evenly a video moves (and, with ``against``, its conversion), as ``stsr analyze`` does.

    Args:
        path: the video to measure (e.g. the source).
        against: a converted version to measure the same way. Default: none.
        analysis_height: the height motion is measured at (default 180; lower is faster).

    Returns:
        An :class:`Analysis`: per-frame motion, held share and stutter index of each video.

    Raises:
        InputError: a missing or unreadable video, or fewer than 2 frames.
    """
    profiles = []
    for video in [path] if against is None else [path, against]:
        profile = video_motion(video, analysis_height=analysis_height)
        if profile.motion.size == 0:
            raise InputError(f"{video}: fewer than 2 frames; nothing to measure")
        profiles.append(profile)
    judders = [judder(video, analysis_height=min(analysis_height, 144))
               for video in ([path] if against is None else [path, against])]
    fidelity = float("nan") if against is None else drawing_fidelity(path, against)
    return Analysis(profiles[0], profiles[1] if against is not None else None, judders[0],
                    judders[1] if against is not None else None, fidelity)
