"""Real-time playback benchmark for ``stsr play``: can the engine feed mpv at the output rate?

Plays a synthetic anime clip (core.synthetic, 23.976 fps) headless (``vo=null``,
``ao=null``: mpv runs on its real-time clock) once per backend and processing height,
and prints a markdown table:

- producer fps: output frames made per second of producer work (sustainable rate;
  it must exceed the output rate, 59.94, with room to spare),
- late: frames mpv asked for before they were ready (stsr's count) / frames mpv dropped,
- step-downs: how often the real-time policy had to lower the quality, and where it ended.

A row marked "fixed" runs with the policy off, to show a backend's raw speed.

    .venv/bin/python benchmarks/bench_play.py                      # 60 s, flow 540p + 360p + source
    .venv/bin/python benchmarks/bench_play.py --seconds 20 --configs rife:360:fixed gmfss_union:270:fixed
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stsr.eval.synthetic import sample_scene
from stsr.plugin.player.player import Player, PlayOptions

REPO = Path(__file__).resolve().parents[1]

DEFAULT_CONFIGS = ["flow:540", "flow:360", "source:540"]


def make_clip(seconds: float, width: int, height: int) -> Path:
    """The benchmark clip (cached in the temp folder): h264 at 23.976 fps, like a typical episode."""
    path = Path(tempfile.gettempdir()) / f"stsr-bench-play-{width}x{height}-{seconds:g}s.mp4"
    if path.exists():
        return path
    scene = sample_scene(width, height, seconds)
    partial = path.with_suffix(".partial.mp4")
    rate = Fraction(24000, 1001)
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=rate, options={"crf": "20", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = 1 / rate
        for index, rgb in enumerate(scene.source_frames()):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = index
            frame.time_base = stream.codec_context.time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    partial.rename(path)
    return path


def play_once(clip: Path, backend: str, height: int, seconds: float, adaptive: bool) -> dict[str, object]:
    smoothing = backend != "source"
    options = PlayOptions(backend=backend if smoothing else "flow", height=height, device="cpu",
                          mpv_options=[("vo", "null"), ("ao", "null")], adaptive=adaptive, smoothing=smoothing)
    position = {"value": 0.0}

    def hook(mpv) -> None:
        done = threading.Event()

        def observe(name: str, value: object) -> None:
            if name == "time-pos" and value is not None:
                position["value"] = float(value)
                if position["value"] >= seconds - 0.1:
                    done.set()
            elif name == "eof-reached" and value:
                done.set()

        def watch() -> None:
            done.wait(seconds + 30)  # (a producer slower than real time stalls mpv; stop anyway)
            mpv.command("quit")

        mpv.observe_property("time-pos", observe)
        mpv.observe_property("eof-reached", observe)
        threading.Thread(target=watch, daemon=True).start()

    player = Player(clip, options, on_mpv=hook)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    result = player.run()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    final = result.changes[-1].new if result.changes else player.levels[0].label() if smoothing else "source frames"
    return {
        "config": f"{backend} {height}p" + ("" if adaptive else " fixed"),
        "played": position["value"],
        "wall": wall,
        "frames": result.frames_produced,
        "producer_fps": result.frames_produced / result.busy_seconds if result.busy_seconds else float("inf"),
        "ms": 1000 * result.busy_seconds / max(1, result.frames_produced),
        "cpu_ms": 1000 * result.cpu_seconds / max(1, result.frames_produced),
        "cores": cpu / wall,
        "load": os.getloadavg()[0],
        "late": result.frames_late,
        "late_at": result.late_indices,
        "changes": [f"{c.at:.1f} s: {c.old} -> {c.new} ({c.reason.value}: {c.detail})" for c in result.changes],
        "dropped": result.mpv_dropped + result.mpv_delayed,
        "step_downs": result.step_downs,
        "final": final,
        "levels": result.produced_at_level,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="clip length and playback time")
    parser.add_argument("--source-height", type=int, default=1080, help="height of the synthetic source (16:9)")
    parser.add_argument("--configs", nargs="*", default=DEFAULT_CONFIGS,
                        help="backend:height[:fixed] (source = smoothing off)")
    args = parser.parse_args()
    width = round(args.source_height * 16 / 9 / 2) * 2
    print(f"making the {args.seconds:g} s {width}x{args.source_height} clip...", file=sys.stderr)
    clip = make_clip(args.seconds, width, args.source_height)
    rows = []
    for config in args.configs:
        parts = config.split(":")
        backend, height = parts[0], int(parts[1])
        adaptive = not (len(parts) > 2 and parts[2] == "fixed")
        print(f"playing {config} ...", file=sys.stderr)
        row = play_once(clip, backend, height, args.seconds, adaptive)
        rows.append(row)
        for change in row["changes"]:
            print(f"  {change}", file=sys.stderr)
        if row["late_at"]:
            print(f"  late frames at output indices: {row['late_at'][:40]}", file=sys.stderr)
    print(f"\n`stsr play` real time, {args.seconds:g} s of {width}x{args.source_height} h264 at 23.976 fps "
          f"-> 59.94 fps, headless (vo=null, ao=null), CPU\n")
    print("| config | played s | producer fps | ms/frame (wall) | ms/frame (producer CPU) | whole process, cores | "
          "late (stsr) | dropped (mpv) | step-downs | ended at | machine load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['config']} | {row['played']:.1f} | {row['producer_fps']:.1f} | {row['ms']:.1f} | "
              f"{row['cpu_ms']:.1f} | {row['cores']:.2f} | {row['late']} | {row['dropped']} | {row['step_downs']} | "
              f"{row['final']} | {row['load']:.1f} |")
    print("\nproducer fps = output frames per second of producer wall time (needs > 59.94); machine load = the "
          "1-minute load average at the end (other processes share the 2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
