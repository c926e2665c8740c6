"""The fusion half of GMFSS: a per-frame feature pyramid and the GridNet that blends splatted inputs.

``FeaturePyramid`` depends on one frame only, so a stream computes it once per
frame. ``GridNet`` takes both frames' images and pyramids after softmax splatting to
time ``t`` plus RIFE's own estimate, and returns the frame at twice the resolution
it works at. Parameter names follow ``fusionnet_*.pkl`` (``feat_ext.*``, ``synnet.*``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .onednn import fused_or_plain


def conv_prelu(conv: nn.Conv2d, prelu: nn.PReLU, x: torch.Tensor) -> torch.Tensor:
    """``prelu(conv(x))`` as one oneDNN convolution with a leaky-ReLU post-op on the CPU.

    Why: a single-slope PReLU is a leaky ReLU, which oneDNN applies to the accumulator
    before the result is stored; the separate pass over the output cost as much as half
    the convolution at these sizes (bf16, 32 channels at 480x288: 23 ms together, 12 ms
    fused). Elsewhere (CUDA, per-channel slopes, the op missing) the two plain calls.
    """
    if (x.device.type != "cpu" or prelu.weight.numel() != 1 or x.dtype not in (torch.float32, torch.bfloat16)
            or x.dtype != conv.weight.dtype):
        return prelu(conv(x))
    return fused_or_plain(
        "_convolution_pointwise",
        lambda op: op(x, conv.weight, conv.bias, list(conv.padding), list(conv.stride), list(conv.dilation),
                      conv.groups, "leaky_relu", [float(prelu.weight.detach())], ""),
        lambda: prelu(conv(x)),
    )


class DoubleConv(nn.Sequential):
    """[upsample,] PReLU-conv-PReLU-conv; the first conv may stride down. Keeps ``nn.Sequential``'s names."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        *head, conv1, prelu1, conv2 = self
        for module in head:
            x = module(x)
        return conv2(conv_prelu(conv1, prelu1, x))


def _double_conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """PReLU-conv-PReLU-conv; the first conv may stride down."""
    return DoubleConv(
        nn.PReLU(),
        nn.Conv2d(in_channels, out_channels, 3, stride, 1),
        nn.PReLU(),
        nn.Conv2d(out_channels, out_channels, 3, 1, 1),
    )


def _up_double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return DoubleConv(
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.PReLU(),
        nn.Conv2d(in_channels, out_channels, 3, 1, 1),
        nn.PReLU(),
        nn.Conv2d(out_channels, out_channels, 3, 1, 1),
    )


