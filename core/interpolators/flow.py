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

On the CPU the same arithmetic runs through OpenCV (``cv2.remap`` on channels-last
images, ``cv2.blendLinear``), several times faster than ``torch.grid_sample`` there;
the forward/backward consistency and the blend weights are computed at flow
resolution and upsampled, since they are as smooth as the flow. That is what lets
the real-time player (``stsr play``) keep up on two cores. Other devices use the
torch path.

Time maps: ``t`` is per pixel wherever it appears (the warps' flow scale and the blend
weights); on the CPU path the blend weights, computed at flow resolution, take the map
resized there (nearest). Both paths do the same float32 arithmetic for a scalar ``t``
as for a map, so a constant map gives the scalar result bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .base import Interpolator, PreparedPair, TimeMap, Timestep
from .registry import register
from .tensors import as_timesteps, endpoint, resized_time_map

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

    def frames_at(self, timesteps: Sequence[Timestep | TimeMap]) -> list[torch.Tensor]:
        size = (self._frames.shape[-2], self._frames.shape[-1])
        values = as_timesteps(timesteps, size, self._frames.device)
        results: list[torch.Tensor | None] = [endpoint(t, self._frames[0], self._frames[1]) for t in values]
        scalars = [i for i, t in enumerate(values) if results[i] is None and not isinstance(t, torch.Tensor)]
        maps = [i for i, t in enumerate(values) if results[i] is None and isinstance(t, torch.Tensor)]
        if scalars:
            ts = torch.tensor([values[i] for i in scalars], dtype=torch.float32, device=self._frames.device)
            for index, frame in zip(scalars, self._blend(ts.view(-1, 1, 1, 1)).unbind(0), strict=True):
                results[index] = frame
        if maps:
            ts = torch.stack([values[i] for i in maps]).unsqueeze(1)  # type: ignore[misc]
            for index, frame in zip(maps, self._blend(ts).unbind(0), strict=True):
                results[index] = frame
        return [frame for frame in results if frame is not None]

    def _blend(self, ts: torch.Tensor) -> torch.Tensor:
        """Frames at ``ts``: ``(N, 1, 1, 1)`` scalars or ``(N, 1, H, W)`` maps, float32."""
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
        return blended.clamp_(0, 1)


def _remap(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, dst: np.ndarray | None = None) -> np.ndarray:
    """Sample ``image`` at (map_x, map_y) pixel coordinates, bilinear, border-clamped (= grid_sample border)."""
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, dst=dst, borderMode=cv2.BORDER_REPLICATE)


