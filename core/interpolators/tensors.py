"""Tensor helpers every torch backend shares: devices, dtypes, padding, batching, timestep and time-map checks."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import torch
import torch.nn.functional as F
from torch import nn

from ..device import resolve_device
from ..errors import InputError
from .base import TimeMap, Timestep, is_time_map

#: bound on (timesteps x padded pixels) per network pass. On CPU, batching timesteps
#: only adds cache misses once frames pass ~0.5 MP (measured: +15-30 % CPU time per
#: timestep for batches of 4 at 540p/720p), so CPU batches stay small; GPUs need
#: the batch to fill up.
BATCH_PIXELS = {"cpu": 600_000, "cuda": 8_000_000}


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


def as_float_timesteps(timesteps: Sequence[Timestep | TimeMap]) -> list[float]:
    """Validate ``t`` in ``[0, 1]`` (Fraction or float) and convert to float; time maps are refused.

    For backends without ``supports_time_maps``: a map gets one line instead of a traceback.
    """
    values = []
    for t in timesteps:
        if is_time_map(t):
            raise InputError("this backend does not take per-pixel time maps (supports_time_maps is False)")
        value = float(t)
        if not 0.0 <= value <= 1.0:
            raise InputError(f"timestep {t} is outside [0, 1]")
        values.append(value)
    return values


def as_timesteps(
    timesteps: Sequence[Timestep | TimeMap], size: tuple[int, int], device: torch.device
) -> list[float | torch.Tensor]:
    """Validate scalars and time maps; scalars -> float, maps -> ``(H, W)`` float32 tensors on ``device``.

    A map must be a 2-D float array of the frames' ``size`` with every value in ``[0, 1]``
    (NaN refused). float32 is what the scalar paths compute ``t`` in as well, so a constant
    map holds the very same number as its scalar.
    """
    values: list[float | torch.Tensor] = []
    for t in timesteps:
        if not is_time_map(t):
            values.extend(as_float_timesteps([t]))  # type: ignore[list-item]
            continue
        tensor = torch.as_tensor(t)
        if tensor.dim() != 2 or tuple(tensor.shape) != tuple(size):
            raise InputError(f"time map must be (H, W) = {tuple(size)} like the frames, got {tuple(tensor.shape)}")
        if not tensor.is_floating_point():
            raise InputError(f"time map must be a float array, got {tensor.dtype}")
        tensor = tensor.to(device=device, dtype=torch.float32)
        low, high = _min_max(tensor)
        if not (low >= 0.0 and high <= 1.0):  # False for NaN as well
            raise InputError(f"time map values must be in [0, 1], got min {low:g} and max {high:g}")
        values.append(tensor)
    return values


def padded_time_maps(maps: Sequence[torch.Tensor], multiple: int) -> torch.Tensor:
    """``(H, W)`` maps -> ``(N, 1, H', W')`` float32, replicate-padded right/bottom like :func:`to_padded_batch`."""
    batch = torch.stack(list(maps)).unsqueeze(1)
    height, width = batch.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        batch = F.pad(batch, (0, pad_w, 0, pad_h), mode="replicate")
    return batch


def resized_time_map(time_map: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """An ``(H, W)`` map at another ``size`` (nearest): regions of one ``t`` keep exactly that ``t``.

    Why nearest: a pixel's time is then always one of the times around it, never an
    in-between of two regions' times, and a constant map stays bit-for-bit constant
    (area and bilinear weights need not sum to exactly 1 in float32).
    """
    if tuple(time_map.shape[-2:]) == tuple(size):
        return time_map
    if time_map.device.type == "cpu":  # OpenCV: no thread pool to wait on (torch took ~10 ms on a loaded CPU)
        resized = cv2.resize(time_map.numpy(), (size[1], size[0]), interpolation=cv2.INTER_NEAREST_EXACT)
        return torch.from_numpy(resized)
    return F.interpolate(time_map[None, None], size=size, mode="nearest-exact")[0, 0]


def chunks(count: int, per_item_pixels: int, budget: int) -> list[slice]:
    """Split ``count`` batch items into slices of at most ``budget`` pixels (at least one item each)."""
    size = max(1, budget // max(per_item_pixels, 1))
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def endpoint(t: Timestep | TimeMap, frame0: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor | None:
    """The input frame itself for exactly ``t == 0`` or ``t == 1`` (a map: all 0 or all 1), else ``None``."""
    if is_time_map(t):
        constant = constant_value(t)  # type: ignore[arg-type]
        if constant is None:
            return None
        t = constant
    if t == 0:
        return frame0
    if t == 1:
        return frame1
    return None


def constant_value(time_map: TimeMap) -> float | None:
    """The value of a map that holds one value everywhere, else ``None``."""
    tensor = torch.as_tensor(time_map)
    if tensor.numel() == 0:
        return None
    low, high = _min_max(tensor)
    return low if low == high else None


def _min_max(tensor: torch.Tensor) -> tuple[float, float]:
    """Smallest and largest value (NaN if any is NaN).

    On the CPU through NumPy: one vectorised pass with no thread pool, where torch's
    two-thread reduction took 10-20 ms on a loaded machine for a 540p map (0.05 ms here).
    """
    if tensor.device.type == "cpu":
        array = tensor.detach().numpy()
        return float(array.min()), float(array.max())
    low, high = torch.aminmax(tensor)
    return float(low.item()), float(high.item())


#: ``compile`` option values: off, inductor, inductor with CUDA graphs
COMPILE_MODES = ("none", "default", "reduce-overhead")
#: names of the modules whose compilation failed and that run eagerly instead (for benchmarks)
COMPILE_FALLBACKS: list[str] = []


def compile_modules(modules: Sequence[nn.Module], mode: str) -> None:
    """Run each module's ``forward`` through ``torch.compile`` (inductor), falling back to eager.

    Why optional: compiling costs tens of seconds to minutes per input shape (on two CPU
    cores more than it saves on a short clip), and it needs a C++ compiler (CPU) or
    Triton (CUDA). A compile or run failure is reported once and the module runs
    eagerly from then on, so ``compile`` can never break a conversion. With
    ``reduce-overhead`` (CUDA graphs) outputs are cloned: a graph's output buffers are
    rewritten by its next replay, and callers cache some outputs (frame features).
    """
    if mode not in COMPILE_MODES:
        raise InputError(f"compile must be one of {', '.join(COMPILE_MODES)}, got {mode!r}")
    if mode == "none":
        return
    for module in modules:
        module.forward = _compiled_or_eager(module.forward, mode, type(module).__name__)  # type: ignore[method-assign]


def _compiled_or_eager(eager: Callable[..., Any], mode: str, name: str) -> Callable[..., Any]:
    try:
        fast = torch.compile(eager, mode=mode)
    except Exception as error:
        print(f"stsr: torch.compile unavailable for {name} ({error}); running eagerly", file=sys.stderr)
        COMPILE_FALLBACKS.append(name)
        return eager
    failed = False
    graphs = mode == "reduce-overhead"

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal failed
        if not failed:
            try:
                if graphs:
                    torch.compiler.cudagraph_mark_step_begin()
                    out = fast(*args, **kwargs)
                    return torch.utils._pytree.tree_map(
                        lambda x: x.clone() if isinstance(x, torch.Tensor) else x, out
                    )
                return fast(*args, **kwargs)
            except Exception as error:
                failed = True
                COMPILE_FALLBACKS.append(name)
                reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
                print(f"stsr: torch.compile failed for {name} ({reason}); running eagerly", file=sys.stderr)
        return eager(*args, **kwargs)

    return call
