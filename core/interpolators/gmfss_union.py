"""``gmfss_union``: GMFSS_union (GMFlow + RIFE + softmax splatting + GridNet) on the real weights.

Why it is shaped this way: in a stream every frame belongs to two pairs and every
pair is asked for several timesteps, so work is done at the cheapest level it can be:

* per frame (cached for the last few frames): the fusion feature pyramid and
  GMFlow's backbone features;
* per pair (:meth:`prepare`): both flow directions in one GMFlow pass, MetricNet;
* per call of :meth:`PreparedPair.frames_at`: all timesteps in one batch through
  IFNet, the splats and the GridNet (chunked to bound memory).

Time maps go wherever the reference uses ``t``: IFNet's timestep and the flows'
scale before splatting (this port, like every earlier version of it, does not scale the metrics by ``t``;
the published model does: ``Z1t = t * metric0``, a known deviation kept for equal output), at the
half size the model works at and resized to each pyramid level. Scalars and maps of
one call run as separate batches, scalars on their ``(B, 1, 1, 1)`` fast path. Note
where a map is read: splatting moves each *source* pixel of either frame by its own
``t`` there, while IFNet (and ``rife``, ``flow``) read ``t`` at the *output* pixel; a
map meant for a moving region should cover the region in both frames (their union).

CUDA runs float16 with channels_last, keeping the flow matching, warps and splats in
float32 where float16 is not precise enough. The CPU runs float32, except that on a CPU
with native bfloat16 (AVX-512 BF16, AMX) the sub-networks in ``bf16_stages`` run in
bfloat16 behind casts (``precision``; see :mod:`.precision` for why only some).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..archs.gmfss_union import ALIGNMENT, FrameFeatures, GMFSSUnion, PairState
from ..errors import InputError
from ..weights import MODELS
from .allocator import keep_freed_memory
from .base import Interpolator, PreparedPair, TimeMap, Timestep
from .precision import resolve_precision, run_in_dtype
from .registry import register
from .tensors import (
    as_timesteps,
    batch_pixels,
    check_frames,
    chunks,
    compile_modules,
    compute_dtype,
    endpoint,
    padded_time_maps,
    pick_device,
    to_padded_batch,
)

#: sub-networks that can run in bfloat16 on the CPU, by name (``bf16_stages``)
BF16_CAPABLE = ("gridnet", "pyramid", "ifnet", "metricnet", "backbone", "transformer", "upsampler")
#: those that do under ``precision="bf16"`` (and ``auto`` on a CPU with native bfloat16): the ones
#: whose bfloat16 output stays >= 45 dB from the pre-#15 float32 output on the equal-output frames
#: (min over t). Today, with all of these: 51.4 / 50.0 / 48.5 dB at 270p / 540p / 720p. GMFlow's
#: transformer (its window attention as bfloat16 matmuls, see ``gmflow.bf16_window_attention``) is
#: the largest share of that loss and of the gain; the convex upsampling conv (``upsampler``)
#: changes nothing measurable. The GMFlow backbone in bfloat16 drops it to 41.4 dB at 540p (flows
#: feed every warp), so the backbone stays float32.
BF16_DEFAULT = ("gridnet", "pyramid", "ifnet", "metricnet", "transformer", "upsampler")


#: frames whose features are kept. The cadence schedule mixes up to ~4 frames and chains
#: interpolations through new in-between images, so with 3 a converter run on the twos
#: sample re-encoded 44 of its 109 frame encodes (frames evicted and asked for again);
#: with 6, 2 of 67. About 37 MB per cached frame at 540p.
CACHE_FRAMES = 6


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

    def frames_at(self, timesteps: Sequence[Timestep | TimeMap]) -> list[torch.Tensor]:
        backend = self._backend
        values = as_timesteps(timesteps, self._size, backend.device)
        results: list[torch.Tensor | None] = [None] * len(values)
        scalars, maps = [], []
        for index, t in enumerate(values):
            exact = endpoint(t, *self._frames) if backend.exact_endpoints else None
            if exact is not None:
                results[index] = exact.to(backend.device, torch.float32)
            else:
                (maps if isinstance(t, torch.Tensor) else scalars).append(index)
        padded = self._features[0].half.shape[-2] * self._features[0].half.shape[-1] * 4
        for todo in (scalars, maps):
            for part in chunks(len(todo), padded, backend.max_batch_pixels):
                indices = todo[part]
                for index, frame in zip(indices, self._run([values[i] for i in indices]).unbind(0), strict=True):
                    results[index] = frame
        return [frame for frame in results if frame is not None]

    def _run(self, timesteps: list[float | torch.Tensor]) -> torch.Tensor:
        """One pass over timesteps that are all scalars or all maps: ``(N, 3, H, W)`` float32."""
        t: list[float] | torch.Tensor = timesteps  # type: ignore[assignment]
        if isinstance(timesteps[0], torch.Tensor):
            # Padded like the frames, then halved like them (encode_frame): the size the model works at.
            padded = padded_time_maps(timesteps, ALIGNMENT)  # type: ignore[arg-type]
            t = F.interpolate(padded, scale_factor=0.5, mode="bilinear")
        height, width = self._size
        with torch.inference_mode():
            batch = self._backend.net.synthesize(*self._features, self._state, t)[:, :, :height, :width]
        # Cloning outside inference mode hands back ordinary tensors callers may modify in place.
        return batch.to(torch.float32).clone(memory_format=torch.contiguous_format)


@register("gmfss_union", "GMFSS_union: GMFlow + RIFE + softmax splatting + GridNet (real weights, best quality)")
class GMFSSUnionInterpolator(Interpolator):
    """The full GMFSS_union model; ``model`` picks the vanillagan or wgan fusion weights."""

    name = "gmfss_union"
    alignment = ALIGNMENT
    supports_time_maps = True

    def __init__(
        self,
        device: torch.device | str = "cpu",
        model: str = "vanillagan",
        scale: float = 1.0,
        weights_dir: str | None = None,
        max_batch_pixels: int | None = None,
        exact_endpoints: bool = True,
        cache_frames: int = CACHE_FRAMES,
        compile: str = "none",
        precision: str = "auto",
        bf16_stages: Sequence[str] = BF16_DEFAULT,
    ) -> None:
        super().__init__(pick_device(device))
        from ..weights import load_gmfss_union

        if self.device.type == "cpu":
            keep_freed_memory()  # see .allocator: ~15 % of a CPU pass went to page faults

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
        #: fp32 or bf16 (``auto``: bf16 where the CPU computes it natively); CUDA keeps its fp16 path
        self.precision = resolve_precision(precision, self.device)
        self.bf16_stages = tuple(bf16_stages) if self.precision == "bf16" else ()
        unknown = sorted(set(self.bf16_stages) - set(BF16_CAPABLE))
        if unknown:
            raise InputError(f"unknown bf16 stages {unknown} (choose from: {', '.join(BF16_CAPABLE)})")
        stages = {"gridnet": self.net.fusionnet.synnet, "pyramid": self.net.fusionnet.feat_ext,
                  "ifnet": self.net.ifnet, "metricnet": self.net.metricnet,
                  "backbone": self.net.flownet.backbone, "transformer": self.net.flownet.transformer,
                  "upsampler": self.net.flownet.upsampler}  # fmt: skip
        for stage in self.bf16_stages:
            run_in_dtype(stages[stage], torch.bfloat16)
        #: torch.compile mode (none, default, reduce-overhead), see tensors.compile_modules
        self.compile = compile
        compile_modules((self.net.flownet.backbone, self.net.flownet.transformer, self.net.fusionnet.feat_ext,
                         self.net.ifnet, self.net.fusionnet.synnet), compile)  # fmt: skip
        self._cache: OrderedDict[int, _CachedFrame] = OrderedDict()
        self._cache_frames = max(2, cache_frames)
        # One backend may serve several jobs (a watch folder, a library user's threads): the cache is
        # only touched under this lock, and an entry matches only the very tensor object it was made from.
        self._cache_lock = threading.Lock()

    def describe(self) -> str:
        precision = "fp16" if self.dtype == torch.float16 else "fp32"
        if self.bf16_stages:
            precision = f"bf16 {'/'.join(self.bf16_stages)}, fp32 elsewhere"
        compiled = "" if self.compile == "none" else f", torch.compile {self.compile}"
        return f"gmfss_union ({self.model}, flow scale {self.scale:g}, {precision}{compiled}) on {self.device}"

    def _frame_features(self, frame: torch.Tensor) -> FrameFeatures:
        key = id(frame)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None and cached.frame is frame and cached.version == _version(frame):
                self._cache.move_to_end(key)
                return cached.features
        image = to_padded_batch(frame, ALIGNMENT, self.device, self.dtype)
        with torch.inference_mode():
            features = self.net.encode_frame(image)
        with self._cache_lock:
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
