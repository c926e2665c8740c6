"""RIFE 4.6 IFNet ("HDv3"): coarse-to-fine intermediate flows, timestep as an input channel.

Four blocks refine two flows (t->0 and t->1) and a blend mask from 1/8 to full
resolution of whatever it is given. Because the timestep is an input, every ``t``
needs its own pass; batching several ``t`` of one pair is how the cost is shared.
Parameter names follow ``rife.pkl``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .warp import backward_warp


def _conv_lrelu(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True))


class ScaledResidualConv(nn.Module):
    """3x3 conv whose output is scaled per channel (``beta``) and added to its input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.relu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(torch.addcmul(x, self.conv(x), self.beta))


class FlowBlock(nn.Module):
    """One IFNet level: works at ``1/scale`` and returns a flow update (4 ch) and a mask update."""

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(_conv_lrelu(in_channels, width // 2, 2), _conv_lrelu(width // 2, width, 2))
        self.convblock = nn.Sequential(*(ScaledResidualConv(width) for _ in range(8)))
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(width, 4 * 6, 4, 2, 1), nn.PixelShuffle(2))

    def forward(
        self, x: torch.Tensor, flow: torch.Tensor | None, scale: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        size = x.shape[-2:]
        if scale != 1:
            x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear")
        if flow is not None:
            if scale != 1:
                flow = F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear") / scale
            x = torch.cat((x, flow), dim=1)
        out = self.lastconv(self.convblock(self.conv0(x)))
        if out.shape[-2:] != size:
            out = F.interpolate(out, size=size, mode="bilinear")
        return out[:, :4] * scale, out[:, 4:5]


class IFNet(nn.Module):
    """RIFE's intermediate-flow network; ``forward`` returns the blended frame at ``timestep``.

    Inputs must have height and width divisible by ``32 * max(scales) / 8`` (32 for the
    default scales) so that every level lines up.
    """

    def __init__(self) -> None:
        super().__init__()
        self.block0 = FlowBlock(7, 192)
        self.block1 = FlowBlock(8 + 4, 128)
        self.block2 = FlowBlock(8 + 4, 96)
        self.block3 = FlowBlock(8 + 4, 64)

    def forward(
        self,
        img0: torch.Tensor,
        img1: torch.Tensor,
        timestep: torch.Tensor,
        scales: Sequence[float] = (8, 4, 2, 1),
    ) -> torch.Tensor:
        """``img0``/``img1`` ``(B or 1, 3, H, W)``; ``timestep`` ``(B, 1, 1, 1)`` or ``(B, 1, H, W)``.

        A batch of one image pair is broadcast against a batch of timesteps.
        """
        batch = max(img0.shape[0], img1.shape[0], timestep.shape[0])
        height, width = img0.shape[-2:]
        img0 = img0.expand(batch, -1, -1, -1)
        img1 = img1.expand(batch, -1, -1, -1)
        t_map = timestep.to(img0.dtype).expand(batch, 1, height, width)

        flow: torch.Tensor | None = None
        mask: torch.Tensor | None = None
        warped0, warped1 = img0, img1
        for block, scale in zip((self.block0, self.block1, self.block2, self.block3), scales, strict=True):
            if flow is None or mask is None:
                flow, mask = block(torch.cat((img0, img1, t_map), dim=1), None, scale)
            else:
                flow_delta, mask_delta = block(torch.cat((warped0, warped1, t_map, mask), dim=1), flow, scale)
                flow = flow + flow_delta
                mask = mask + mask_delta
            warped0 = backward_warp(img0, flow[:, :2])
            warped1 = backward_warp(img1, flow[:, 2:4])
        assert mask is not None
        blend = torch.sigmoid(mask)
        return warped0 * blend + warped1 * (1 - blend)
