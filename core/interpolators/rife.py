"""``rife``: RIFE 4.6's IFNet alone, from the ``rife.pkl`` that ships with GMFSS_union.

Why: it needs no global matching, so it is several times faster than
``gmfss_union`` and a good choice for the real-time player. IFNet takes the
timestep as an input, so nothing useful can be precomputed per pair: :meth:`prepare`
only pads and holds the frames, and :meth:`frames_at` runs all timesteps of the
pair as one batch.

Time maps: IFNet's timestep input is a ``(B, 1, H, W)`` plane, so a map is padded like
the frames and passed as it is. Scalar timesteps keep their ``(B, 1, 1, 1)`` fast path;
maps and scalars of one call run as separate batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..archs.gmfss_union import IFNet
from ..errors import InputError
from .allocator import keep_freed_memory
from .base import Interpolator, PreparedPair, TimeMap, Timestep
from .registry import register
from .tensors import (
    as_timesteps,
    batch_pixels,
    check_frames,
    chunks,
    compile_modules,
    compute_dtype,
    endpoint,
    padded_time_maps,
    pick_device,
    to_padded_batch,
)

SCALES = (0.25, 0.5, 1.0, 2.0)


class _RIFEPair(PreparedPair):
    def __init__(
        self,
        backend: RIFEInterpolator,
        frames: tuple[torch.Tensor, torch.Tensor],
        padded: tuple[torch.Tensor, torch.Tensor],
        size: tuple[int, int],
    ) -> None:
        self._backend = backend
        self._frames = frames
        self._padded = padded
        self._size = size

    def frames_at(self, timesteps: Sequence[Timestep | TimeMap]) -> list[torch.Tensor]:
        backend = self._backend
        values = as_timesteps(timesteps, self._size, backend.device)
        results: list[torch.Tensor | None] = [None] * len(values)
        scalars, maps = [], []
        for index, t in enumerate(values):
            exact = endpoint(t, *self._frames) if backend.exact_endpoints else None
            if exact is not None:
                results[index] = exact.to(backend.device, torch.float32)
            else:
                (maps if isinstance(t, torch.Tensor) else scalars).append(index)
        img0 = self._padded[0]
        pixels = img0.shape[-2] * img0.shape[-1]
        for todo in (scalars, maps):
            for part in chunks(len(todo), pixels, backend.max_batch_pixels):
                indices = todo[part]
                for index, frame in zip(indices, self._run([values[i] for i in indices]).unbind(0), strict=True):
                    results[index] = frame
        return [frame for frame in results if frame is not None]

    def _run(self, timesteps: list[float | torch.Tensor]) -> torch.Tensor:
        """One IFNet pass over timesteps that are all scalars or all maps: ``(N, 3, H, W)`` float32."""
        backend = self._backend
        img0, img1 = self._padded
        if isinstance(timesteps[0], torch.Tensor):
            t = padded_time_maps(timesteps, backend.alignment).to(backend.dtype)  # type: ignore[arg-type]
        else:
            # Through float32 like a map's values, so a constant map rounds to the same float16.
            t = torch.tensor(timesteps, device=backend.device, dtype=torch.float32).view(-1, 1, 1, 1).to(backend.dtype)
        height, width = self._size
        with torch.inference_mode():
            batch = backend.net(img0, img1, t, backend.scales)[:, :, :height, :width]
        return batch.clamp(0.0, 1.0).to(torch.float32).clone(memory_format=torch.contiguous_format)


@register("rife", "RIFE 4.6 IFNet (from the GMFSS_union weights): fast, good on small motion")
class RIFEInterpolator(Interpolator):
    """RIFE IFNet at full resolution; ``scale`` < 1 runs its levels coarser for large frames."""

    name = "rife"
    supports_time_maps = True

    def __init__(
        self,
        device: torch.device | str = "cpu",
        scale: float = 1.0,
        weights_dir: str | None = None,
        max_batch_pixels: int | None = None,
        exact_endpoints: bool = True,
        compile: str = "none",
    ) -> None:
        super().__init__(pick_device(device))
        from ..weights import load_rife

        if self.device.type == "cpu":
            keep_freed_memory()  # see .allocator: ~15 % of a CPU pass went to page faults

        if float(scale) not in SCALES:
            raise InputError(f"rife scale must be one of {', '.join(f'{s:g}' for s in SCALES)}, got {scale}")
        self.scale = float(scale)
        self.scales = tuple(level / self.scale for level in (8, 4, 2, 1))
        # Level 0 works at 1/(8/scale) and strides down 4 more times.
        self.alignment = max(32, int(32 / self.scale))
        self.max_batch_pixels = batch_pixels(self.device, max_batch_pixels)
        self.exact_endpoints = exact_endpoints
        self.dtype = compute_dtype(self.device)
        net: IFNet = load_rife(weights_dir)
        net = net.to(device=self.device, dtype=self.dtype)
        if self.device.type == "cuda":
            net = net.to(memory_format=torch.channels_last)
        self.net = net.eval().requires_grad_(False)
        #: torch.compile mode (none, default, reduce-overhead), see tensors.compile_modules
        self.compile = compile
        compile_modules((self.net,), compile)

    def describe(self) -> str:
        precision = "fp16" if self.dtype == torch.float16 else "fp32"
        compiled = "" if self.compile == "none" else f", torch.compile {self.compile}"
        return f"rife (IFNet 4.6, scale {self.scale:g}, {precision}{compiled}) on {self.device}"

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        size = check_frames(frame0, frame1)
        padded = (
            to_padded_batch(frame0, self.alignment, self.device, self.dtype),
            to_padded_batch(frame1, self.alignment, self.device, self.dtype),
        )
        return _RIFEPair(self, (frame0, frame1), padded, size)
