"""``gmfss_union``: GMFSS_union (GMFlow + RIFE + softmax splatting + GridNet) on the real weights.

Why it is shaped this way: in a stream every frame belongs to two pairs and every
pair is asked for several timesteps, so work is done at the cheapest level it can be:

* per frame (cached for the last few frames): the fusion feature pyramid and
  GMFlow's backbone features;
* per pair (:meth:`prepare`): both flow directions in one GMFlow pass, MetricNet;
* per call of :meth:`PreparedPair.frames_at`: all timesteps in one batch through
  IFNet, the splats and the GridNet (chunked to bound memory).

CPU runs float32; CUDA runs float16 with channels_last, keeping the flow matching,
warps and splats in float32 where float16 is not precise enough.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..archs.gmfss_union import ALIGNMENT, FrameFeatures, GMFSSUnion, PairState
from ..device import resolve_device
from ..errors import InputError
from .base import Interpolator, PreparedPair, Timestep
from .registry import register

#: bound on (timesteps x padded pixels) per network pass. On CPU, batching timesteps
#: only adds cache misses once frames pass ~0.5 MP (measured: +15-30 % CPU time per
#: timestep for batches of 4 at 540p/720p), so CPU batches stay small; GPUs need
#: the batch to fill up.
BATCH_PIXELS = {"cpu": 600_000, "cuda": 8_000_000}
MODELS = ("vanillagan", "wgan")


# --------------------------------------------------------------------------- shared helpers


def pick_device(device: torch.device | str) -> torch.device:
    """``auto``/``cpu``/``cuda`` strings or a device -> a device."""
    if isinstance(device, torch.device):
        return device
    try:
        return resolve_device(device)
    except ValueError as error:
        raise InputError(str(error)) from None


def batch_pixels(device: torch.device, requested: int | None) -> int:
    """The per-pass pixel budget: ``requested`` or the device's default."""
    if requested is not None:
        return max(1, int(requested))
    return BATCH_PIXELS.get(device.type, BATCH_PIXELS["cpu"])


def compute_dtype(device: torch.device) -> torch.dtype:
    """float16 on CUDA (tensor cores, half the memory), float32 elsewhere."""
    return torch.float16 if device.type == "cuda" else torch.float32


def check_frames(frame0: torch.Tensor, frame1: torch.Tensor) -> tuple[int, int]:
    """Both frames ``(3, H, W)`` of one size; returns ``(H, W)``."""
    for frame in (frame0, frame1):
        if frame.dim() != 3 or frame.shape[0] != 3:
            raise InputError(f"frames must be (3, H, W) RGB tensors, got shape {tuple(frame.shape)}")
    if frame0.shape != frame1.shape:
        raise InputError(f"frames differ in size: {tuple(frame0.shape)} vs {tuple(frame1.shape)}")
    return frame0.shape[1], frame0.shape[2]


