"""The one interface every interpolator backend implements.

A backend *prepares* a pair of frames once (optical flow, features, metrics) and
then produces any number of timesteps from that preparation. The resampler leans
on this: every pair of nodes is asked for several output times, and the flow is
the expensive part.

Frames are ``torch.Tensor`` of shape ``(3, H, W)``, dtype float32, RGB in
``[0, 1]``, on the backend's ``device``. All frames given to one backend in a
stream share one size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from fractions import Fraction

import torch

from ..errors import BackendUnavailable

__all__ = ["BackendUnavailable", "Interpolator", "PreparedPair", "Timestep"]

Timestep = Fraction | float


class PreparedPair(ABC):
    """A pair of frames with everything time-independent already computed."""

    @abstractmethod
    def frames_at(self, timesteps: Sequence[Timestep]) -> list[torch.Tensor]:
        """Frames at each ``t`` in ``[0, 1]`` (0 = first frame, 1 = second).

        Backends may batch all timesteps into one pass, which is why this takes
        a sequence rather than a single ``t``.
        """

    def frame_at(self, timestep: Timestep) -> torch.Tensor:
        """Convenience for a single timestep."""
        return self.frames_at([timestep])[0]


class Interpolator(ABC):
    """A video frame interpolation backend.

    Subclasses set ``name`` and register themselves with
    :func:`stsr.interpolators.registry.register`.
    """

    name: str = ""
    #: multiple that frame height and width are padded to internally (informational)
    alignment: int = 1

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)

    @abstractmethod
    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        """Compute everything about ``frame0 -> frame1`` that does not depend on t."""

    def interpolate(self, frame0: torch.Tensor, frame1: torch.Tensor, timestep: Timestep) -> torch.Tensor:
        """One-off interpolation; prefer :meth:`prepare` when asking several times."""
        return self.prepare(frame0, frame1).frame_at(timestep)

    def describe(self) -> str:
        """A short human description (backend, device, options) for logs and OSD."""
        return f"{self.name} on {self.device}"
