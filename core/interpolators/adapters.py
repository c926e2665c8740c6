"""Interpolators that wrap others: smoothing off (hold the source frame) and a lower processing size.

The player uses both to switch level behind the one interpolator interface: the
stream it plays has one fixed frame size whatever the level. Both pass time maps on:
holding picks the frame per pixel, and the scaled one resizes the map with the frames
(``supports_time_maps`` is then the inner backend's).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import torch
import torch.nn.functional as F

from ..io.color import channels_last_array
from .base import Interpolator, PreparedPair, TimeMap, Timestep, is_time_map
from .tensors import as_float_timesteps, as_timesteps, endpoint, resized_time_map


class HoldInterpolator(Interpolator):
    """Smoothing off: between two source frames, show the earlier one until the later one's time."""

    name = "source"
    supports_time_maps = True

    class _Pair(PreparedPair):
        def __init__(self, frame0: torch.Tensor, frame1: torch.Tensor) -> None:
            self._frames = (frame0, frame1)

        def frames_at(self, timesteps: Sequence[Timestep | TimeMap]) -> list[torch.Tensor]:
            frame0, frame1 = self._frames
            results = []
            for t in timesteps:
                if is_time_map(t):
                    (checked,) = as_timesteps([t], (frame0.shape[-2], frame0.shape[-1]), frame0.device)
                    exact = endpoint(checked, frame0, frame1)
                    results.append(exact if exact is not None else torch.where(checked >= 1, frame1, frame0))
                else:
                    results.append(frame1 if t >= 1 else frame0)  # type: ignore[operator]
            return results

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        return self._Pair(frame0, frame1)

    def describe(self) -> str:
        return "source frames"


def _resized(frame: torch.Tensor, size: tuple[int, int], shrink: bool) -> torch.Tensor:
    """Resize a (3, H, W) frame to ``size`` = (height, width): OpenCV on the CPU, torch elsewhere."""
    if frame.device.type == "cpu":
        interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        image = cv2.resize(channels_last_array(frame), (size[1], size[0]), interpolation=interpolation)
        return torch.from_numpy(image).permute(2, 0, 1)
    mode = "area" if shrink else "bilinear"
    options = {} if shrink else {"align_corners": False}
    return F.interpolate(frame[None], size=size, mode=mode, **options)[0]


class ScaledInterpolator(Interpolator):
    """Runs ``inner`` at a lower processing height and scales its frames back up to the stream size.

    The stream mpv plays has one fixed frame size, so stepping the processing size
    down happens here, behind the interpolator interface.
    """

    def __init__(self, inner: Interpolator, height: int) -> None:
        super().__init__(inner.device)
        self.inner = inner
        self.height = height
        self.name = inner.name
        self.supports_time_maps = inner.supports_time_maps
        self._small: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def _shrink(self, frame: torch.Tensor) -> torch.Tensor:
        cached = self._small.get(id(frame))
        if cached is not None and cached[0] is frame:
            return cached[1]
        height, width = frame.shape[-2:]
        small_width = max(2, round(width * self.height / height / 2) * 2)
        small = _resized(frame, (self.height, small_width), shrink=True)
        self._small[id(frame)] = (frame, small)
        while len(self._small) > 4:
            self._small.pop(next(iter(self._small)))
        return small

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        small0, small1 = self._shrink(frame0), self._shrink(frame1)
        inner = self.inner.prepare(small0, small1)
        size = (int(frame0.shape[-2]), int(frame0.shape[-1]))
        small_size = (int(small0.shape[-2]), int(small0.shape[-1]))
        originals = (frame0, frame1)
        maps = self.supports_time_maps

        class _Pair(PreparedPair):
            def frames_at(self, timesteps: Sequence[Timestep | TimeMap]) -> list[torch.Tensor]:
                values = as_timesteps(timesteps, size, frame0.device) if maps else as_float_timesteps(timesteps)
                small = [resized_time_map(t, small_size) if isinstance(t, torch.Tensor) else t for t in values]
                frames = inner.frames_at(small)
                results = []
                for t, frame in zip(values, frames, strict=True):
                    exact = endpoint(t, *originals)  # exact endpoints at full size
                    results.append(exact if exact is not None else _resized(frame, size, shrink=False))
                return results

        return _Pair()

    def describe(self) -> str:
        return f"{self.inner.describe()} at {self.height}p"