def to_padded_batch(
    frame: torch.Tensor, multiple: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """``(3, H, W)`` -> ``(1, 3, H', W')`` on ``device``, replicate-padded right/bottom to ``multiple``.

    Replicating the edge (rather than zeros, as the reference does) keeps flows and
    the instance norms of the flow backbone natural near the right and bottom edges.
    """
    image = frame.to(device=device, dtype=torch.float32).clamp(0.0, 1.0).unsqueeze(0)
    height, width = image.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        image = F.pad(image, (0, pad_w, 0, pad_h), mode="replicate")
    image = image.to(dtype)
    if device.type == "cuda":
        image = image.contiguous(memory_format=torch.channels_last)
    return image


def as_float_timesteps(timesteps: Sequence[Timestep]) -> list[float]:
    """Validate ``t`` in ``[0, 1]`` (Fraction or float) and convert to float."""
    values = []
    for t in timesteps:
        value = float(t)
        if not 0.0 <= value <= 1.0:
            raise InputError(f"timestep {t} is outside [0, 1]")
        values.append(value)
    return values


def chunks(count: int, per_item_pixels: int, budget: int) -> list[slice]:
    """Split ``count`` batch items into slices of at most ``budget`` pixels (at least one item each)."""
    size = max(1, budget // max(per_item_pixels, 1))
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def endpoint(t: Timestep, frame0: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor | None:
    """The input frame itself for exactly ``t == 0`` or ``t == 1``, else ``None``."""
    if t == 0:
        return frame0
    if t == 1:
        return frame1
    return None


def _version(tensor: torch.Tensor) -> int:
    try:
        return tensor._version
    except RuntimeError:  # inference tensors have no version counter
        return -1


# --------------------------------------------------------------------------- backend


@dataclass
class _CachedFrame:
    frame: torch.Tensor  # held so that id(frame) cannot be reused while cached
    version: int
    features: FrameFeatures


class _GMFSSPair(PreparedPair):
    def __init__(
        self,
        backend: GMFSSUnionInterpolator,
        frames: tuple[torch.Tensor, torch.Tensor],
        features: tuple[FrameFeatures, FrameFeatures],
        state: PairState,
        size: tuple[int, int],
    ) -> None:
        self._backend = backend
        self._frames = frames
        self._features = features
        self._state = state
        self._size = size

    def frames_at(self, timesteps: Sequence[Timestep]) -> list[torch.Tensor]:
        values = as_float_timesteps(timesteps)
        results: list[torch.Tensor | None] = [None] * len(values)
        todo = []
        for index, t in enumerate(timesteps):
            exact = endpoint(t, *self._frames) if self._backend.exact_endpoints else None
            if exact is not None:
                results[index] = exact.to(self._backend.device, torch.float32)
            else:
                todo.append(index)
        height, width = self._size
        padded = self._features[0].half.shape[-2] * self._features[0].half.shape[-1] * 4
        for part in chunks(len(todo), padded, self._backend.max_batch_pixels):
            indices = todo[part]
            with torch.inference_mode():
                batch = self._backend.net.synthesize(
                    *self._features, self._state, [values[i] for i in indices]
                )[:, :, :height, :width]
            # Cloning outside inference mode hands back ordinary tensors callers may modify in place.
            batch = batch.to(torch.float32).clone(memory_format=torch.contiguous_format)
            for index, frame in zip(indices, batch.unbind(0), strict=True):
                results[index] = frame
        return [frame for frame in results if frame is not None]


@register("gmfss_union", "GMFSS_union: GMFlow + RIFE + softmax splatting + GridNet (real weights, best quality)")
class GMFSSUnionInterpolator(Interpolator):
    """The full GMFSS_union model; ``model`` picks the vanillagan or wgan fusion weights."""

    name = "gmfss_union"
    alignment = ALIGNMENT

    def __init__(
        self,
        device: torch.device | str = "cpu",
        model: str = "vanillagan",
        scale: float = 1.0,
        weights_dir: str | None = None,
        max_batch_pixels: int | None = None,
        exact_endpoints: bool = True,
        cache_frames: int = 3,
        **_ignored: object,
    ) -> None:
        super().__init__(pick_device(device))
        from ..weights import load_gmfss_union

        if model not in MODELS:
            raise InputError(f"unknown gmfss_union model {model!r} (choose from: {', '.join(MODELS)})")
        if not 0.25 <= float(scale) <= 1.0:
            raise InputError(f"gmfss_union scale must be between 0.25 and 1.0, got {scale}")
        self.model = model
        self.scale = float(scale)
        self.max_batch_pixels = batch_pixels(self.device, max_batch_pixels)
        #: return the input frames themselves for t == 0 and t == 1 (no network pass)
        self.exact_endpoints = exact_endpoints
        self.dtype = compute_dtype(self.device)
        net: GMFSSUnion = load_gmfss_union(model, weights_dir)
        net.flow_scale = self.scale
        net = net.to(device=self.device, dtype=self.dtype)
        if self.device.type == "cuda":
            net = net.to(memory_format=torch.channels_last)
        self.net = net.eval().requires_grad_(False)
        self._cache: OrderedDict[int, _CachedFrame] = OrderedDict()
        self._cache_frames = max(2, cache_frames)

    def describe(self) -> str:
        precision = "fp16" if self.dtype == torch.float16 else "fp32"
        return f"gmfss_union ({self.model}, flow scale {self.scale:g}, {precision}) on {self.device}"

    def _frame_features(self, frame: torch.Tensor) -> FrameFeatures:
        key = id(frame)
        cached = self._cache.get(key)
        if cached is not None and cached.frame is frame and cached.version == _version(frame):
            self._cache.move_to_end(key)
            return cached.features
        image = to_padded_batch(frame, ALIGNMENT, self.device, self.dtype)
        with torch.inference_mode():
            features = self.net.encode_frame(image)
        self._cache[key] = _CachedFrame(frame, _version(frame), features)
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)
        return features

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> PreparedPair:
        size = check_frames(frame0, frame1)
        features = (self._frame_features(frame0), self._frame_features(frame1))
        with torch.inference_mode():
            state = self.net.prepare_pair(*features)
        return _GMFSSPair(self, (frame0, frame1), features, state, size)
