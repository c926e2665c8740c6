"""oneDNN's fused CPU kernels (a conv or linear with its activation applied before the store).

One fallback for all of them: where an op is missing from this PyTorch build, or fails
once (an unsupported layout or dtype), the plain calls run from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

#: ops that failed once in this process
_UNUSABLE: set[str] = set()


def fused_or_plain(
    op_name: str, fused: Callable[[Any], torch.Tensor], plain: Callable[[], torch.Tensor]
) -> torch.Tensor:
    """``fused(torch.ops.mkldnn.<op_name>)`` if that op exists and works here, else ``plain()``."""
    op = None if op_name in _UNUSABLE else getattr(torch.ops.mkldnn, op_name, None)
    if op is not None:
        try:
            return fused(op)
        except (RuntimeError, NotImplementedError):
            _UNUSABLE.add(op_name)
    return plain()
