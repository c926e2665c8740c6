"""GMFlow (Xu et al. 2022) as used by GMFSS_union: two scales, swin-style split attention, bidirectional.

Pipeline for one pair, both directions at once:

1. ``encode``: a CNN backbone per frame (instance norm, so frames are independent and
   their features can be cached across pairs) giving 1/8 and 1/4 resolution features.
2. 1/8 scale: a 6-layer transformer (self + cross attention in 2x2 windows, every
   other layer on half-window-shifted windows) updates both frames' features;
   *global* matching (softmax over every pixel of the other frame) gives flow 0->1
   from the correlation matrix and flow 1->0 from its transpose; self-attention
   over the frame's features propagates flow into unmatched areas.
3. 1/4 scale: the upsampled flow pre-warps the other frame's features, the transformer
   runs again in 8x8 windows, *local* matching (radius 4) adds a residual, a 3x3
   attention propagates it, and learned convex upsampling brings it to full size.

The reference runs the network twice per pair, once per direction; this computes
exactly the same two flows while sharing the backbone, the 1/8 transformer and the
correlation. Below 720p fewer, larger attention windows are used than the trained
8x8 (see :func:`window_splits`). Parameter names follow ``flownet.pkl``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .onednn import fused_or_plain
from .warp import backward_warp, pixel_grid

FEATURE_CHANNELS = 128
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: windows per side of the swin attention at 1/8 and at 1/4 resolution (the trained setting)
ATTENTION_SPLITS = (2, 8)
#: fewest feature pixels per window side before the number of windows is reduced
MIN_WINDOW = 12
#: local matching radius at 1/4 (1/8 uses global matching)
LOCAL_RADIUS = 4
#: input sizes must be multiples of this: 1/4 resolution split into 8 windows
ALIGNMENT = 32


# --------------------------------------------------------------------------- backbone


class ResidualUnit(nn.Module):
    """Two 3x3 convs with instance norm and a (projected) skip connection."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.norm1 = nn.InstanceNorm2d(channels)
        self.norm2 = nn.InstanceNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride), nn.InstanceNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.norm1(self.conv1(x)))
        y = self.relu(self.norm2(self.conv2(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return self.relu(x + y)


class SharedStrideConv(nn.Module):
    """One 3x3 kernel applied at stride 1 and 2 ("trident" conv): the two output scales share weights."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels, channels, 3, 3))
        nn.init.kaiming_uniform_(self.weight, nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.conv2d(x, self.weight, None, 1, 1), F.conv2d(x, self.weight, None, 2, 1)


class Backbone(nn.Module):
    """ResNet-style encoder: 1/2 (64 ch) -> 1/4 (96) -> 1/4 (128) -> features at 1/4 and 1/8."""

    def __init__(self, out_channels: int = FEATURE_CHANNELS) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.norm1 = nn.InstanceNorm2d(64)
        self.relu1 = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(ResidualUnit(64, 64), ResidualUnit(64, 64))
        self.layer2 = nn.Sequential(ResidualUnit(64, 96, stride=2), ResidualUnit(96, 96))
        self.layer3 = nn.Sequential(ResidualUnit(96, 128), ResidualUnit(128, 128))
        self.conv2 = nn.Conv2d(128, out_channels, 1)
        self.trident_conv = SharedStrideConv(out_channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(features at 1/8, features at 1/4)``: coarse first, the order they are used in."""
        x = self.relu1(self.norm1(self.conv1(x)))
        x = self.conv2(self.layer3(self.layer2(self.layer1(x))))
        fine, coarse = self.trident_conv(x)
        return coarse, fine


# --------------------------------------------------------------------------- attention helpers


def sine_position_encoding(height: int, width: int, channels: int, device: torch.device) -> torch.Tensor:
    """DETR-style normalised 2D sine/cosine encoding, ``(channels, H, W)``: y half then x half."""
    half = channels // 2
    eps = 1e-6
    ys = torch.arange(1, height + 1, device=device, dtype=torch.float32) / (height + eps) * (2 * math.pi)
    xs = torch.arange(1, width + 1, device=device, dtype=torch.float32) / (width + eps) * (2 * math.pi)
    exponent = 2 * (torch.arange(half, device=device) // 2).float() / half
    frequencies = 10000.0**exponent  # each frequency twice: once for sin, once for cos

    def encode(positions: torch.Tensor) -> torch.Tensor:
        angles = positions[:, None] / frequencies  # (N, half)
        return torch.stack((angles[:, 0::2].sin(), angles[:, 1::2].cos()), dim=2).flatten(1)

    pos_y = encode(ys).t()[:, :, None].expand(half, height, width)
    pos_x = encode(xs).t()[:, None, :].expand(half, height, width)
    return torch.cat((pos_y, pos_x), dim=0)


def add_window_positions(features: torch.Tensor, splits: int) -> torch.Tensor:
    """Add the same position encoding to each of the ``splits x splits`` windows."""
    _, channels, height, width = features.shape
    window = sine_position_encoding(height // splits, width // splits, channels, features.device)
    return features + window.repeat(1, splits, splits).to(features.dtype)


def to_windows(x: torch.Tensor, splits: int) -> torch.Tensor:
    """``(B, H, W, C)`` -> ``(B * splits^2, H/splits * W/splits, C)``."""
    batch, height, width, channels = x.shape
    x = x.view(batch, splits, height // splits, splits, width // splits, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(batch * splits * splits, -1, channels)


def window_order(height: int, width: int, splits: int, shifted: bool, device: torch.device) -> torch.Tensor:
    """Row-major pixel index of each token when tokens are laid out window after window.

    With ``shifted`` the windows are those of the picture rolled back by half a window
    (swin's shifted windows): token ``j`` holds pixel ``order[j]`` in both cases, so
    the same index also puts the results back.
    """
    pixels = torch.arange(height * width, device=device).view(1, height, width, 1)
    if shifted and splits > 1:
        pixels = torch.roll(pixels, (-(height // splits // 2), -(width // splits // 2)), dims=(1, 2))
    return to_windows(pixels, splits).flatten()


def shifted_window_bias(
    height: int, width: int, splits: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Additive attention bias (0 or -100) that keeps the rolled windows from mixing regions.

    After rolling by half a window, a window can contain pixels from up to four
    areas of the image that were not neighbours; pairs from different areas are masked.
    """
    window_h, window_w = height // splits, width // splits
    shift_h, shift_w = window_h // 2, window_w // 2
    rows = torch.zeros(height, dtype=torch.long, device=device)
    rows[height - window_h : height - shift_h] = 1
    rows[height - shift_h :] = 2
    cols = torch.zeros(width, dtype=torch.long, device=device)
    cols[width - window_w : width - shift_w] = 1
    cols[width - shift_w :] = 2
    label = (rows[:, None] * 3 + cols[None, :]).view(1, height, width, 1)
    windows = to_windows(label, splits).squeeze(-1)  # (splits^2, window pixels)
    different = windows[:, :, None] != windows[:, None, :]
    return torch.zeros(different.shape, device=device, dtype=dtype).masked_fill(different, -100.0)


def window_splits(height: int, width: int, preferred: int, min_window: int = MIN_WINDOW) -> int:
    """Windows per side for a ``height x width`` feature map: ``preferred`` unless windows get too small.

    The trained split counts assume large frames. Below 720p (at flow scale 1) the 8x8
    windows at 1/4 resolution hold fewer than 12x12 feature pixels, and matching
    degrades sharply: a 20 px shift at 960x540 came out 1.2 px wrong on average with
    8x8 windows and 0.1 px with 4x4, and on frames of a few hundred pixels the
    flow between identical frames is not even zero. So the count is halved until
    windows are at least :data:`MIN_WINDOW` pixels a side. From 720p up nothing changes.
    """
    splits = preferred
    while splits > 1 and (min(height, width) // splits < min_window or height % splits or width % splits):
        splits //= 2
    return splits


# --------------------------------------------------------------------------- transformer

#: tokens per feed-forward chunk: its 1024-wide hidden layer stays at 8 MB (bf16) to 16 MB (fp32)
FEED_FORWARD_CHUNK = 4096


def linear_gelu(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``gelu(x @ weight.T)`` (exact erf GELU), as one oneDNN call on the CPU.

    Why: a separate GELU pass over the 1024-wide hidden layer cost ~30 % of the linear
    layer before it (bf16); oneDNN applies it to the float32 accumulator before the
    result is stored, which is also closer to float32 than rounding first (bf16: 0.014
    against float32 at most, 0.016 unfused). Elsewhere, or if the op is missing, the
    two plain calls.
    """
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.bfloat16):
        return F.gelu(F.linear(x, weight))
    return fused_or_plain("_linear_pointwise", lambda op: op(x, weight, None, "gelu", [], "none"),
                          lambda: F.gelu(F.linear(x, weight)))


def bf16_window_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """Softmax attention within windows, ``(B, W, L, C)`` bfloat16, one image's windows at a time.

    Why not SDPA here: on the CPU its fused kernel runs bfloat16 no faster than float32
    (~150 GFLOP/s at 540-token windows), while two plain batched matmuls reach oneDNN's
    bfloat16 rate: 36 ms instead of 66 for a 540p 1/4-scale layer. The scores are
    rounded to bfloat16 before the softmax, which the fused kernel does not do; the
    equal-output test bounds what that costs. Per image keeps the score tensor (W x L x L)
    at ~9 MB, within malloc's reusable heap.
    """
    batch, channels = query.shape[0], query.shape[-1]
    out = torch.empty_like(query)
    scale = channels**-0.5
    for image in range(batch):
        scores = torch.matmul(query[image], key[image].transpose(1, 2)).mul_(scale)
        if bias is not None:
            scores.add_(bias)
        torch.matmul(torch.softmax(scores, dim=-1), value[image], out=out[image])
    return out


class AttentionLayer(nn.Module):
    """Single-head windowed attention from ``source`` to ``target`` (+ optional FFN), residual."""

    def __init__(self, channels: int, with_ffn: bool, shifted: bool, expansion: int = 4) -> None:
        super().__init__()
        self.shifted = shifted
        self.q_proj = nn.Linear(channels, channels, bias=False)
        self.k_proj = nn.Linear(channels, channels, bias=False)
        self.v_proj = nn.Linear(channels, channels, bias=False)
        self.merge = nn.Linear(channels, channels, bias=False)
        self.norm1 = nn.LayerNorm(channels)
        self.mlp: nn.Module | None = None
        if with_ffn:
            self.mlp = nn.Sequential(
                nn.Linear(2 * channels, 2 * channels * expansion, bias=False),
                nn.GELU(),
                nn.Linear(2 * channels * expansion, channels, bias=False),
            )
            self.norm2 = nn.LayerNorm(channels)

    def forward(
        self, source: torch.Tensor, target: torch.Tensor, windows: int, bias: torch.Tensor | None
    ) -> torch.Tensor:
        """``source``/``target``: ``(B, N, C)`` tokens laid out window after window (``windows`` of
        ``N / windows`` tokens, see :func:`window_order`); ``bias``: ``(windows, L, L)`` or None."""
        batch, tokens, channels = source.shape
        query, key, value = (x.view(batch, windows, tokens // windows, channels)
                             for x in (self.q_proj(source), self.k_proj(target), self.v_proj(target)))  # fmt: skip
        if bias is not None:
            # A 4D (expanded, not copied) mask keeps SDPA on its fused kernel; a 3D one falls
            # back to the unfused math path on CPU (~3x slower).
            bias = bias.unsqueeze(0).expand(batch, -1, -1, -1)
        if windows == 1:
            # Global attention (small frames): the 3D call, whose kernel blocks (and so its bfloat16
            # rounding) differ from the one-window 4D call's.
            query, key, value = (x.squeeze(1) for x in (query, key, value))
            message = F.scaled_dot_product_attention(query, key, value, attn_mask=bias)
        elif query.dtype == torch.bfloat16 and query.device.type == "cpu":
            message = bf16_window_attention(query, key, value, None if bias is None else bias[0])
        else:
            message = F.scaled_dot_product_attention(query, key, value, attn_mask=bias)
        message = message.reshape(batch, tokens, channels)
        message = self.norm1(self.merge(message))
        if self.mlp is not None:
            message = self.norm2(self._feed_forward(source, message))
        return source + message

    def _feed_forward(self, source: torch.Tensor, message: torch.Tensor) -> torch.Tensor:
        """``mlp(cat(source, message))`` a chunk of tokens at a time (it works token by token).

        Why chunks: the hidden layer is 8x wider than the features; whole, it is a 70 MB
        tensor at 540p that malloc maps and faults in anew every layer (see
        :mod:`stsr.interpolators.allocator`); in chunks it stays in the heap and in cache.
        """
        assert self.mlp is not None
        expand, _, contract = self.mlp
        channels = source.shape[-1]
        flat_source, flat_message = source.reshape(-1, channels), message.reshape(-1, channels)
        out = source.new_empty(flat_source.shape)
        for start in range(0, flat_source.shape[0], FEED_FORWARD_CHUNK):
            part = slice(start, start + FEED_FORWARD_CHUNK)
            hidden = linear_gelu(torch.cat((flat_source[part], flat_message[part]), dim=-1), expand.weight)
            torch.matmul(hidden, contract.weight.t(), out=out[part])
        return out.view(source.shape)


class TransformerBlock(nn.Module):
    """Self-attention, then cross-attention with a feed-forward net."""

    def __init__(self, channels: int, shifted: bool) -> None:
        super().__init__()
        self.self_attn = AttentionLayer(channels, with_ffn=False, shifted=shifted)
        self.cross_attn_ffn = AttentionLayer(channels, with_ffn=True, shifted=shifted)

    def forward(self, source: torch.Tensor, windows: int, bias: torch.Tensor | None) -> torch.Tensor:
        """``source``: ``(2B, N, C)``, frames ``[A, B]``; the cross-attention's target is the input's ``[B, A]``."""
        target = torch.cat(source.chunk(2, dim=0)[::-1], dim=0)
        source = self.self_attn(source, source, windows, bias)
        return self.cross_attn_ffn(source, target, windows, bias)


class FeatureTransformer(nn.Module):
    """Six blocks, every other one on half-window-shifted windows; both frames updated symmetrically.

    Why tokens stay in window order: every operation but the attention works token by
    token, so the features are laid out window after window once, reordered only
    between a plain and a shifted block (one gather), and put back in pixel order at
    the end. The reference rolls the picture and cuts it into windows for each of q, k
    and v and undoes both for the result, in every layer: a third of the transformer's
    time on this CPU went into those copies.
    """

    def __init__(self, channels: int = FEATURE_CHANNELS, num_layers: int = 6) -> None:
        super().__init__()
        self.layers = nn.ModuleList(TransformerBlock(channels, shifted=i % 2 == 1) for i in range(num_layers))

    def forward(self, feature0: torch.Tensor, feature1: torch.Tensor, splits: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, C, H, W)`` each; returns the updated pair in the same layout."""
        batch, channels, height, width = feature0.shape
        device = feature0.device
        shift_bias = None
        if splits > 1:
            shift_bias = shifted_window_bias(height, width, splits, device, feature0.dtype)
        orders = {shifted: window_order(height, width, splits, shifted, device) for shifted in (False, True)}
        # Frame A attends to B and B to A in one batch: [A, B] against [B, A].
        source = torch.cat((feature0, feature1), dim=0).permute(0, 2, 3, 1).reshape(2 * batch, -1, channels)
        layout = torch.arange(height * width, device=device)  # pixel of each token now
        for layer in self.layers:
            shifted = layer.self_attn.shifted and splits > 1
            order = orders[shifted]
            if not torch.equal(order, layout):
                # token j must hold pixel order[j]; it is now at position inverse(layout)[order[j]]
                source = source.index_select(1, torch.argsort(layout)[order])
                layout = order
            source = layer(source, splits * splits, shift_bias if shifted else None)
        source = source.index_select(1, torch.argsort(layout))
        out0, out1 = source.view(2 * batch, height, width, channels).permute(0, 3, 1, 2).contiguous().chunk(2, dim=0)
        return out0, out1


class FlowPropagation(nn.Module):
    """Self-attention on features whose values are the flow: spreads flow from matched to unmatched pixels."""

    def __init__(self, channels: int = FEATURE_CHANNELS) -> None:
        super().__init__()
        self.q_proj = nn.Linear(channels, channels)
        self.k_proj = nn.Linear(channels, channels)

    def global_attention(self, feature: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = feature.shape
        query = self.q_proj(feature.flatten(2).transpose(1, 2))
        key = self.k_proj(query)  # sic: the trained model projects the query again
        value = flow.flatten(2).transpose(1, 2)
        out = F.scaled_dot_product_attention(query.float(), key.float(), value.float())
        return out.transpose(1, 2).reshape(batch, 2, height, width)

    def local_attention(self, feature: torch.Tensor, flow: torch.Tensor, radius: int = 1) -> torch.Tensor:
        """Attention over the ``(2r+1)^2`` neighbours; outside the image keys and flows are zero."""
        batch, channels, height, width = feature.shape
        tokens = feature.flatten(2).transpose(1, 2)
        query = self.q_proj(tokens).transpose(1, 2).reshape(batch, channels, height, width).float()
        key = self.k_proj(tokens).transpose(1, 2).reshape(batch, channels, height, width).float()
        key = F.pad(key, (radius,) * 4)
        padded_flow = F.pad(flow.float(), (radius,) * 4)
        size = 2 * radius + 1
        scores = torch.stack(
            [
                (query * key[:, :, dy : dy + height, dx : dx + width]).sum(1)
                for dy in range(size)
                for dx in range(size)
            ],
            dim=1,
        )
        prob = torch.softmax(scores / math.sqrt(channels), dim=1)
        flows = torch.stack(
            [padded_flow[:, :, dy : dy + height, dx : dx + width] for dy in range(size) for dx in range(size)], dim=1
        )  # (B, K, 2, H, W)
        return (prob.unsqueeze(2) * flows).sum(1)


# --------------------------------------------------------------------------- matching


def global_matching(feature0: torch.Tensor, feature1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flow 0->1 and 1->0 from one correlation volume: softmax over every pixel of the other frame.

    Done in float32: expected coordinates of up to a few hundred pixels need more
    precision than float16 has.
    """
    batch, _, height, width = feature0.shape
    grid = pixel_grid(height, width, feature0.device).flatten(2).transpose(1, 2).expand(batch, -1, -1)
    tokens0 = feature0.float().flatten(2).transpose(1, 2)
    tokens1 = feature1.float().flatten(2).transpose(1, 2)
    # softmax(q k^T / sqrt(c)) @ grid is exactly scaled dot-product attention with the grid as values.
    match01 = F.scaled_dot_product_attention(tokens0, tokens1, grid.contiguous())
    match10 = F.scaled_dot_product_attention(tokens1, tokens0, grid.contiguous())
    correspondence = torch.cat((match01, match10), dim=0).transpose(1, 2).reshape(2 * batch, 2, height, width)
    return (correspondence - pixel_grid(height, width, feature0.device)).chunk(2, dim=0)


def local_matching(feature0: torch.Tensor, feature1: torch.Tensor, radius: int = LOCAL_RADIUS) -> torch.Tensor:
    """Residual flow from a softmax over the ``(2r+1)^2`` integer offsets around each pixel.

    Offsets that leave the image are excluded from the softmax.
    """
    channels, height, width = feature0.shape[-3:]
    f0 = feature0.float()
    f1 = F.pad(feature1.float(), (radius,) * 4)
    offsets = [(dx, dy) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]
    scores = torch.stack(
        [(f0 * f1[:, :, radius + dy : radius + dy + height, radius + dx : radius + dx + width]).sum(1)
         for dx, dy in offsets],
        dim=1,
    ) / math.sqrt(channels)  # (B, K, H, W)
    ys = torch.arange(height, device=feature0.device).view(1, height, 1)
    xs = torch.arange(width, device=feature0.device).view(1, 1, width)
    offset_x = torch.tensor([dx for dx, _ in offsets], device=feature0.device).view(-1, 1, 1)
    offset_y = torch.tensor([dy for _, dy in offsets], device=feature0.device).view(-1, 1, 1)
    valid = (xs + offset_x >= 0) & (xs + offset_x < width) & (ys + offset_y >= 0) & (ys + offset_y < height)
    scores = scores.masked_fill(~valid.unsqueeze(0), -1e9)
    prob = torch.softmax(scores, dim=1)
    flow_x = (prob * offset_x.float()).sum(1)
    flow_y = (prob * offset_y.float()).sum(1)
    return torch.stack((flow_x, flow_y), dim=1)


def occlusion_masks(
    flow01: torch.Tensor, flow10: torch.Tensor, alpha: float = 0.01, beta: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward-backward consistency (UnFlow): 1 where following a flow and back does not return."""
    magnitude = flow01.norm(dim=1) + flow10.norm(dim=1)
    threshold = alpha * magnitude + beta
    back_at_0 = backward_warp(flow10, flow01, padding_mode="zeros")
    back_at_1 = backward_warp(flow01, flow10, padding_mode="zeros")
    occluded0 = ((flow01 + back_at_0).norm(dim=1) > threshold).unsqueeze(1)
    occluded1 = ((flow10 + back_at_1).norm(dim=1) > threshold).unsqueeze(1)
    return occluded0, occluded1


# --------------------------------------------------------------------------- network


class GMFlow(nn.Module):
    """Bidirectional two-scale GMFlow; :meth:`encode` per frame, :meth:`flows` per pair."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone(FEATURE_CHANNELS)
        self.transformer = FeatureTransformer(FEATURE_CHANNELS)
        self.feature_flow_attn = FlowPropagation(FEATURE_CHANNELS)
        self.upsampler = nn.Sequential(
            nn.Conv2d(2 + FEATURE_CHANNELS, 256, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(256, 4**2 * 9, 1)
        )
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def encode(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-frame features ``(1/8, 1/4)`` of RGB ``image`` in ``[0, 1]``, sides multiples of 32."""
        height, width = image.shape[-2:]
        if height % ALIGNMENT or width % ALIGNMENT:
            raise ValueError(f"GMFlow input must be a multiple of {ALIGNMENT} pixels, got {width}x{height}")
        return self.backbone((image - self.mean.to(image.dtype)) / self.std.to(image.dtype))

    def convex_upsample(self, flow: torch.Tensor, feature: torch.Tensor, factor: int = 4) -> torch.Tensor:
        """Each fine pixel's flow is a learned convex combination of its 3x3 coarse neighbours."""
        batch, _, height, width = flow.shape
        weights = self.upsampler(torch.cat((flow.to(feature.dtype), feature), dim=1)).float()
        weights = torch.softmax(weights.view(batch, 1, 9, factor, factor, height, width), dim=2)
        neighbours = F.unfold(factor * flow.float(), 3, padding=1).view(batch, 2, 9, 1, 1, height, width)
        up = (weights * neighbours).sum(2)  # (B, 2, K, K, H, W)
        return up.permute(0, 1, 4, 2, 5, 3).reshape(batch, 2, factor * height, factor * width)

    def flows(
        self, features0: tuple[torch.Tensor, torch.Tensor], features1: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(flow 0->1, flow 1->0)`` at input resolution, float32, from two :meth:`encode` results."""
        coarse0, fine0 = features0
        coarse1, fine1 = features1
        batch = coarse0.shape[0]

        # 1/8: global matching, both directions from one transformer pass and one correlation.
        splits = window_splits(*coarse0.shape[-2:], ATTENTION_SPLITS[0])
        a, b = self.transformer(add_window_positions(coarse0, splits), add_window_positions(coarse1, splits), splits)
        flow01, flow10 = global_matching(a, b)
        flow = self.feature_flow_attn.global_attention(torch.cat((a, b), dim=0), torch.cat((flow01, flow10), dim=0))

        # 1/4: batch [0->1, 1->0]; the other frame is pre-warped by the upsampled flow.
        splits = window_splits(*fine0.shape[-2:], ATTENTION_SPLITS[1])
        flow = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2
        source = torch.cat((fine0, fine1), dim=0)
        target = backward_warp(torch.cat((fine1, fine0), dim=0), flow, padding_mode="zeros")
        a, b = self.transformer(add_window_positions(source, splits), add_window_positions(target, splits), splits)
        flow = flow + local_matching(a, b)
        flow = self.feature_flow_attn.local_attention(a, flow, radius=1)
        flow = self.convex_upsample(flow, a)
        return flow[:batch], flow[batch:]
