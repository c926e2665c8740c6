"""``stsr interpolate IMG0 IMG1 --t T --out OUT``: one in-between image from two, with any backend.

Useful to look at what a backend does on a real pair without converting a video.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import torch

from stsr.device import resolve_device
from stsr.errors import InputError
from stsr.interpolators import create_backend


def _timestep(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a number or fraction: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"--t must be between 0 and 1, got {text}")
    return value


def read_rgb(path: Path, height: int | None = None) -> torch.Tensor:
    """Image file -> float32 ``(3, H, W)`` RGB in ``[0, 1]``, optionally resized to ``height`` rows."""
    if not path.is_file():
        raise InputError(f"no such image: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"cannot read {path} as an image")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    scale = 65535.0 if image.dtype == np.uint16 else 255.0
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / scale
    if height is not None and height != rgb.shape[0]:
        width = max(2, round(rgb.shape[1] * height / rgb.shape[0]))
        interpolation = cv2.INTER_AREA if height < rgb.shape[0] else cv2.INTER_CUBIC
        rgb = np.clip(cv2.resize(rgb, (width, height), interpolation=interpolation), 0.0, 1.0)
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).contiguous()


def write_rgb(path: Path, frame: torch.Tensor) -> None:
    """float ``(3, H, W)`` RGB in ``[0, 1]`` -> 8-bit image file (format from the extension)."""
    rgb = (frame.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0).round().astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise InputError(f"cannot write {path} (unknown image extension or unwritable folder?)")


def run(args: argparse.Namespace) -> int:
    try:
        device = resolve_device(args.device)
    except ValueError as error:
        raise InputError(str(error)) from None
    frame0 = read_rgb(Path(args.img0), args.height)
    frame1 = read_rgb(Path(args.img1), args.height)
    if frame0.shape != frame1.shape:
        raise InputError(f"images differ in size: {args.img0} is {frame0.shape[2]}x{frame0.shape[1]}, "
                         f"{args.img1} is {frame1.shape[2]}x{frame1.shape[1]} (use --height to resize both)")
    options: dict[str, object] = {}
    if args.model is not None:
        options["model"] = args.model
    if args.weights is not None:
        options["weights_dir"] = args.weights
    if args.scale is not None:
        options["scale"] = args.scale
    backend = create_backend(args.backend, device=device, **options)
    frame = backend.prepare(frame0.to(device), frame1.to(device)).frame_at(args.t)
    out = Path(args.out)
    write_rgb(out, frame)
    print(f"wrote {out} (t={args.t}, {backend.describe()})", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("interpolate", help="make one in-between image from two images",
                                   description="Interpolate IMG0 -> IMG1 at time T and write the image to OUT.")
    parser.add_argument("img0", help="first image (t = 0)")
    parser.add_argument("img1", help="second image (t = 1)")
    parser.add_argument("--t", type=_timestep, default=Fraction(1, 2), metavar="T",
                        help="time between the images, 0..1, e.g. 0.5 or 1/3 (default 0.5)")
    parser.add_argument("--out", required=True, metavar="OUT", help="output image (.png, .jpg, ...)")
    parser.add_argument("--backend", default="auto", metavar="NAME",
                        help="auto (gmfss_union if its weights are present, else flow), flow, rife, gmfss_union")
    parser.add_argument("--height", type=int, default=None, metavar="H", help="resize both images to H rows first")
    parser.add_argument("--model", choices=("vanillagan", "wgan"), default=None,
                        help="gmfss_union weights variant (default vanillagan)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    parser.add_argument("--weights", default=None, metavar="DIR",
                        help="folder with flownet.pkl, rife.pkl, metric.pkl, fusionnet.pkl")
    parser.add_argument("--scale", type=float, default=None,
                        help="flow scale: gmfss_union 0.25-1.0, rife 0.25/0.5/1/2 (lower for large images)")
    parser.set_defaults(func=run)
