"""MetricNet: the per-pixel importance that decides who wins when splatted pixels collide.

It looks at each frame, its photometric error after warping, its flow and its
forward-backward occlusion map, and predicts one metric per frame. Parameter names
follow ``metric_*.pkl``.
"""

from __future__ import annotations

import torch
from torch import nn

from .gmflow import occlusion_masks
from .warp import metric_warp


class MetricNet(nn.Module):
    """Three convs over ``[img, -error, flow, occlusion]`` of both frames -> ``(metric0, metric1)``."""

    def __init__(self) -> None:
        super().__init__()
        self.metric_net = nn.Sequential(
            nn.Conv2d(14, 64, 3, 1, 1),
            nn.PReLU(),
            nn.Conv2d(64, 64, 3, 1, 1),
            nn.PReLU(),
            nn.Conv2d(64, 2, 3, 1, 1),
        )

    def forward(
        self, img0: torch.Tensor, img1: torch.Tensor, flow01: torch.Tensor, flow10: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        error0 = (img0 - metric_warp(img1, flow01)).abs().mean(dim=1, keepdim=True)
        error1 = (img1 - metric_warp(img0, flow10)).abs().mean(dim=1, keepdim=True)
        occlusion0, occlusion1 = occlusion_masks(flow01, flow10)
        features = torch.cat(
            (img0, -error0, flow01, occlusion0.to(img0.dtype), img1, -error1, flow10, occlusion1.to(img1.dtype)),
            dim=1,
        )
        metric = self.metric_net(features)
        return metric[:, :1], metric[:, 1:2]