class _CpuFlowPair(PreparedPair):
    """The flow pair on the CPU in numpy/OpenCV; images are (H, W, 3) float32 (channels-last views).

    Results are (3, H, W) tensors over channels-last memory, like ``frame_to_tensor``'s.
    Flows are kept upsampled to the frame size but in flow-resolution pixels; the scale
    to frame pixels is folded into the per-timestep ``scaleAdd`` that builds the maps.
    """

    def __init__(self, frame0: torch.Tensor, frame1: torch.Tensor, image0: np.ndarray, image1: np.ndarray,
                 flow01: tuple[np.ndarray, np.ndarray], flow10: tuple[np.ndarray, np.ndarray],
                 small01: tuple[np.ndarray, np.ndarray], small10: tuple[np.ndarray, np.ndarray],
                 error0: np.ndarray, error1: np.ndarray, scale: tuple[float, float],
                 grids: tuple[np.ndarray, ...]) -> None:
        self._frame0, self._frame1 = frame0, frame1
        self._image0, self._image1 = image0, image1  # (H, W, 3) float32
        self._flow01, self._flow10 = flow01, flow10  # x/y planes at (H, W), flow-resolution pixels
        self._small01, self._small10 = small01, small10  # x/y planes at (h, w), flow-resolution pixels
        self._error0, self._error1 = error0, error1  # (h, w) inconsistency in full-resolution pixels
        self._scale_x, self._scale_y = scale
        self._grid_x, self._grid_y, self._small_x, self._small_y = grids

    def _weight(self, error: np.ndarray, small_flow: tuple[np.ndarray, np.ndarray], t: Float32,
                base: Float32) -> np.ndarray:
        """``base * (exp(-e^2 / 4) + 1e-4)`` of the error warped by ``t * flow``, upsampled, times a constant.

        ``cv2.blendLinear`` divides by ``w0 + w1 + 1e-5``: the constant (``_BLEND_SCALE``)
        makes that epsilon negligible. Unscaled, it darkened the picture by 9 % wherever
        both sides are inconsistent (weights at the 1e-4 floor), and wherever a time map
        holds ``t = 0`` or ``1`` and the warped side is occluded.
        """
        warped = _remap(error, _scale_add(small_flow[0], t, self._small_x), _scale_add(small_flow[1], t, self._small_y))
        weight = (np.exp(np.square(warped) * -0.25) + np.float32(1e-4)) * (base * _BLEND_SCALE)
        height, width = self._grid_x.shape
        return cv2.resize(weight, (width, height), interpolation=cv2.INTER_LINEAR)

    def _frame(self, t: Float32, small_t: Float32) -> torch.Tensor:
        """The frame at ``t``: a float32 scalar, or an ``(H, W)`` map and ``small_t`` it at flow resolution."""
        one = np.float32(1)
        map0_x = _scale_add(self._flow01[0], t * np.float32(-self._scale_x), self._grid_x)
        map0_y = _scale_add(self._flow01[1], t * np.float32(-self._scale_y), self._grid_y)
        map1_x = _scale_add(self._flow10[0], (t - one) * np.float32(self._scale_x), self._grid_x)
        map1_y = _scale_add(self._flow10[1], (t - one) * np.float32(self._scale_y), self._grid_y)
        weight0 = self._weight(self._error0, self._small01, -small_t, one - small_t)
        weight1 = self._weight(self._error1, self._small10, small_t - one, small_t)
        warped0 = _remap(self._image0, map0_x, map0_y)
        warped1 = _remap(self._image1, map1_x, map1_y)
        return torch.from_numpy(cv2.blendLinear(warped0, warped1, weight0, weight1)).permute(2, 0, 1)

    def frames_at(self, timesteps: Sequence[Timestep | TimeMap]) -> list[torch.Tensor]:
        values = as_timesteps(timesteps, self._grid_x.shape, torch.device("cpu"))
        results = []
        for t in values:
            exact = endpoint(t, self._frame0, self._frame1)
            if exact is not None:
                results.append(exact)
            elif isinstance(t, torch.Tensor):
                small = resized_time_map(t, self._small_x.shape).numpy()
                results.append(self._frame(t.numpy(), small))
            else:
                results.append(self._frame(np.float32(t), np.float32(t)))
        return results


Float32 = np.float32 | np.ndarray
#: blend weights are scaled by this so that cv2.blendLinear's 1e-5 epsilon is negligible
_BLEND_SCALE = np.float32(1e5)


def _scale_add(values: np.ndarray, scale: Float32, offset: np.ndarray) -> np.ndarray:
    """``values * scale + offset`` in float32, rounded after each operation.

    Why not ``cv2.scaleAdd``: it fuses the multiply-add (one rounding) and takes only a
    scalar; two numpy passes round the same way for a scalar and for a map, which is what
    makes a constant map give the scalar result exactly (and cost ~0.3 ms more at 540p).
    """
    out = np.multiply(values, scale, dtype=np.float32)
    return np.add(out, offset, out=out)


