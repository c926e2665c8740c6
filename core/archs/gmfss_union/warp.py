"""Backward warping (``out(x) = image(x + flow(x))``) with ``grid_sample``, in pixel units.

The three sub-networks of GMFSS_union were trained with three slightly different
warps, and the weights expect each one exactly:

* RIFE's IFNet samples at ``x + flow`` and clamps to the border;
* GMFlow samples at ``x + flow`` with zeros outside;
* MetricNet samples at ``x + flow * W / (W - 1)`` with zeros outside (its grid
  mixes the two ``align_corners`` conventions), see :func:`metric_warp`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_GRID_CACHE: dict[tuple[int, int, str, torch.dtype], torch.Tensor] = {}


def pixel_grid(height: int, width: int, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(1, 2, H, W)`` tensor of pixel coordinates (x, y); cached because every warp needs one."""
    key = (height, width, str(device), dtype)
    grid = _GRID_CACHE.get(key)
    if grid is None:
        if len(_GRID_CACHE) > 32:
            _GRID_CACHE.clear()
        ys = torch.arange(height, device=device, dtype=dtype).view(1, 1, height, 1).expand(1, 1, height, width)
        xs = torch.arange(width, device=device, dtype=dtype).view(1, 1, 1, width).expand(1, 1, height, width)
        grid = torch.cat((xs, ys), dim=1)
        _GRID_CACHE[key] = grid
    return grid


def backward_warp(image: torch.Tensor, flow: torch.Tensor, padding_mode: str = "border") -> torch.Tensor:
    """Sample ``image`` at ``x + flow(x)`` bilinearly; computed in float32, returned in the input dtype.

    ``flow`` is ``(B, 2, H, W)`` in pixels (x then y); the batch of ``image`` may be 1
    and is broadcast against a larger flow batch.
    """
    dtype = image.dtype
    batch, _, height, width = flow.shape
    coords = pixel_grid(height, width, flow.device) + flow.float()
    # align_corners=True maps -1/+1 to the centres of the first/last pixels.
    scale_x = 2.0 / max(width - 1, 1)
    scale_y = 2.0 / max(height - 1, 1)
    grid = torch.stack((coords[:, 0] * scale_x - 1.0, coords[:, 1] * scale_y - 1.0), dim=-1)
    source = image.float()
    if source.shape[0] != batch:
        source = source.expand(batch, -1, -1, -1)
    out = F.grid_sample(source, grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)
    return out.to(dtype)


def metric_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """MetricNet's warp: zeros outside and the flow stretched by ``W / (W - 1)``, as it was trained."""
    height, width = flow.shape[-2:]
    stretch = flow.new_tensor([width / max(width - 1, 1), height / max(height - 1, 1)]).view(1, 2, 1, 1)
    return backward_warp(image, flow * stretch, padding_mode="zeros")
