"""Where in time does a backend put its in-betweens? Asked for ``t``, which pose does it draw?

    .venv/bin/python -m benchmarks.stutter.timing --backend gmfss_union --size 512x288

For each pair of consecutive source frames of a scene drawn on ones, the backend
makes frames at t = 0, 0.1 ... 1; the benchmark's tracker reads each character's pose
in them. A perfect interpolator draws pose ``n + t``. A constant offset only shifts
the picture (lag); an offset that differs between t = 0 (the source frame itself)
and the in-betweens makes a step of uneven length once per source frame: stutter
that no schedule can remove. PSNR against the truth rendered at ``n + t`` tells
whether the measured pose is the picture's or only the tracker's reading.
"""

from __future__ import annotations

import argparse
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from stsr.engine import frame_to_tensor, silence_library_logs, tensor_to_frame
from stsr.interpolators import create_backend
from stsr.io.video import decode, write_video

from .metrics import Tracker, psnr, yuv420_roundtrip
from .scenes import make_scene

TIMESTEPS = [Fraction(k, 10) for k in range(11)]  # 0 and 1: the source frames themselves


def measure(backend: str, scene_name: str, width: int, height: int, pairs: range,
            options: dict[str, object]) -> dict[Fraction, tuple[list[float], list[float]]]:
    """t -> (pose offsets from n + t over every pair and character, PSNR of each frame)."""
    scene = make_scene(scene_name, width, height, frames=pairs.stop + 2)
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "source.mp4"
        write_video(source, scene.source_frames(), scene.rate, codec="h264")  # what users have
        decoded = [frame.rgb for frame in decode(source)]
    interpolator = create_backend(backend, device="cpu", **options)
    tracker = Tracker(scene)
    found: dict[Fraction, tuple[list[float], list[float]]] = {t: ([], []) for t in TIMESTEPS}
    with torch.inference_mode():
        for n in pairs:
            prepared = interpolator.prepare(frame_to_tensor(decoded[n], interpolator.device),
                                            frame_to_tensor(decoded[n + 1], interpolator.device))
            for t, image in zip(TIMESTEPS, prepared.frames_at(TIMESTEPS), strict=True):
                picture = yuv420_roundtrip(tensor_to_frame(image))
                time = n + float(t)
                offsets, scores = found[t]
                offsets += [pose - time for pose in tracker.poses(picture, time) if np.isfinite(pose)]
                scores.append(psnr(picture, yuv420_roundtrip(scene.render_at(time))))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="gmfss_union")
    parser.add_argument("--scene", default="ones")
    parser.add_argument("--size", default="512x288")
    parser.add_argument("--pairs", type=int, default=8, help="source pairs measured (from frame 8)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="backend option (e.g. model=wgan)")
    args = parser.parse_args(argv)
    silence_library_logs()
    width, height = (int(v) for v in args.size.split("x"))
    options: dict[str, object] = {}
    for item in args.option:
        key, _, value = item.partition("=")
        options[key] = {"true": True, "false": False}.get(value.lower(), value)
    found = measure(args.backend, args.scene, width, height, range(8, 8 + args.pairs), options)
    print(f"{args.backend} {options or ''} on {args.scene} at {width}x{height}, {args.pairs} pairs")
    print("| t | pose drawn − (n + t), mean | std | PSNR dB |")
    print("|---:|---:|---:|---:|")
    for t, (offsets, scores) in found.items():
        print(f"| {float(t):.1f} | {np.mean(offsets):+.3f} | {np.std(offsets):.3f} | {np.mean(scores):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
