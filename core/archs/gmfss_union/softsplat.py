"""Forward (splatting) warps in pure PyTorch, replacing the reference's cupy kernel.

Every source pixel is pushed to ``x + flow(x)`` and shared bilinearly between the
four target pixels around that point with ``scatter_add_``, which is deterministic
on the CPU and uses atomics on CUDA. Integer flows therefore move pixels exactly.

Softmax splatting (Niklaus & Liu 2020) weights each source pixel by ``exp(metric)``
so that, where several pixels land on one target, the one with the larger metric
(the one in front) wins. The image and its normalising weight are splatted together
as one extra channel instead of in two passes.

Why it is split into :func:`softmax_weighted` and :func:`splat_weighted`: in a stream
the values and metrics belong to the pair while only the flow's scale changes with
``t``, so the weighting (``exp``, the product, the extra channel) is done once per
pair and each timestep only computes the four target indices and scatters. One
scatter per corner keeps the temporary at the size of the values (one scatter for
all four corners at once needs a 4x larger source tensor, and was slower).
"""

from __future__ import annotations

import torch

from .warp import pixel_grid

#: pixels per splat chunk: 37 float32 channels make 19 MB
SPLAT_CHUNK = 1 << 17


def _corners(flow: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Flat target index (``H*W`` = dropped) and bilinear weight of the four corners, ``(B, H*W)`` each."""
    batch, _, height, width = flow.shape
    pixels = height * width
    coords = pixel_grid(height, width, flow.device) + flow.float()
    # Non-finite targets go to -2, which has no corner inside the image: dropped.
    coords = torch.nan_to_num(coords, nan=-2.0, posinf=-2.0, neginf=-2.0)
    x_target, y_target = coords[:, 0].reshape(batch, pixels), coords[:, 1].reshape(batch, pixels)
    x_left, y_top = x_target.floor(), y_target.floor()
    frac_x, frac_y = x_target - x_left, y_target - y_top
    x_left, y_top = x_left.long(), y_top.long()
    inside_x = ((x_left >= 0) & (x_left < width), (x_left >= -1) & (x_left < width - 1))
    inside_y = ((y_top >= 0) & (y_top < height), (y_top >= -1) & (y_top < height - 1))
    weight_x = (1.0 - frac_x, frac_x)
    weight_y = (1.0 - frac_y, frac_y)
    base = y_top * width + x_left
    indices, weights = [], []
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        inside = inside_x[dx] & inside_y[dy]
        # Pixels that fall outside go to one spare slot past the end, dropped by the caller.
        indices.append(torch.where(inside, base + (dy * width + dx), pixels))
        weights.append(weight_x[dx] * weight_y[dy])
    return indices, weights


def _scatter(values: torch.Tensor, flow: torch.Tensor, sources: torch.Tensor | None) -> torch.Tensor:
    """Sum-splat ``values[sources[i]]`` (``values[i]`` if no ``sources``) along ``flow[i]``: ``(B, H*W + 1, C)``.

    Works on rows of channels (channels last): each corner ``index_add_``s whole rows
    into a ``(H*W + 1, C)`` table per image, which at 540p took under half the time of
    a per-channel ``scatter_add_`` over ``(B, C, H*W)``.
    """
    batch, _, height, width = flow.shape
    channels = values.shape[1]
    pixels = height * width
    rows = values.float().permute(0, 2, 3, 1).reshape(values.shape[0], pixels, channels)
    if sources is None:
        sources = torch.arange(batch, device=flow.device)
    out = rows.new_zeros((batch, pixels + 1, channels))
    indices, weights = _corners(flow)
    # Row chunks keep each weighted temporary under malloc's 32 MB heap limit (see
    # stsr.interpolators.allocator): the whole batch at once was 80 MB at 540p, faulted in anew.
    for item, source in enumerate(sources.tolist()):
        for start in range(0, pixels, SPLAT_CHUNK):
            part = slice(start, start + SPLAT_CHUNK)
            for index, weight in zip(indices, weights, strict=True):
                out[item].index_add_(0, index[item, part], rows[source, part] * weight[item, part, None])
    return out.view(batch, pixels + 1, channels)


def forward_splat(values: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sum-splat ``values`` ``(B, C, H, W)`` along ``flow`` ``(B, 2, H, W)``; float32 in, float32 out.

    Targets outside the image and non-finite flows are dropped.
    """
    batch, channels, height, width = values.shape
    splatted = _scatter(values, flow, None)[:, : height * width]
    return splatted.view(batch, height, width, channels).permute(0, 3, 1, 2).contiguous()


def softmax_weighted(values: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
    """``[values * e^m, e^m]`` in float32, ``(B, C + 1, H, W)`` channels_last: what :func:`splat_weighted` moves.

    Softmax weights are invariant to a per-image constant; subtracting each image's
    max keeps ``exp`` finite (it would overflow in float16).
    """
    metric = metric.float()
    weight = (metric - metric.amax(dim=(1, 2, 3), keepdim=True)).exp()
    batch, channels, height, width = values.shape
    out = torch.empty((batch, channels + 1, height, width), device=values.device, memory_format=torch.channels_last)
    torch.mul(values.float(), weight, out=out[:, :channels])
    out[:, channels:].copy_(weight)
    return out


def splat_weighted(weighted: torch.Tensor, flow: torch.Tensor, sources: torch.Tensor | None = None) -> torch.Tensor:
    """Splat :func:`softmax_weighted` output along ``flow`` and normalise: ``(B, C, H, W)`` float32, channels_last.

    ``sources`` picks the image of ``weighted`` for each flow (several timesteps of one
    frame share it); 0 where nothing lands.
    """
    batch, _, height, width = flow.shape
    channels = weighted.shape[1] - 1
    splatted = _scatter(weighted, flow, sources)[:, : height * width]
    total = splatted[:, :, -1:]
    total = torch.where(total > 0, total, torch.ones_like(total))
    normalised = torch.div(splatted[:, :, :-1], total)
    return normalised.view(batch, height, width, channels).permute(0, 3, 1, 2)


def softmax_splat(values: torch.Tensor, flow: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
    """Softmax-splat ``values`` along ``flow`` with importance ``metric`` ``(B, 1, H, W)``.

    Returns ``sum(v * e^m) / sum(e^m)`` per target pixel, and 0 where nothing lands.
    Zero flow returns ``values``. Computed in float32 and returned in the dtype of ``values``.
    """
    return splat_weighted(softmax_weighted(values, metric), flow).to(values.dtype)
