"""``flow``: a weight-free interpolator from dense optical flow (OpenCV DIS).

Why it exists: the converter must be useful without a model download, and the
real-time player needs something that keeps up on a CPU. Flows in both
directions are computed once per pair (at most ``flow_height`` rows, since DIS cost
grows with pixels and anime motion is smooth enough at lower resolution); every
timestep then costs two backward warps and a blend.

Timestep ``t`` warps frame 0 by ``F_t0 ~ -t * F01`` and frame 1 by
``F_t1 ~ -(1 - t) * F10`` (flows sampled at the target pixel, the usual linear
approximation), and blends them with weights ``(1 - t)`` and ``t`` scaled down where
the forward/backward flows disagree (occlusion: the pixel is not visible in that
frame).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .base import Interpolator, PreparedPair, Timestep
from .registry import register

_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def _gray_uint8(frame: torch.Tensor, height: int) -> np.ndarray:
    """Luma of a (3, H, W) float frame as uint8, resized to ``height`` rows."""
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=frame.dtype, device=frame.device).view(3, 1, 1)
    luma = (frame * weights).sum(0, keepdim=True)
    if luma.shape[-2] != height:
        width = max(8, round(luma.shape[-1] * height / luma.shape[-2]))
        luma = F.interpolate(luma[None], size=(height, width), mode="area")[0]
    return (luma[0].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def _base_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device, dtype=torch.float32),
        torch.arange(width, device=device, dtype=torch.float32),
        indexing="ij",
    )
    return torch.stack((xs, ys), dim=0)  # (2, H, W) pixel coordinates


def backward_warp(image: torch.Tensor, flow: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` (N, C, H, W) at ``pixel + flow`` (N, 2, H, W), border-clamped."""
    _, _, height, width = image.shape
    coords = grid + flow
    normalised = torch.stack(
        (coords[:, 0] * (2.0 / max(width - 1, 1)) - 1.0, coords[:, 1] * (2.0 / max(height - 1, 1)) - 1.0), dim=-1
    )
    return F.grid_sample(image, normalised, mode="bilinear", padding_mode="border", align_corners=True)


class _FlowPair(PreparedPair):
    def __init__(self, frames: torch.Tensor, flow01: torch.Tensor, flow10: torch.Tensor,
                 error0: torch.Tensor, error1: torch.Tensor, grid: torch.Tensor) -> None:
        self._frames = frames  # (2, 3, H, W)
        self._flow01, self._flow10 = flow01, flow10  # (1, 2, H, W)
        self._error0, self._error1 = error0, error1  # (1, 1, H, W) fwd/bwd inconsistency, pixels
        self._grid = grid

    def frames_at(self, timesteps: Sequence[Timestep]) -> list[torch.Tensor]:
        if not timesteps:
            return []
        ts = torch.tensor([float(t) for t in timesteps], dtype=torch.float32, device=self._frames.device)
        ts = ts.view(-1, 1, 1, 1)
        count = ts.shape[0]
        flow_t0 = -ts * self._flow01
        flow_t1 = -(1 - ts) * self._flow10
        frame0 = self._frames[0:1].expand(count, -1, -1, -1)
        frame1 = self._frames[1:2].expand(count, -1, -1, -1)
        # Warp the image and its inconsistency map together: one grid_sample per side.
        warped0 = backward_warp(torch.cat((frame0, self._error0.expand(count, -1, -1, -1)), 1), flow_t0, self._grid)
        warped1 = backward_warp(torch.cat((frame1, self._error1.expand(count, -1, -1, -1)), 1), flow_t1, self._grid)
        weight0 = (1 - ts) * torch.exp(-warped0[:, 3:4].square() / 4.0) + 1e-4 * (1 - ts)
        weight1 = ts * torch.exp(-warped1[:, 3:4].square() / 4.0) + 1e-4 * ts
        blended = (weight0 * warped0[:, :3] + weight1 * warped1[:, :3]) / (weight0 + weight1)
        results = list(blended.clamp_(0, 1).unbind(0))
        # Exact endpoints: t == 0 / 1 return the inputs themselves.
        for position, t in enumerate(timesteps):
            if t == 0:
                results[position] = self._frames[0]
            elif t == 1:
                results[position] = self._frames[1]
        return results


@register("flow", "weight-free: OpenCV DIS optical flow, bidirectional warping, occlusion-aware blend")
class FlowInterpolator(Interpolator):
    """Dense-flow interpolation with no learned weights."""

    name = "flow"

    def __init__(self, device: torch.device | str = "cpu", preset: str = "medium", flow_height: int = 360,
                 **_ignored: object) -> None:
        super().__init__(device)
        if preset not in _PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}")
        self.preset = preset
        self.flow_height = flow_height
        self._dis = cv2.DISOpticalFlow.create(_PRESETS[preset])
        self._grid: torch.Tensor | None = None
        # Grayscale pyramids of recent frames, keyed by identity: in a stream each frame
        # is in two pairs. The tensor is held so its id() stays unique.
        self._gray_cache: dict[int, tuple[torch.Tensor, np.ndarray]] = {}

    def describe(self) -> str:
        return f"flow (DIS {self.preset}, flow at {self.flow_height}p) on {self.device}"

    def _gray(self, frame: torch.Tensor) -> np.ndarray:
        key = id(frame)
        cached = self._gray_cache.get(key)
        if cached is not None and cached[0] is frame:
            return cached[1]
        gray = _gray_uint8(frame, min(self.flow_height, frame.shape[-2]))
        self._gray_cache[key] = (frame, gray)
        while len(self._gray_cache) > 4:
            self._gray_cache.pop(next(iter(self._gray_cache)))
        return gray

    def _flow(self, gray0: np.ndarray, gray1: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
        flow = self._dis.calc(gray0, gray1, None)  # (h, w, 2), pixels at flow resolution
        tensor = torch.from_numpy(flow).permute(2, 0, 1)[None].to(self.device)
        height, width = size
        if tensor.shape[-2:] != (height, width):
            scale_x = width / tensor.shape[-1]
            scale_y = height / tensor.shape[-2]
            tensor = F.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False)
            tensor[:, 0] *= scale_x
            tensor[:, 1] *= scale_y
        return tensor

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        height, width = frame0.shape[-2:]
        if self._grid is None or self._grid.shape[-2:] != (height, width):
            self._grid = _base_grid(height, width, self.device)[None]
        gray0, gray1 = self._gray(frame0), self._gray(frame1)
        flow01 = self._flow(gray0, gray1, (height, width))
        flow10 = self._flow(gray1, gray0, (height, width))
        # Forward-backward consistency: where F01(p) + F10(p + F01(p)) is not ~0, p is occluded in frame 1.
        error0 = (flow01 + backward_warp(flow10, flow01, self._grid)).norm(dim=1, keepdim=True)
        error1 = (flow10 + backward_warp(flow01, flow10, self._grid)).norm(dim=1, keepdim=True)
        frames = torch.stack((frame0, frame1)).to(self.device)
        return _FlowPair(frames, flow01, flow10, error0, error1, self._grid)

