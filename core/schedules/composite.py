"""Region-grid values as pictures: time maps and masks at a frame's size, and the composite of passes.

Generic over the frame type like the rest of :mod:`stsr.schedules`: ``torch`` tensors
``(3, H, W)`` get ``torch`` maps on their device, numpy pictures ``(H, W, 3)`` and
objects with an ``analysis_image()`` (the benchmark's oracle frames) get numpy maps,
and numbers (one region each, for tests) get one value per number. Objects composite
themselves through a ``composite(images, weights)`` class method.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np


def frame_size(frame: Any) -> tuple[int, int] | None:
    """``(H, W)`` of a picture, None for numbers."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(frame, torch.Tensor) and frame.ndim == 3:
        return int(frame.shape[-2]), int(frame.shape[-1])
    if isinstance(frame, np.ndarray) and frame.ndim == 3:
        return int(frame.shape[0]), int(frame.shape[1])
    render = getattr(frame, "analysis_image", None)
    if callable(render):
        return tuple(np.asarray(render()).shape[:2])  # type: ignore[return-value]
    return None


def grid_to_picture(values: np.ndarray, grid: tuple[int, int] | None, like: Any) -> Any:
    """Region values as an ``(H, W)`` float32 map for frames like ``like`` (bilinear: smooth between regions)."""
    if grid is None or frame_size(like) is None:
        return np.asarray(values, np.float32)
    return picture_like(values.reshape(grid), like)


def picture_like(values: np.ndarray, like: Any) -> Any:
    """A map ``(h, w)`` (region values, or a picture at another size) resized for frames like ``like``."""
    size = frame_size(like)
    if size is None:
        return values
    picture = np.ascontiguousarray(values, np.float32)
    if picture.shape != size:
        picture = cv2.resize(picture, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(like, torch.Tensor):
        return torch.from_numpy(picture).to(like.device)
    return picture


def composite(images: Sequence[Any], weights: Sequence[Any]) -> Any:
    """``sum_g weights[g] * images[g]``; the weights (from :func:`grid_to_picture`) sum to 1 per pixel."""
    if len(images) == 1:
        return images[0]
    combine = getattr(type(images[0]), "composite", None)
    if callable(combine):
        return combine(images, weights)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(images[0], torch.Tensor):
        total = sum(weight.to(image.dtype)[None] * image for image, weight in zip(images, weights, strict=True))
        return total.clamp(0, 1)  # type: ignore[union-attr]
    if isinstance(images[0], np.ndarray) and images[0].ndim == 3:
        total = sum(np.asarray(w, np.float32)[..., None] * i.astype(np.float32)
                    for i, w in zip(images, weights, strict=True))
        return total.astype(images[0].dtype) if images[0].dtype == np.float32 else \
            np.clip(np.round(total), 0, 255).astype(images[0].dtype)  # type: ignore[union-attr]
    return sum(np.asarray(w) * np.asarray(i) for i, w in zip(images, weights, strict=True))


__all__ = ["composite", "frame_size", "grid_to_picture", "picture_like"]
