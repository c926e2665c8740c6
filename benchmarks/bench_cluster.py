"""Conversion on Ray workers: wall time with 1 and 2 local workers, the coordinator's overhead, and a projection.

Usage: .venv/bin/python -m benchmarks.bench_cluster [--seconds 60] [--height 144] [--backends flow,rife]
       [--chunk-frames 600] [--workers 1,2] [--gpu-fps F]

For each backend: one single-process ``convert`` (the reference), then the same
conversion on a local Ray with each worker count (workers on CPU threads, the
machine's cores shared between them). Printed as markdown tables:

1. wall times, and where the coordinator's time goes: Ray start (actors load their
   model meanwhile), planning (decode + cut detection of the whole input), rendering
   (all workers, including any wait for a model still loading after the planning),
   joining (read chunks, final encode, audio copy); overhead =
   (planning + joining) / total.
2. on paper, a 24-minute episode on N GPU nodes: ``plan + ceil(chunks / N) * chunk
   cost + join``, with the planning and join costs per frame measured here and the
   chunk cost from the measured per-frame render cost of one worker (or ``--gpu-fps``,
   a GPU worker's output frames per second, e.g. from ``bench_convert`` on that GPU).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from stsr.engine import ConvertOptions, convert
from stsr.eval.sample import make_sample

EPISODE_SECONDS = 24 * 60
OUTPUT_RATE = Fraction(60000, 1001)
SOURCE_RATE = Fraction(24000, 1001)


@dataclass
class Run:
    backend: str
    workers: int  # 0: single process
    wall: float
    frames: int
    startup: float = 0.0
    planning: float = 0.0
    rendering: float = 0.0
    joining: float = 0.0
    chunks: int = 0
    render_seconds_per_frame: float = 0.0  # one worker's render time per output frame (mean over chunks)


def run_single(source: Path, target: Path, options: ConvertOptions, backend: str) -> Run:
    started = time.monotonic()
    result = convert(source, target, options)
    return Run(backend, 0, time.monotonic() - started, result.frames)


def run_cluster(source: Path, target: Path, options: ConvertOptions, backend: str, workers: int,
                chunk_frames: int, folder: Path) -> Run:
    from stsr.plugin.cluster.coordinator import ClusterOptions, convert_on_cluster

    threads = max(1, (os.cpu_count() or 1) // workers)
    started = time.monotonic()
    result = convert_on_cluster(source, target, options,
                                ClusterOptions(workers=workers, chunk_frames=chunk_frames, worker_threads=threads,
                                               chunk_dir=folder))
    wall = time.monotonic() - started
    frames = sum(count for count, _ in result.chunk_costs)
    seconds = sum(cost for _, cost in result.chunk_costs)
    return Run(backend, workers, wall, result.frames, result.startup_seconds, result.planning_seconds,
               result.waiting_seconds + result.rendering_seconds, result.joining_seconds, result.chunks,
               seconds / max(1, frames))


def projection(runs: list[Run], chunk_frames: int, gpu_fps: float | None, nodes: list[int]) -> list[str]:
    """A 24-minute episode on N nodes, from the measured per-frame costs (Amdahl: plan and join are serial)."""
    lines = []
    episode_outputs = math.ceil(EPISODE_SECONDS * OUTPUT_RATE)
    episode_sources = math.ceil(EPISODE_SECONDS * SOURCE_RATE)
    chunks = math.ceil(episode_outputs / chunk_frames)
    for run in [r for r in runs if r.workers == 1]:
        source_frames = run.frames * SOURCE_RATE / OUTPUT_RATE
        plan = run.planning / float(source_frames) * episode_sources
        join = run.joining / run.frames * episode_outputs
        per_frame = 1 / gpu_fps if gpu_fps else run.render_seconds_per_frame
        chunk_cost = per_frame * chunk_frames
        label = f"{run.backend} ({'GPU at ' + str(gpu_fps) + ' fps' if gpu_fps else 'worker as measured here'})"
        lines.append(f"\n24-minute episode ({episode_outputs} output frames, {chunks} chunks of {chunk_frames}), "
                     f"{label}: planning {plan / 60:.1f} min, join {join / 60:.1f} min, "
                     f"one chunk {chunk_cost:.1f} s\n")
        lines.append("| nodes | render min | total min | speed-up over 1 node | plan + join share |")
        lines.append("|---|---|---|---|---|")
        single = plan + chunks * chunk_cost + join
        for count in nodes:
            render = math.ceil(chunks / count) * chunk_cost
            total = plan + render + join
            lines.append(f"| {count} | {render / 60:.1f} | {total / 60:.1f} | {single / total:.2f} | "
                         f"{(plan + join) / total:.0%} |")
    return lines


def print_row(run: Run) -> None:
    """One table row, printed as soon as it is measured (a long run interrupted still shows its rows)."""
    if run.workers == 0:
        print(f"| {run.backend} | single process | {run.wall:.1f} | {run.frames / run.wall:.1f} | | | | | | |",
              flush=True)
        return
    share = (run.planning + run.joining) / run.wall
    print(f"| {run.backend} | {run.workers} | {run.wall:.1f} | {run.frames / run.wall:.1f} | {run.startup:.1f} | "
          f"{run.planning:.1f} | {run.rendering:.1f} | {run.joining:.1f} | {run.chunks} | {share:.0%} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--height", type=int, default=144)
    parser.add_argument("--backends", default="flow,rife")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--chunk-frames", type=int, default=600)
    parser.add_argument("--schedule", default=ConvertOptions().schedule)
    parser.add_argument("--gpu-fps", type=float, default=None,
                        help="a GPU worker's output frames/s for the projection (default: the measured CPU worker)")
    args = parser.parse_args()
    import ray

    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    runs: list[Run] = []
    width = args.height * 16 // 9 // 2 * 2
    print(f"{args.seconds:g} s clip at {width}x{args.height}, {args.schedule}, {os.cpu_count()} CPU cores, "
          f"chunks of {args.chunk_frames} output frames, load average {os.getloadavg()[0]:.1f} at the start\n")
    print("| backend | workers | wall s | output fps | Ray start s | planning s | rendering s | joining s | "
          "chunks | overhead (plan + join) |")
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    try:
        with tempfile.TemporaryDirectory() as folder_name:
            folder = Path(folder_name)
            source = make_sample(folder / "in.mp4", width, args.height, args.seconds)
            for backend in args.backends.split(","):
                options = ConvertOptions(backend=backend, device="cpu", schedule=args.schedule, overwrite=True)
                runs.append(run_single(source, folder / f"single_{backend}.mp4", options, backend))
                print_row(runs[-1])
                for workers in (int(w) for w in args.workers.split(",")):
                    runs.append(run_cluster(source, folder / f"cluster_{backend}_{workers}.mp4", options, backend,
                                            workers, args.chunk_frames, folder / f"chunks_{backend}_{workers}"))
                    print_row(runs[-1])
    finally:
        ray.shutdown()
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (other jobs on the machine slow every row)")
    print("\n".join(projection(runs, args.chunk_frames, args.gpu_fps, [1, 2, 4, 8, 16])))


if __name__ == "__main__":
    main()
