"""Which float type a sub-network runs in, and whether this CPU computes bfloat16 natively.

Why: on a CPU with AVX-512 BF16 (Zen 4, Sapphire Rapids and later) oneDNN runs
bfloat16 convolutions and matmuls at about 2-2.7x the float32 rate, but bfloat16 keeps
only 8 bits of mantissa, so each sub-network is switched on its own and only where its
output stays within the equal-output bar. Without native support oneDNN emulates
bfloat16 and is slower than float32, hence the capability check behind ``auto``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import InputError

#: ``precision`` settings of the CPU backends: auto (bf16 where native, else fp32), fp32, bf16
PRECISIONS = ("auto", "fp32", "bf16")
#: CPU feature flags (``/proc/cpuinfo``) that mean bfloat16 dot products in hardware
_NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when this CPU has bfloat16 dot-product instructions and oneDNN can use them."""
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except (OSError, RuntimeError, AttributeError):
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return any(flag in flags for flag in _NATIVE_BF16_FLAGS)
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto``/``fp32``/``bf16`` -> ``fp32`` or ``bf16`` for ``device``.

    ``auto`` is bf16 only on a CPU with native support; ``bf16`` is honoured on any CPU
    (slow where emulated). CUDA has its own float16 path: always ``fp32`` here.
    """
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if device.type != "cpu" or precision == "fp32":
        return "fp32"
    if precision == "bf16" or cpu_has_native_bf16():
        return "bf16"
    return "fp32"


def _cast(value: Any, dtype: torch.dtype, channels_last: bool) -> Any:
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point() or value.dtype == dtype:
            return value
        value = value.to(dtype)
        if channels_last and value.dim() == 4:
            value = value.contiguous(memory_format=torch.channels_last)
        return value
    if isinstance(value, (tuple, list)):
        return type(value)(_cast(item, dtype, channels_last) for item in value)
    return value


def run_in_dtype(module: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Make ``module`` compute in ``dtype`` (channels_last) behind casts: callers keep their own dtype.

    Floating inputs are cast to ``dtype`` on the way in, floating outputs back to the
    dtype the module had before, so the code around it does not change.
    """
    outer = next(module.parameters()).dtype
    module.to(dtype=dtype, memory_format=torch.channels_last)
    eager: Callable[..., Any] = module.forward

    def forward(*args: Any, **kwargs: Any) -> Any:
        args = _cast(args, dtype, True)
        kwargs = {key: _cast(value, dtype, True) for key, value in kwargs.items()}
        return _cast(eager(*args, **kwargs), outer, False)

    module.forward = forward  # type: ignore[method-assign]
    return module
