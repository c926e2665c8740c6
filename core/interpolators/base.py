"""The one interface every interpolator backend implements.

A backend *prepares* a pair of frames once (optical flow, features, metrics) and
then produces any number of timesteps from that preparation. The resampler leans
on this: every pair of nodes is asked for several output times, and the flow is
the expensive part.

Frames are ``torch.Tensor`` of shape ``(3, H, W)``, dtype float32, RGB in
``[0, 1]``, on the backend's ``device``. All frames given to one backend in a
stream share one size.

Time maps: a backend with ``supports_time_maps`` also takes, wherever it takes a
timestep, a per-pixel time map: an ``(H, W)`` float array (``torch.Tensor`` or
``numpy.ndarray``) of values in ``[0, 1]``, at the frames' size. Each pixel is then
rendered at its own ``t``, in the same pass, so regions on different drawing rhythms
can be timed apart. A constant map gives exactly the scalar result.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import torch

from ..errors import BackendUnavailable

__all__ = ["BackendUnavailable", "Interpolator", "PreparedPair", "TimeMap", "Timestep", "is_time_map"]

Timestep = Fraction | float
#: per-pixel timesteps, ``(H, W)`` float in ``[0, 1]`` at the frames' size (see the module docstring)
TimeMap = torch.Tensor | np.ndarray


def is_time_map(timestep: object) -> bool:
    """True for a per-pixel time map, False for a scalar timestep."""
    return isinstance(timestep, (torch.Tensor, np.ndarray))


class PreparedPair(ABC):
    """A pair of frames with everything time-independent already computed."""

    @abstractmethod
    def frames_at(self, timesteps: Sequence[Timestep | TimeMap]) -> list[torch.Tensor]:
        """Frames at each ``t`` in ``[0, 1]`` (0 = first frame, 1 = second).

        Backends may batch all timesteps into one pass, which is why this takes
        a sequence rather than a single ``t``. An entry may be a :data:`TimeMap`
        when the backend ``supports_time_maps``; otherwise a map is refused with
        :class:`~stsr.errors.InputError`.
        """

    def frame_at(self, timestep: Timestep | TimeMap) -> torch.Tensor:
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
    #: whether :meth:`PreparedPair.frames_at` takes per-pixel :data:`TimeMap` entries
    supports_time_maps: bool = False

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)

    @abstractmethod
    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        """Compute everything about ``frame0 -> frame1`` that does not depend on t."""

    def interpolate(self, frame0: torch.Tensor, frame1: torch.Tensor, timestep: Timestep | TimeMap) -> torch.Tensor:
        """One-off interpolation; prefer :meth:`prepare` when asking several times."""
        return self.prepare(frame0, frame1).frame_at(timestep)

    def describe(self) -> str:
        """A short human description (backend, device, options) for logs and OSD."""
        return f"{self.name} on {self.device}"
