"""Device selection shared by every entry point: CUDA when present, else CPU."""

from __future__ import annotations

import torch


def resolve_device(choice: str = "auto") -> torch.device:
    """Map ``auto|cpu|cuda[:N]`` to a device; asking for CUDA without one is an error."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA device is available")
    if choice != "cpu" and not choice.startswith("cuda"):
        raise ValueError(f"unknown device {choice!r} (choose auto, cpu or cuda)")
    return torch.device(choice)