@register("flow", "weight-free: OpenCV DIS optical flow, bidirectional warping, occlusion-aware blend")
class FlowInterpolator(Interpolator):
    """Dense-flow interpolation with no learned weights."""

    name = "flow"
    supports_time_maps = True

    def __init__(self, device: torch.device | str = "cpu", preset: str = "medium", flow_height: int = 360) -> None:
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
        self._cpu_cache: dict[int, tuple[torch.Tensor, np.ndarray, np.ndarray]] = {}
        self._cpu_grids_key: tuple[int, int, int, int] | None = None
        self._cpu_grids_value: tuple[np.ndarray, ...] = ()

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
        if self.device.type == "cpu":
            return self._prepare_cpu(frame0, frame1)
        return self._prepare_torch(frame0, frame1)

    def _prepare_torch(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        """The device-agnostic torch path (used off the CPU; tests run it on the CPU too)."""
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

    # -- CPU path (OpenCV) --------------------------------------------------------------------

    def _image_and_gray(self, frame: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, 3) float32 image (a view of channels-last memory when possible) and the luma at flow
        resolution, cached per frame."""
        key = id(frame)
        cached = self._cpu_cache.get(key)
        if cached is not None and cached[0] is frame:
            return cached[1], cached[2]
        tensor = frame.detach().to("cpu", torch.float32)
        interleaved = tensor.permute(1, 2, 0)
        # Channels-last memory (what frame_to_tensor makes) is used without a copy.
        image = interleaved.numpy() if interleaved.is_contiguous() else cv2.merge(list(tensor.contiguous().numpy()))
        height, width = image.shape[:2]
        flow_height = min(self.flow_height, height)
        size = (max(8, round(width * flow_height / height)), flow_height)
        small = image if size == (width, height) else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        gray = cv2.convertScaleAbs(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), alpha=255)  # 0.299 R + 0.587 G + 0.114 B
        self._cpu_cache[key] = (frame, image, gray)
        while len(self._cpu_cache) > 4:
            self._cpu_cache.pop(next(iter(self._cpu_cache)))
        return image, gray

    def _cpu_grids(self, height: int, width: int, small_height: int, small_width: int) -> tuple[np.ndarray, ...]:
        key = (height, width, small_height, small_width)
        if self._cpu_grids_key != key:
            grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
            small_x, small_y = np.meshgrid(np.arange(small_width, dtype=np.float32),
                                           np.arange(small_height, dtype=np.float32))
            self._cpu_grids_value = (grid_x, grid_y, small_x, small_y)
            self._cpu_grids_key = key
        return self._cpu_grids_value

    def _prepare_cpu(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        image0, gray0 = self._image_and_gray(frame0)
        image1, gray1 = self._image_and_gray(frame1)
        height, width = image0.shape[:2]
        small_height, small_width = gray0.shape
        grids = self._cpu_grids(height, width, small_height, small_width)
        small_x, small_y = grids[2], grids[3]
        small01 = cv2.split(self._dis.calc(gray0, gray1, None))  # x/y planes in flow-resolution pixels
        small10 = cv2.split(self._dis.calc(gray1, gray0, None))
        scale_x, scale_y = width / small_width, height / small_height

        def inconsistency(forward: Sequence[np.ndarray], backward: Sequence[np.ndarray]) -> np.ndarray:
            # |F01(p) + F10(p + F01(p))|, in full-resolution pixels.
            map_x, map_y = small_x + forward[0], small_y + forward[1]
            total_x = (forward[0] + _remap(backward[0], map_x, map_y)) * scale_x
            total_y = (forward[1] + _remap(backward[1], map_x, map_y)) * scale_y
            return cv2.magnitude(total_x, total_y)

        def upsample(flow: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            if (small_height, small_width) == (height, width):
                return flow[0], flow[1]
            return (cv2.resize(flow[0], (width, height), interpolation=cv2.INTER_LINEAR),
                    cv2.resize(flow[1], (width, height), interpolation=cv2.INTER_LINEAR))

        return _CpuFlowPair(frame0, frame1, image0, image1, upsample(small01), upsample(small10),
                            (small01[0], small01[1]), (small10[0], small10[1]),
                            inconsistency(small01, small10), inconsistency(small10, small01),
                            (scale_x, scale_y), grids)
