"""Forward (splatting) warps in pure PyTorch, replacing the reference's cupy kernel.

Every source pixel is pushed to ``x + flow(x)`` and shared bilinearly between the
four target pixels around that point with ``scatter_add_``, which is deterministic
on the CPU and uses atomics on CUDA. Integer flows therefore move pixels exactly.

Softmax splatting (Niklaus & Liu 2020) weights each source pixel by ``exp(metric)``
so that, where several pixels land on one target, the one with the larger metric
(the one in front) wins. The image and its normalising weight are splatted together
as one extra channel instead of in two passes.
"""

from __future__ import annotations

import torch

from .warp import pixel_grid


def forward_splat(values: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sum-splat ``values`` ``(B, C, H, W)`` along ``flow`` ``(B, 2, H, W)``; float32 in, float32 out.

    Targets outside the image and non-finite flows are dropped.
    """
    batch, channels, height, width = values.shape
    pixels = height * width
    coords = pixel_grid(height, width, flow.device) + flow.float()
    finite = torch.isfinite(coords).all(dim=1)
    coords = torch.where(finite.unsqueeze(1), coords, torch.full_like(coords, -2.0))
    x_target, y_target = coords[:, 0], coords[:, 1]
    x_left, y_top = x_target.floor(), y_target.floor()
    frac_x, frac_y = x_target - x_left, y_target - y_top
    x_left, y_top = x_left.long(), y_top.long()

    indices = []
    weights = []
    for dx, dy, weight in (
        (0, 0, (1.0 - frac_x) * (1.0 - frac_y)),
        (1, 0, frac_x * (1.0 - frac_y)),
        (0, 1, (1.0 - frac_x) * frac_y),
        (1, 1, frac_x * frac_y),
    ):
        xs, ys = x_left + dx, y_top + dy
        inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
        # Pixels that fall outside go to one spare slot past the end, dropped below.
        indices.append(torch.where(inside, ys * width + xs, pixels).view(batch, 1, pixels))
        weights.append(weight.view(batch, 1, pixels))
    index = torch.cat(indices, dim=2).expand(batch, channels, 4 * pixels)
    source = (values.reshape(batch, channels, 1, pixels).float() * torch.stack(weights, dim=2)).view(
        batch, channels, 4 * pixels
    )
    out = values.new_zeros((batch, channels, pixels + 1), dtype=torch.float32)
    out.scatter_add_(2, index, source)
    return out[:, :, :pixels].view(batch, channels, height, width)


def softmax_splat(values: torch.Tensor, flow: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
    """Softmax-splat ``values`` along ``flow`` with importance ``metric`` ``(B, 1, H, W)``.

    Returns ``sum(v * e^m) / sum(e^m)`` per target pixel, and 0 where nothing lands.
    Zero flow returns ``values``. Computed in float32 (``exp`` would overflow in
    float16) and returned in the dtype of ``values``.
    """
    dtype = values.dtype
    metric = metric.float()
    # Softmax weights are invariant to a per-image constant; subtracting the max keeps exp() finite.
    metric = metric - metric.amax(dim=(1, 2, 3), keepdim=True)
    weight = metric.exp()
    splatted = forward_splat(torch.cat((values.float() * weight, weight), dim=1), flow)
    total = splatted[:, -1:]
    covered = total > 0
    out = splatted[:, :-1] / torch.where(covered, total, torch.ones_like(total))
    return out.to(dtype)
