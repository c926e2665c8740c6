"""The few pixel operations the ``regional`` schedule needs, over every frame type schedules take.

Time maps and masks are built on the analysis grid (:class:`~stsr.schedules.change.RegionChangeMeter`
regions) and brought to the frame's size here; masked passes are composited here.
Frames are ``torch`` tensors ``(3, H, W)``, numpy pictures ``(H, W, 3)``, objects with
``analysis_image()`` (the benchmark's oracle; they composite themselves with a
``composite(masks, frames)`` method), or plain numbers / 1-D arrays (one region per entry).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np


def frame_size(frame: Any) -> tuple[int, int] | None:
    """(H, W) of a picture, None for numbers."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(frame, torch.Tensor) and frame.ndim == 3:
        return int(frame.shape[-2]), int(frame.shape[-1])
    if isinstance(frame, np.ndarray) and frame.ndim == 3:
        return int(frame.shape[0]), int(frame.shape[1])
    render = getattr(frame, "analysis_image", None)
    if callable(render):
        height, width = np.asarray(render()).shape[:2]
        return int(height), int(width)
    return None


def grid_to_frame(grid: np.ndarray, size: tuple[int, int], covered: tuple[float, float]) -> np.ndarray:
    """A (rows, cols) grid of region values as an (H, W) float32 map, bilinear (smooth at region borders).

    ``covered``: the share of the frame's height and width the grid's regions cover (the
    analysis image is cut into whole blocks); the rest repeats the edge values.
    """
    height, width = size
    inner = (max(1, round(width * covered[1])), max(1, round(height * covered[0])))
    resized = cv2.resize(grid.astype(np.float32), inner, interpolation=cv2.INTER_LINEAR)
    return np.pad(resized, ((0, height - inner[1]), (0, width - inner[0])), mode="edge")


def as_map(values: np.ndarray, like: Any) -> Any:
    """A map in the frame's own kind: a tensor on the frame's device for tensors, numpy otherwise."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(like, torch.Tensor):
        return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32)).to(like.device)
    return values


def composite(frames: Sequence[Any], masks: Sequence[np.ndarray]) -> Any:
    """``sum(mask_i * frame_i)``; masks sum to 1 everywhere (per region for numbers)."""
    torch = sys.modules.get("torch")
    first = frames[0]
    if torch is not None and isinstance(first, torch.Tensor):
        total = torch.zeros_like(first)
        for frame, mask in zip(frames, masks, strict=True):
            total += torch.from_numpy(mask).to(first.device, first.dtype)[None] * frame
        return total
    if isinstance(first, np.ndarray) and first.ndim == 3:
        total = sum(mask[..., None].astype(np.float32) * frame.astype(np.float32)
                    for frame, mask in zip(frames, masks, strict=True))
        return np.clip(np.round(total), 0, 255).astype(first.dtype) if first.dtype == np.uint8 else total
    own = getattr(first, "composite", None)
    if callable(own):
        return own(list(masks), list(frames))
    return sum(np.asarray(mask, np.float64) * np.asarray(frame, np.float64) for frame, mask in zip(frames, masks,
                                                                                                strict=True))


__all__ = ["as_map", "composite", "frame_size", "grid_to_frame"]
