"""Converter throughput: output frames per second of ``stsr convert`` per backend and size.

Usage: .venv/bin/python -m benchmarks.bench_convert [--backends flow,rife] [--heights 360,720]
       [--seconds 4] [--schedule S]
Prints a markdown table. The input is the README's sample (on twos, 23.976 fps) at each size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from stsr.engine import ConvertOptions, convert
from stsr.eval.sample import make_sample
from stsr.interpolators import available_backends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="flow")
    parser.add_argument("--heights", default="360,720")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--schedule", default=ConvertOptions().schedule, help="cadence, pairs or naive")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b in available_backends()]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for height in (int(h) for h in args.heights.split(",")):
            width = height * 16 // 9
            source = make_sample(Path(folder) / f"in{height}.mp4", width, height, args.seconds)
            for backend in backends:
                started = time.monotonic()
                result = convert(source, Path(folder) / f"out_{backend}_{height}.mp4",
                                 ConvertOptions(backend=backend, device="auto", schedule=args.schedule, overwrite=True))
                wall = time.monotonic() - started
                rows.append((backend, f"{width}x{height}", result.frames, wall, result.frames / wall,
                             result.frames / wall / float(result.rate)))
    print(f"| backend | size | output frames | wall s | output fps | x real time ({args.schedule}) |")
    print("|---|---|---|---|---|---|")
    for backend, size, frames, wall, fps, realtime in rows:
        print(f"| {backend} | {size} | {frames} | {wall:.1f} | {fps:.1f} | {realtime:.2f} |")


if __name__ == "__main__":
    main()
