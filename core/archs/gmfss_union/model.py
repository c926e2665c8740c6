"""GMFSS_union put together, split the way a stream wants it: per frame, per pair, per timestep.

* :meth:`GMFSSUnion.encode_frame` - everything that depends on one frame (the fusion
  feature pyramid, GMFlow's backbone features, the half-size image). Each frame of
  a stream belongs to two pairs, so callers cache this.
* :meth:`GMFSSUnion.prepare_pair` - both flows from one GMFlow pass, the metrics,
  and the flows/metrics pre-scaled for each pyramid level.
* :meth:`GMFSSUnion.synthesize` - any number of timesteps in one batch: RIFE's
  IFNet, one softmax splat per pyramid level for both frames and all timesteps
  together, and the GridNet.

As in the reference, the flow, RIFE and the GridNet work at half the input size and
the GridNet's pixel-shuffle head returns the full size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .fusionnet import FusionNet
from .gmflow import ALIGNMENT as FLOW_ALIGNMENT
from .gmflow import GMFlow
from .ifnet import IFNet
from .metricnet import MetricNet
from .softsplat import softmax_weighted, splat_weighted

#: input sides must be multiples of this (half size, then IFNet's 1/8 level, then 2 stride-2 convs)
ALIGNMENT = 64


@dataclass
class FrameFeatures:
    """Per-frame results; ``levels[k]`` is ``[image at half size, pyramid level]`` for k = 0, else the level."""

    half: torch.Tensor
    levels: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    flow_features: tuple[torch.Tensor, torch.Tensor]
    flow_size: tuple[int, int]


@dataclass
class PairState:
    """Per-pair results at the three splatting levels, stacked ``[frame 0, frame 1]`` on the batch."""

    flows: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # (2, 2, h_k, w_k): flow 0->1 and 1->0, float32
    #: (2, C_k + 1, h_k, w_k) float32: the values to splat times exp(metric), and exp(metric);
    #: independent of t, so weighted once per pair (see softsplat.softmax_weighted)
    weighted: tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class GMFSSUnion(nn.Module):
    """GMFlow + RIFE IFNet + MetricNet + FusionNet; attribute names match the four weight files."""

    def __init__(self, flow_scale: float = 1.0) -> None:
        super().__init__()
        self.flownet = GMFlow()
        self.ifnet = IFNet()
        self.metricnet = MetricNet()
        self.fusionnet = FusionNet()
        self.flow_scale = flow_scale

    @property
    def dtype(self) -> torch.dtype:
        """The dtype between sub-networks (a sub-network may compute in another one behind casts)."""
        return self.flownet.mean.dtype

    def encode_frame(self, image: torch.Tensor) -> FrameFeatures:
        """``image``: ``(1, 3, H, W)`` in ``[0, 1]``, H and W multiples of :data:`ALIGNMENT`."""
        height, width = image.shape[-2:]
        if height % ALIGNMENT or width % ALIGNMENT:
            raise ValueError(f"GMFSS_union input must be a multiple of {ALIGNMENT} pixels, got {width}x{height}")
        level1, level2, level3 = self.fusionnet.feat_ext(image * 2 - 1)
        half = F.interpolate(image, scale_factor=0.5, mode="bilinear")
        flow_input = half
        if self.flow_scale != 1.0:
            size = (max(1, round(half.shape[-2] * self.flow_scale)), max(1, round(half.shape[-1] * self.flow_scale)))
            flow_input = F.interpolate(half, size=size, mode="bilinear")
        flow_size = (flow_input.shape[-2], flow_input.shape[-1])
        pad_h = -flow_size[0] % FLOW_ALIGNMENT
        pad_w = -flow_size[1] % FLOW_ALIGNMENT
        if pad_h or pad_w:
            flow_input = F.pad(flow_input, (0, pad_w, 0, pad_h), mode="replicate")
        flow_features = self.flownet.encode(flow_input)
        return FrameFeatures(half, (torch.cat((half, level1), dim=1), level2, level3), flow_features, flow_size)

    def prepare_pair(self, frame0: FrameFeatures, frame1: FrameFeatures) -> PairState:
        """Flows (both directions in one GMFlow pass), metrics, and their per-level versions."""
        flow01, flow10 = self.flownet.flows(frame0.flow_features, frame1.flow_features)
        flow_h, flow_w = frame0.flow_size
        flows = torch.cat((flow01, flow10), dim=0)[:, :, :flow_h, :flow_w]
        half_h, half_w = frame0.half.shape[-2:]
        if (flow_h, flow_w) != (half_h, half_w):
            stretch = flows.new_tensor([half_w / flow_w, half_h / flow_h]).view(1, 2, 1, 1)
            flows = F.interpolate(flows, size=(half_h, half_w), mode="bilinear") * stretch
        dtype = self.dtype
        metric0, metric1 = self.metricnet(frame0.half, frame1.half, flows[:1].to(dtype), flows[1:].to(dtype))
        metrics = torch.cat((metric0, metric1), dim=0).float()
        flow_levels = (flows, F.interpolate(flows, scale_factor=0.5, mode="bilinear") * 0.5,
                       F.interpolate(flows, scale_factor=0.25, mode="bilinear") * 0.25)  # fmt: skip
        metric_levels = (metrics, F.interpolate(metrics, scale_factor=0.5, mode="bilinear"),
                         F.interpolate(metrics, scale_factor=0.25, mode="bilinear"))  # fmt: skip
        weighted = tuple(
            softmax_weighted(torch.cat((a, b), dim=0), metric)
            for a, b, metric in zip(frame0.levels, frame1.levels, metric_levels, strict=True)
        )
        return PairState(flow_levels, weighted)  # type: ignore[arg-type]

    def synthesize(
        self, frame0: FrameFeatures, frame1: FrameFeatures, pair: PairState, timesteps: Sequence[float] | torch.Tensor
    ) -> torch.Tensor:
        """Frames at every ``t`` in one batch, ``(N, 3, H, W)`` in ``[0, 1]``.

        ``timesteps``: one ``t`` per frame, or per-pixel time maps ``(N, 1, h, w)`` float32 at
        the half size (``frame0.half``'s). A map goes wherever the scalar ``t`` goes (IFNet's
        timestep, the flows' scale before splatting), resized to each pyramid level.
        """
        dtype = self.dtype
        device = frame0.half.device
        if isinstance(timesteps, torch.Tensor):
            t = timesteps.to(device=device, dtype=torch.float32)
        else:
            t = torch.tensor([float(x) for x in timesteps], device=device, dtype=torch.float32).view(-1, 1, 1, 1)
        count = t.shape[0]
        rife = self.ifnet(frame0.half, frame1.half, t.to(dtype))

        # Splat batch: [frame 0 at t_1..t_N, frame 1 at t_1..t_N]; frame 0 moves by t, frame 1 by 1 - t.
        factors = torch.cat((t, 1.0 - t))
        pick = torch.arange(2, device=device).repeat_interleave(count)
        splatted = []
        for flows, weighted in zip(pair.flows, pair.weighted, strict=True):
            moved = splat_weighted(weighted, flows[pick] * _at_level(factors, flows.shape[-2:]), pick)
            splatted.append((moved[:count], moved[count:]))
        (img0_level1, img1_level1), (level2_0, level2_1), (level3_0, level3_1) = splatted
        # channels_last convs are ~1.5x faster on CPU (oneDNN) as well as on CUDA; the frames'
        # channels are concatenated straight into channels_last buffers (one copy, not two).
        # Built straight in the GridNet's own dtype (bfloat16 on some CPUs): no second cast.
        grid_dtype = next(self.fusionnet.synnet.parameters()).dtype
        inputs = (
            _channels_last_cat((img0_level1[:, :3], img1_level1[:, :3]), grid_dtype),
            _channels_last_cat((img0_level1[:, 3:], img1_level1[:, 3:]), grid_dtype),
            _channels_last_cat((level2_0, level2_1), grid_dtype),
            _channels_last_cat((level3_0, level3_1), grid_dtype),
            rife.to(grid_dtype).contiguous(memory_format=torch.channels_last),
        )
        out = self.fusionnet.synnet(*inputs)
        return out.clamp(0.0, 1.0)


def _at_level(factors: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Per-pixel factors resized to a pyramid level like the flows (bilinear); scalars pass as they are.

    Levels are exactly 1/2 and 1/4 of the half size, where every bilinear weight is 1/2: a region
    of one ``t`` keeps exactly that ``t`` (a constant map gives the scalar's result bit for bit).
    """
    if factors.shape[-2:] in ((1, 1), size):
        return factors
    return F.interpolate(factors, size=size, mode="bilinear")


def _channels_last_cat(parts: Sequence[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    """``torch.cat(parts, dim=1)`` as ``dtype`` in channels_last memory, written in one pass."""
    batch, _, height, width = parts[0].shape
    channels = sum(part.shape[1] for part in parts)
    out = torch.empty((batch, channels, height, width), dtype=dtype, device=parts[0].device,
                      memory_format=torch.channels_last)  # fmt: skip
    start = 0
    for part in parts:
        out[:, start : start + part.shape[1]].copy_(part)
        start += part.shape[1]
    return out