class FeaturePyramid(nn.Module):
    """Three levels of features (1/2, 1/4, 1/8 of the input; 32, 64, 96 channels) of one frame."""

    def __init__(self) -> None:
        super().__init__()
        widths = (32, 32, 64, 64, 96, 96)
        in_channels = 3
        for index, width in enumerate(widths, start=1):
            stride = 2 if index % 2 == 1 else 1
            setattr(self, f"conv{index}", nn.Conv2d(in_channels, width, 3, stride, 1))
            setattr(self, f"prelu{index}", nn.PReLU())
            in_channels = width

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x`` in ``[-1, 1]``."""
        levels = []
        for index in range(1, 7):
            x = conv_prelu(getattr(self, f"conv{index}"), getattr(self, f"prelu{index}"), x)
            if index % 2 == 0:
                levels.append(x)
        return levels[0], levels[1], levels[2]


class ShuffleHead(nn.Module):
    """Output head: conv, 2x pixel-shuffle upsampling, conv to RGB."""

    def __init__(self, in_channels: int, width: int, out_channels: int) -> None:
        super().__init__()
        self.conv_before_upsample = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1), nn.PReLU())
        self.upsample = nn.Sequential(nn.Conv2d(width, 4 * width, 3, 1, 1), nn.PixelShuffle(2))
        self.conv_last = nn.Conv2d(width, out_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.upsample[0](conv_prelu(*self.conv_before_upsample, x))
        return self.conv_last(pixel_shuffle(x, self.upsample[1].upscale_factor))


def pixel_shuffle(x: torch.Tensor, factor: int) -> torch.Tensor:
    """``F.pixel_shuffle`` that stays channels_last: one strided copy instead of a slow generic kernel.

    On the CPU, ``pixel_shuffle`` of a channels_last tensor at 960x576 took ~5x the time
    of this one copy; the values are the same (it only moves them).
    """
    if not x.is_contiguous(memory_format=torch.channels_last) or x.is_contiguous():
        return F.pixel_shuffle(x, factor)
    batch, channels, height, width = x.shape
    out_channels = channels // (factor * factor)
    nhwc = x.permute(0, 2, 3, 1).view(batch, height, width, out_channels, factor, factor)
    shuffled = nhwc.permute(0, 1, 4, 2, 5, 3).reshape(batch, height * factor, width * factor, out_channels)
    return shuffled.permute(0, 3, 1, 2)


class GridNet(nn.Module):
    """A 3-row (32/64/96 channels), 6-column grid of residual, down- and up-sampling paths.

    Rows are resolutions (1, 1/2, 1/4 of the working size). The trained model uses
    columns 0, 1, 4 and 5 only; the names keep the original row/column numbering.
    """

    def __init__(self) -> None:
        super().__init__()
        self.residual_model_head = _double_conv(6, 32)  # both splatted images
        self.residual_model_head1 = _double_conv(64, 32)  # both level-1 features
        self.residual_model_head4 = _double_conv(3, 32)  # RIFE's frame
        self.residual_model_head2 = _double_conv(128, 64)  # both level-2 features
        self.residual_model_head3 = _double_conv(192, 96)  # both level-3 features
        for row, width in enumerate((32, 64, 96)):
            for column in (1, 4, 5):
                setattr(self, f"residual_model_{row}{column}", _double_conv(width, width))
        self.residual_model_tail = ShuffleHead(32, 32, 3)
        for column in (0, 1):
            setattr(self, f"downsample_model_1{column}", _double_conv(32, 64, stride=2))
            setattr(self, f"downsample_model_2{column}", _double_conv(64, 96, stride=2))
        for column in (4, 5):
            setattr(self, f"upsample_model_0{column}", _up_double_conv(64, 32))
            setattr(self, f"upsample_model_1{column}", _up_double_conv(96, 64))

    def _block(self, name: str) -> nn.Module:
        return getattr(self, name)

    def forward(
        self,
        images: torch.Tensor,
        level1: torch.Tensor,
        level2: torch.Tensor,
        level3: torch.Tensor,
        rife_frame: torch.Tensor,
    ) -> torch.Tensor:
        b = self._block
        # Every sum starts with a block's fresh output, so it is accumulated in place (same order as
        # ``a + b + c``, one temporary fewer per sum).
        # column 0: inputs enter every row
        x00 = b("residual_model_head")(images).add_(b("residual_model_head1")(level1))
        x00.add_(b("residual_model_head4")(rife_frame))
        x10 = b("downsample_model_10")(x00).add_(b("residual_model_head2")(level2))
        x20 = b("downsample_model_20")(x10).add_(b("residual_model_head3")(level3))
        # column 1: lateral residuals plus a second downward path
        x01 = b("residual_model_01")(x00).add_(x00)
        x11 = b("residual_model_11")(x10).add_(x10).add_(b("downsample_model_11")(x01))
        x21 = b("residual_model_21")(x20).add_(x20).add_(b("downsample_model_21")(x11))
        # columns 4 and 5: lateral residuals plus upward paths
        x24 = b("residual_model_24")(x21).add_(x21)
        x25 = b("residual_model_25")(x24).add_(x24)
        x14 = b("upsample_model_14")(x24).add_(b("residual_model_14")(x11)).add_(x11)
        x04 = b("upsample_model_04")(x14).add_(b("residual_model_04")(x01)).add_(x01)
        x15 = b("upsample_model_15")(x25).add_(b("residual_model_15")(x14)).add_(x14)
        x05 = b("upsample_model_05")(x15).add_(b("residual_model_05")(x04)).add_(x04)
        return self.residual_model_tail(x05)


class FusionNet(nn.Module):
    """Container matching ``fusionnet_*.pkl``: the feature pyramid and the GridNet."""

    def __init__(self) -> None:
        super().__init__()
        self.feat_ext = FeaturePyramid()
        self.synnet = GridNet()
