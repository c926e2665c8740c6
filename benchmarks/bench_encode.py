"""Encode settings and colour fidelity of the writer: file size, bitrate, PSNR and colour shift.

Usage: .venv/bin/python -m benchmarks.bench_encode [--seconds 10] [--height 720] [--codecs h264,h265,av1,ffv1]

Table 1: the README's sample scene (anime-like: flat colours, lines, a textured pan)
at 1280x720, 23.976 fps, encoded with each codec's default stsr settings; PSNR is
measured against the frames that went in (the processed frames), so it says
whether the encode can be told from them.
Table 2: the colour shift of a colour chart (8 bars) through encode + decode, as
the mean signed delta per channel and the mean absolute delta, in 8-bit code values.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from stsr.engine import ConvertOptions, convert
from stsr.eval.synthetic import sample_scene
from stsr.io.probe import ColorDescription
from stsr.io.video import VideoWriter, choose_settings, decode
from stsr.io.y4m import rgb_to_yuv420, yuv420_to_rgb

CHART = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0, 1), (0.75, 0.75, 0.75), (0.2, 0.4, 0.6)]


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(peak * peak / mse)


def encode_table(folder: Path, seconds: float, height: int, codecs: list[str]) -> list[tuple]:
    width = height * 16 // 9
    scene = sample_scene(width, height, seconds)
    frames = list(scene.source_frames())
    # The best any 4:2:0 encode can do: the source through 4:2:0 and back, losslessly (the chroma loss alone).
    subsampled = [yuv420_to_rgb(rgb_to_yuv420(rgb), width, height) for rgb in frames]
    rows = []
    for codec, depth in [(c, d) for c in codecs for d in ((8, 10) if c in ("h264", "h265") else (10,))]:
        path = folder / f"{codec}{depth}.mkv"
        settings = choose_settings(path, codec, depth, width, height)
        writer = VideoWriter(path, scene.rate, width, height, settings)
        started = time.monotonic()
        for index, rgb in enumerate(frames):
            writer.write(rgb.astype(np.uint16) * 257 if depth > 8 else rgb, Fraction(index) / scene.rate)
        writer.close()
        wall = time.monotonic() - started
        decoded = [frame.rgb for frame in decode(path)]
        quality = np.mean([psnr(d, s, 255) for d, s in zip(decoded, frames, strict=False)])
        against_420 = np.mean([psnr(d, s, 255) for d, s in zip(decoded, subsampled, strict=False)])
        size = path.stat().st_size
        rows.append((codec, settings.describe(), size / 1e6, size * 8 / 1000 / seconds, quality, against_420,
                     len(frames) / wall))
    return rows


def chart_frame(width: int, height: int) -> np.ndarray:
    chart = np.zeros((height, width, 3), np.uint8)
    band = width // len(CHART)
    for number, colour in enumerate(CHART):
        chart[:, number * band:(number + 1) * band] = (np.array(colour) * 229).round()
    return chart


def interior(width: int) -> np.ndarray:
    band = width // len(CHART)
    return np.concatenate([np.arange(n * band + 8, (n + 1) * band - 8) for n in range(len(CHART))])


def shift_table(folder: Path) -> list[tuple]:
    rows = []
    cases = [("320x240 untagged (BT.601)", 320, 240, ColorDescription(), "h264", 8),
             ("1280x720 untagged (BT.709)", 1280, 720, ColorDescription(), "h264", 8),
             ("1280x720 tagged BT.709", 1280, 720, ColorDescription(1, 1, 1, 1), "h265", 10),
             ("1280x720 tagged BT.601 full range", 1280, 720, ColorDescription(6, 6, 6, 2), "h264", 8),
             ("1280x720 tagged BT.601 full range, 10-bit", 1280, 720, ColorDescription(6, 6, 6, 2), "h265", 10)]
    for label, width, height, color, codec, depth in cases:
        chart = chart_frame(width, height)
        source = folder / f"chart_{width}_{codec}_{color.matrix}_{color.range}.mkv"
        settings = choose_settings(source, codec, depth, width, height)
        writer = VideoWriter(source, Fraction(24), width, height, settings, color=color)
        for index in range(6):
            writer.write(chart.astype(np.uint16) * 257, Fraction(index, 24))
        writer.close()
        columns = interior(width)
        decoded = next(decode(source)).rgb.astype(np.float64)[:, columns]
        signed = (decoded - chart[:, columns]).mean(axis=(0, 1))
        target = folder / f"converted_{source.name}"
        convert(source, target, ConvertOptions(backend="flow", device="cpu", overwrite=True))
        converted = list(decode(target))[5].rgb.astype(np.float64)[:, columns]
        after = (converted - chart[:, columns]).mean(axis=(0, 1))
        rows.append((label, f"{settings.encoder} {settings.pix_fmt}", signed,
                     np.abs(decoded - chart[:, columns]).mean(), after, np.abs(converted - chart[:, columns]).mean()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--codecs", default="h264,h265,av1,ffv1")
    parser.add_argument("--skip-encode", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if not args.skip_encode:
            rows = encode_table(folder, args.seconds, args.height, args.codecs.split(","))
            print(f"| codec | settings ({args.seconds:g} s, {args.height}p) | size MB | kbit/s | PSNR dB "
                  "| PSNR vs 4:2:0 source dB | encode fps |")
            print("|---|---|---|---|---|---|---|")
            for codec, settings, size, rate, quality, against_420, fps in rows:
                print(f"| {codec} | {settings} | {size:.2f} | {rate:.0f} | {quality:.2f} | {against_420:.2f} "
                      f"| {fps:.1f} |")
            print()
        print("| chart | encoder | encode+decode shift R,G,B | mean abs | after convert shift R,G,B | mean abs |")
        print("|---|---|---|---|---|---|")
        for label, encoder, signed, absolute, after, after_abs in shift_table(folder):
            print(f"| {label} | {encoder} | {', '.join(f'{v:+.2f}' for v in signed)} | {absolute:.2f} | "
                  f"{', '.join(f'{v:+.2f}' for v in after)} | {after_abs:.2f} |")


if __name__ == "__main__":
    main()
