"""Speed and memory of the interpolator backends at 270p, 540p and 720p (16:9).

Run: ``.venv/bin/python benchmarks/bench_interpolators.py [--device auto|cpu|cuda] [--sizes 270,540,720]``

Prints a markdown table per backend and size:

* **prepare**: one pair in a stream (the previous pair's second frame is cached, so
  this is one new frame's features plus the pair's flow), the first pair excluded;
* **1 t**: ``frames_at`` with one timestep;
* **per t (x4)**: ``frames_at`` with four timesteps, divided by four;
* **peak MB**: peak memory of the work above the memory after loading the model:
  the process's resident high-water mark (``VmHWM`` in ``/proc/self/status``, so each
  configuration runs in a fresh subprocess) on CPU, ``torch.cuda.max_memory_allocated``
  on CUDA.

``--stages`` also times the stages of gmfss_union at 960x576, the size of the
reference figures quoted in issue #3.

``--time-maps`` prints instead what a per-pixel time map costs against a scalar ``t``
(issue #13), per backend that ``supports_time_maps``: ms per timestep for one timestep
and for four in one call, scalars and maps measured in turn on the same prepared pair
(best of the reps). The maps are not constant (left half at ``t``, right half at
``t + 0.1``), as a schedule that times regions apart would give them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SIZES = {270: (480, 270), 540: (960, 540), 720: (1280, 720)}
REPS = {270: 3, 540: 2, 720: 1}
TIMESTEPS = (0.2, 0.4, 0.6, 0.8)


def _memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def synthetic_frames(count: int, width: int, height: int) -> list[Any]:
    """Anime-like frames: a gradient, flat discs with dark outlines moving at different speeds."""
    import cv2
    import numpy as np
    import torch

    frames = []
    rng = np.random.default_rng(0)
    discs = [(rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.03, 0.12) * height,
              rng.uniform(-0.02, 0.02) * width, rng.uniform(-0.01, 0.01) * height, rng.random(3))
             for _ in range(12)]  # fmt: skip
    ramp = np.linspace(0.55, 0.95, height, dtype=np.float32)[:, None, None]
    for index in range(count):
        image = np.ascontiguousarray(np.broadcast_to(ramp * np.array([0.8, 0.9, 1.0], np.float32), (height, width, 3)))
        for x, y, radius, vx, vy, colour in discs:
            centre = (int(x + vx * index), int(y + vy * index))
            cv2.circle(image, centre, int(radius), colour.tolist(), -1, cv2.LINE_AA)
            cv2.circle(image, centre, int(radius), (0.1, 0.08, 0.12), max(1, height // 200), cv2.LINE_AA)
        frames.append(torch.from_numpy(image).permute(2, 0, 1).contiguous())
    return frames


def worker(backend_name: str, rows: int, reps: int, device_name: str) -> dict[str, Any]:
    """Measure one backend at one size in this (fresh) process."""
    import torch

    from stsr.device import resolve_device
    from stsr.interpolators import create_backend

    device = resolve_device(device_name)
    backend = create_backend(backend_name, device=device)
    width, height = SIZES[rows]
    frames = [frame.to(device) for frame in synthetic_frames(reps + 2, width, height)]

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    baseline_kb = _memory_kb("VmRSS")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        baseline_cuda = torch.cuda.memory_allocated(device)
    backend.prepare(frames[0], frames[1]).frames_at(TIMESTEPS)  # warm-up, fills the frame cache
    threads = torch.get_num_threads()
    samples: dict[str, list[tuple[float, float]]] = {"prepare": [], "single": [], "per_t": []}

    def measure(label: str, fn: Any, divide: int = 1) -> Any:
        sync()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        sync()
        samples[label].append(((time.perf_counter() - wall) / divide, (time.process_time() - cpu) / threads / divide))
        return result

    for index in range(1, reps + 1):
        pair = measure("prepare", lambda i=index: backend.prepare(frames[i], frames[i + 1]))
        measure("single", lambda p=pair: p.frames_at([0.5]))
        measure("per_t", lambda p=pair: p.frames_at(TIMESTEPS), len(TIMESTEPS))
    if device.type == "cuda":
        peak_mb = (torch.cuda.max_memory_allocated(device) - baseline_cuda) / 2**20
    else:
        peak_mb = (_memory_kb("VmHWM") - baseline_kb) / 1024
    best = {label: min(values) for label, values in samples.items()}
    return {
        "backend": backend_name, "rows": rows, "width": width, "height": height, "reps": reps,
        "describe": backend.describe(), "peak_mb": peak_mb,
        **{f"{label}_ms": 1000 * wall for label, (wall, _) in best.items()},
        **{f"{label}_cpu_ms": 1000 * cpu for label, (_, cpu) in best.items()},
    }  # fmt: skip


def map_worker(backend_name: str, rows: int, reps: int, device_name: str) -> dict[str, Any]:
    """ms per timestep of scalar ``t`` against per-pixel time maps, one backend at one size, in this process."""
    import torch

    from stsr.device import resolve_device
    from stsr.interpolators import create_backend

    device = resolve_device(device_name)
    backend = create_backend(backend_name, device=device)
    if not backend.supports_time_maps:
        raise SystemExit(f"{backend_name} does not take time maps")
    width, height = SIZES[rows]
    frame0, frame1 = (frame.to(device) for frame in synthetic_frames(2, width, height))

    def two_regions(t: float) -> torch.Tensor:
        time_map = torch.full((height, width), t, dtype=torch.float32, device=device)
        time_map[:, width // 2 :] = t + 0.1
        return time_map

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    runs = {
        "scalar_1": [0.5], "map_1": [two_regions(0.5)],
        "scalar_4": list(TIMESTEPS), "map_4": [two_regions(t) for t in TIMESTEPS],
    }  # fmt: skip
    pair = backend.prepare(frame0, frame1)
    for timesteps in runs.values():
        pair.frames_at(timesteps)  # warm-up: allocator, oneDNN kernels, CUDA autotuning
    samples: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(reps):
        for label, timesteps in runs.items():  # interleaved, so load changes hit both alike
            sync()
            started = time.perf_counter()
            pair.frames_at(timesteps)
            sync()
            samples[label].append((time.perf_counter() - started) * 1000 / len(timesteps))
    return {"backend": backend_name, "width": width, "height": height, "reps": reps,
            "describe": backend.describe(), **{label: min(values) for label, values in samples.items()}}  # fmt: skip


def print_time_map_table(backends: list[str], sizes: list[int], device: str) -> None:
    """The ``--time-maps`` table: one row per backend and size."""
    print("| backend | size | scalar ms (1 t) | map ms (1 t) | map / scalar | scalar ms per t (x4) "
          "| map ms per t (x4) | map / scalar | reps |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in backends:
        for rows in sizes:
            row = run_worker(["--map-worker", name, str(rows), str(REPS[rows] + 1), "--device", device])
            if "error" in row:
                print(f"| {name} | {rows}p | error: {row['error']} | | | | | | |", flush=True)
                continue
            print(f"| {name} | {row['width']}x{row['height']} | {row['scalar_1']:.1f} | {row['map_1']:.1f} "
                  f"| {row['map_1'] / row['scalar_1']:.2f} | {row['scalar_4']:.1f} | {row['map_4']:.1f} "
                  f"| {row['map_4'] / row['scalar_4']:.2f} | {row['reps']} |", flush=True)  # fmt: skip
            print(f"<!-- {name}: {row['describe']} -->", flush=True)
    print("\nWall-clock ms per timestep, best of the reps, on one prepared pair (prepare not included); "
          "maps: left half at t, right half at t + 0.1.")


def stage_timings(
    device_name: str, width: int = 960, height: int = 576, reps: int = 2
) -> dict[str, tuple[float, float]]:
    """Milliseconds per gmfss_union stage at ``width x height`` (per frame, per pair, per timestep)."""
    import torch

    from stsr.archs.gmfss_union.softsplat import splat_weighted
    from stsr.device import resolve_device
    from stsr.interpolators import create_backend

    device = resolve_device(device_name)
    backend = create_backend("gmfss_union", device=device)
    net, dtype = backend.net, backend.dtype
    frames = synthetic_frames(2, width, height)
    images = [frame[None].to(device, dtype) for frame in frames]
    timings: dict[str, list[tuple[float, float]]] = {}
    threads = torch.get_num_threads()

    def timed(label: str, fn: Any, divide: int = 1) -> Any:
        result = fn()  # warm-up
        for _ in range(reps):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            wall, cpu = time.perf_counter(), time.process_time()
            result = fn()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            timings.setdefault(label, []).append(
                ((time.perf_counter() - wall) * 1000 / divide, (time.process_time() - cpu) * 1000 / threads / divide)
            )
        return result

    count = len(TIMESTEPS)
    with torch.inference_mode():
        f0 = timed("per frame: encode (fusion pyramid + GMFlow backbone)", lambda: net.encode_frame(images[0]))
        timed("per frame: fusion feature pyramid", lambda: net.fusionnet.feat_ext(images[0] * 2 - 1))
        f1 = net.encode_frame(images[1])
        flows = timed("per pair: GMFlow, both directions", lambda: net.flownet.flows(f0.flow_features,
                                                                                    f1.flow_features))
        timed("per pair: MetricNet", lambda: net.metricnet(f0.half, f1.half, flows[0].to(dtype), flows[1].to(dtype)))
        pair = timed("per pair: prepare_pair total", lambda: net.prepare_pair(f0, f1))
        t = torch.tensor(TIMESTEPS, device=device).view(-1, 1, 1, 1)
        timed("per t (x4): IFNet", lambda: net.ifnet(f0.half, f1.half, t.to(dtype)), count)
        pick = torch.arange(2, device=device).repeat_interleave(count)
        factors = torch.cat((t.flatten(), 1 - t.flatten())).view(-1, 1, 1, 1)

        def splats() -> None:
            for flow, weighted in zip(pair.flows, pair.weighted, strict=True):
                splat_weighted(weighted, flow[pick] * factors, pick)

        timed("per t (x4): softmax splats (3 levels x 2 frames)", splats, count)
        h, w = f0.half.shape[-2:]
        gridnet_inputs = [torch.rand(count, c, h // s, w // s, device=device, dtype=dtype).contiguous(
            memory_format=torch.channels_last) for c, s in ((6, 1), (64, 1), (128, 2), (192, 4), (3, 1))]
        timed("per t (x4): GridNet", lambda: net.fusionnet.synnet(*gridnet_inputs), count)
        timed("per t (x4): synthesize total", lambda: net.synthesize(f0, f1, pair, TIMESTEPS), count)
        timed("per t (x1): synthesize total", lambda: net.synthesize(f0, f1, pair, [0.5]))
    return {label: min(values) for label, values in timings.items()}  # best wall time, with its CPU time


def run_worker(args: list[str]) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", default="270,540,720", help="comma-separated rows from 270, 540, 720")
    parser.add_argument("--backends", default="flow,rife,gmfss_union")
    parser.add_argument("--stages", action="store_true", help="also time gmfss_union's stages at 960x576")
    parser.add_argument("--time-maps", action="store_true",
                        help="time per-pixel time maps against scalar timesteps instead (issue #13)")
    parser.add_argument("--map-worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=3, metavar=("BACKEND", "ROWS", "REPS"), help=argparse.SUPPRESS)
    parser.add_argument("--stage-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        name, rows, reps = args.worker
        print(json.dumps(worker(name, int(rows), int(reps), args.device)))
        return 0
    if args.map_worker:
        name, rows, reps = args.map_worker
        print(json.dumps(map_worker(name, int(rows), int(reps), args.device)))
        return 0
    if args.stage_worker:
        print(json.dumps(stage_timings(args.device)))
        return 0

    from stsr.interpolators import available_backends

    registered = available_backends()
    backends = [name for name in args.backends.split(",") if name in registered]
    sizes = [int(size) for size in args.sizes.split(",")]
    started = time.perf_counter()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other processes share the cores: wall times grow, "
          "CPU times less so)\n")
    if args.time_maps:
        print_time_map_table(backends, sizes, args.device)
        print(f"\n(total {time.perf_counter() - started:.0f} s, load average at end {os.getloadavg()[0]:.2f})")
        return 0
    print("| backend | size | prepare ms | 1 t ms | per t ms (x4) | peak MB | reps |")
    print("|---|---|---:|---:|---:|---:|---:|")
    described = {}
    for name in backends:
        for rows in sizes:
            row = run_worker(["--worker", name, str(rows), str(REPS[rows]), "--device", args.device])
            if "error" in row:
                print(f"| {name} | {rows}p | error: {row['error']} | | | | |", flush=True)
                continue
            described[name] = row["describe"]
            cells = " | ".join(f"{row[f'{label}_ms']:.0f} ({row[f'{label}_cpu_ms']:.0f})"
                               for label in ("prepare", "single", "per_t"))
            print(f"| {name} | {row['width']}x{row['height']} | {cells} | {row['peak_mb']:.0f} | {row['reps']} |",
                  flush=True)
    print("\nTimes are wall-clock ms, best of the reps; in brackets the process CPU time divided by the torch "
          "thread count (what wall time would be on otherwise idle cores).\n")
    for name, text in described.items():
        print(f"- {name}: {text}")
    if args.stages:
        stages = run_worker(["--stage-worker", "--device", args.device])
        print("\n| gmfss_union stage at 960x576 | ms | cpu ms / threads |\n|---|---:|---:|")
        for label, (wall, cpu) in stages.items():
            print(f"| {label} | {wall:.0f} | {cpu:.0f} |")
    print(f"\n(total {time.perf_counter() - started:.0f} s, load average at end {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
