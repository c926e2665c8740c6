"""Interpolators that wrap others: smoothing off (hold the source frame) and a lower processing size.

The player uses both to switch level behind the one interpolator interface: the
stream it plays has one fixed frame size whatever the level.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import torch
import torch.nn.functional as F

from ..io.color import channels_last_array
from .base import Interpolator, PreparedPair, Timestep


class HoldInterpolator(Interpolator):
    """Smoothing off: between two source frames, show the earlier one until the later one's time."""

    name = "source"

    class _Pair(PreparedPair):
        def __init__(self, frame0: torch.Tensor, frame1: torch.Tensor) -> None:
            self._frames = (frame0, frame1)

        def frames_at(self, timesteps: Sequence[Timestep]) -> list[torch.Tensor]:
            return [self._frames[1] if t >= 1 else self._frames[0] for t in timesteps]

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
        inner = self.inner.prepare(self._shrink(frame0), self._shrink(frame1))
        size = (int(frame0.shape[-2]), int(frame0.shape[-1]))
        originals = (frame0, frame1)

        class _Pair(PreparedPair):
            def frames_at(self, timesteps: Sequence[Timestep]) -> list[torch.Tensor]:
                frames = inner.frames_at(timesteps)
                results = []
                for t, frame in zip(timesteps, frames, strict=True):
                    if t == 0 or t == 1:
                        results.append(originals[int(t)])  # exact endpoints at full size
                    else:
                        results.append(_resized(frame, size, shrink=False))
                return results

        return _Pair()

    def describe(self) -> str:
        return f"{self.inner.describe()} at {self.height}p"
