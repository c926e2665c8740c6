"""The model stage shared by every front end: decoded frames in, timed output tensors out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from ..device import resolve_device
from ..errors import InputError
from ..interpolators import Interpolator, create_backend
from ..io.video import DecodedFrame
from ..scenecut import create_detector
from ..schedules import DEFAULT_SCHEDULE, OutputFrame, Resampler, SourceFrame


def frame_to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 or uint16 (H, W, 3) -> float32 (3, H, W) in [0, 1] on ``device`` (16-bit keeps 10-bit precision)."""
    if rgb.dtype == np.uint16:  # torch has no uint16 arithmetic on every device: go through int32
        tensor = torch.from_numpy(rgb.astype(np.int32)).to(device, non_blocking=True)
        return tensor.permute(2, 0, 1).float().div_(65535.0)
    tensor = torch.from_numpy(rgb).to(device, non_blocking=True)
    return tensor.permute(2, 0, 1).float().div_(255.0)


def tensor_to_frame(image: torch.Tensor) -> np.ndarray:
    """float (3, H, W) in [0, 1] -> uint8 (H, W, 3), contiguous, on the CPU."""
    return image.detach().clamp(0, 1).mul(255.0).round_().to(torch.uint8).permute(1, 2, 0).contiguous().cpu().numpy()


def tensor_to_frame16(image: torch.Tensor) -> np.ndarray:
    """float (3, H, W) in [0, 1] -> uint16 (H, W, 3) on the full 16-bit scale: no 8-bit step before a 10-bit encode."""
    scaled = image.detach().clamp(0, 1).mul(65535.0).round_().to(torch.int32).permute(1, 2, 0).contiguous()
    return scaled.cpu().numpy().astype(np.uint16)


def tag_cuts(frames: Iterable[DecodedFrame], scene_detect: bool) -> Iterator[tuple[DecodedFrame, bool]]:
    """Pair every decoded frame with "a cut lies before it"."""
    detector = create_detector(scene_detect)
    for frame in frames:
        yield frame, detector.is_cut(frame.rgb8)


def resample_frames(
    frames: Iterable[tuple[DecodedFrame, bool]],
    interpolator: Interpolator,
    rate: Fraction,
    schedule: str = DEFAULT_SCHEDULE,
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


def make_interpolator(backend: str, device: str, options: dict[str, Any] | None = None) -> Interpolator:
    """Create a backend on the resolved device (CUDA when present for ``auto``)."""
    try:
        resolved = resolve_device(device)
    except ValueError as error:
        raise InputError(str(error)) from None
    return create_backend(backend, device=resolved, **(options or {}))


def silence_library_logs() -> None:
    """FFmpeg's own log lines are noise for users: its errors reach them as one-line exceptions."""
    with contextlib.suppress(Exception):
        import av.logging

        av.logging.set_level(av.logging.PANIC)
