"""GPU check: CUDA float16 against CPU float32, and speed/memory of gmfss_union and rife at 540p-1080p.

Two steps, because the CUDA machine has PyTorch, numpy and OpenCV but no PyAV, no
stsr install, no weights and no internet:

1. **Prepare**, here (stsr installed, weights fetched; ~2 min on 2 CPU cores)::

       .venv/bin/python benchmarks/gpu_check.py --prepare

   writes ``benchmarks/results/gpu_check/`` (git-ignored, ~27 MB): ``weights/`` (a
   float16 copy of the vanillagan model, as ``stsr weights export-fp16`` makes it)
   and ``reference.npz`` (two 960x540 test frames and the float32 CPU outputs of both
   backends at t = 0.25 and 0.5, computed from those same float16 weights, 8-bit).

2. **Run**, on the CUDA machine, from a copy of the repository with that folder in it::

       python benchmarks/gpu_check.py            # < 8 minutes; --budget S to bound it

   It loads ``core/`` from the repository as ``stsr`` (no install needed), checks the
   CUDA float16 outputs against ``reference.npz`` (PASS at >= 40 dB PSNR), then prints
   ms per prepare and per timestep and peak GPU memory at 540p, 720p and 1080p for
   eager, ``torch.compile`` and ``torch.compile`` with CUDA graphs (``reduce-overhead``),
   and the output fps the converter would reach at 59.94 from 23.976 (see the table's notes).

``--device cpu --quick`` is a dry run of step 2 on the CPU (270p, one repetition, eager
only unless ``--compile``): it proves the script runs, not how fast a GPU is.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "benchmarks" / "results" / "gpu_check"
SIZES = {270: (480, 270), 540: (960, 540), 720: (1280, 720), 1080: (1920, 1080)}
CHECK_TIMESTEPS = (0.25, 0.5)
TIMESTEPS = (0.2, 0.4, 0.6, 0.8)
BACKENDS = ("gmfss_union", "rife")
MIN_PSNR = 40.0
SOURCE_RATE, OUTPUT_RATE = 24000 / 1001, 60000 / 1001


def import_stsr() -> Any:
    """The installed ``stsr``, else this repository's ``core/`` loaded under that name."""
    try:
        import stsr
    except ImportError:
        core = REPO / "core"
        spec = importlib.util.spec_from_file_location("stsr", core / "__init__.py",
                                                      submodule_search_locations=[str(core)])  # fmt: skip
        assert spec is not None and spec.loader is not None
        stsr = importlib.util.module_from_spec(spec)
        sys.modules["stsr"] = stsr
        spec.loader.exec_module(stsr)
    return stsr


def synthetic_frames(count: int, width: int, height: int) -> list[torch.Tensor]:
    """Anime-like frames (as in bench_interpolators): a gradient, outlined discs moving at different speeds."""
    import cv2

    rng = np.random.default_rng(0)
    discs = [(rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.03, 0.12) * height,
              rng.uniform(-0.02, 0.02) * width, rng.uniform(-0.01, 0.01) * height, rng.random(3))
             for _ in range(12)]  # fmt: skip
    ramp = np.linspace(0.55, 0.95, height, dtype=np.float32)[:, None, None]
    frames = []
    for index in range(count):
        image = np.ascontiguousarray(np.broadcast_to(ramp * np.array([0.8, 0.9, 1.0], np.float32), (height, width, 3)))
        for x, y, radius, vx, vy, colour in discs:
            centre = (int(x + vx * index), int(y + vy * index))
            cv2.circle(image, centre, int(radius), colour.tolist(), -1, cv2.LINE_AA)
            cv2.circle(image, centre, int(radius), (0.1, 0.08, 0.12), max(1, height // 200), cv2.LINE_AA)
        frames.append(torch.from_numpy(image).permute(2, 0, 1).contiguous())
    return frames


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    return (frames.float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = (a.float() - b.float()).square().mean().item()
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


# --------------------------------------------------------------------------- step 1: prepare


def prepare(data: Path) -> None:
    stsr = import_stsr()
    from stsr import weights
    from stsr.interpolators import create_backend

    weights.fetch(quiet=True)
    files = weights.export_fp16(data / "weights")
    size = sum(path.stat().st_size for path in files)
    print(f"float16 weights: {size / 1e6:.1f} MB in {data / 'weights'}")
    frames = synthetic_frames(2, *SIZES[540])
    arrays: dict[str, np.ndarray] = {"frames": to_uint8(torch.stack(frames))}
    inputs = [torch.from_numpy(frame).float() / 255 for frame in arrays["frames"]]  # exactly what the check reads
    for name in BACKENDS:
        started = time.perf_counter()
        # float32 throughout: gmfss_union would otherwise run parts in bfloat16 on a CPU with native bf16
        exact = {"precision": "fp32"} if name == "gmfss_union" else {}
        backend = create_backend(name, device="cpu", weights_dir=str(data / "weights"), exact_endpoints=False,
                                 **exact)  # fmt: skip
        outputs = torch.stack(backend.prepare(*inputs).frames_at(list(CHECK_TIMESTEPS)))
        arrays[name] = to_uint8(outputs)
        print(f"{name}: CPU float32 reference in {time.perf_counter() - started:.0f} s ({backend.describe()})")
    np.savez_compressed(data / "reference.npz", **arrays)
    print(f"wrote {data / 'reference.npz'} ({(data / 'reference.npz').stat().st_size / 1e6:.1f} MB) "
          f"with stsr {stsr.__version__}")


# --------------------------------------------------------------------------- step 2: run


def check_outputs(data: Path, device: torch.device) -> bool:
    from stsr.interpolators import create_backend

    reference = np.load(data / "reference.npz")
    inputs = [torch.from_numpy(frame).float() / 255 for frame in reference["frames"]]
    ok = True
    print("\n| backend | t | PSNR vs CPU float32 (dB) | result |\n|---|---|---:|---|")
    for name in BACKENDS:
        backend = create_backend(name, device=device, weights_dir=str(data / "weights"), exact_endpoints=False)
        with torch.inference_mode():
            outputs = backend.prepare(*inputs).frames_at(list(CHECK_TIMESTEPS))
        for t, out, expected in zip(CHECK_TIMESTEPS, outputs, reference[name], strict=True):
            score = psnr(out.cpu(), torch.from_numpy(expected).float() / 255)
            ok &= score >= MIN_PSNR
            print(f"| {name} | {t} | {score:.1f} | {'PASS' if score >= MIN_PSNR else 'FAIL'} |", flush=True)
        del backend
    return ok


def time_cell(name: str, rows: int, mode: str, device: torch.device, data: Path, reps: int) -> dict[str, Any]:
    """One backend at one size and compile mode: ms per prepare / per t, peak MB, first-call seconds."""
    from stsr.interpolators import create_backend
    from stsr.interpolators.tensors import COMPILE_FALLBACKS

    COMPILE_FALLBACKS.clear()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    backend = create_backend(name, device=device, weights_dir=str(data / "weights"), compile=mode)
    frames = [frame.to(device) for frame in synthetic_frames(reps + 2, *SIZES[rows])]
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        baseline = torch.cuda.memory_allocated(device)
    sync()
    started = time.perf_counter()
    backend.prepare(frames[0], frames[1]).frames_at(TIMESTEPS)  # warm-up (and compilation)
    backend.prepare(frames[1], frames[2]).frames_at([0.5])
    sync()
    first = time.perf_counter() - started
    best = {"prepare": math.inf, "t": math.inf, "single": math.inf}
    for index in range(1, reps + 1):
        sync()
        clock = time.perf_counter()
        pair = backend.prepare(frames[index], frames[index + 1])
        sync()
        best["prepare"] = min(best["prepare"], time.perf_counter() - clock)
        clock = time.perf_counter()
        pair.frames_at(TIMESTEPS)
        sync()
        best["t"] = min(best["t"], (time.perf_counter() - clock) / len(TIMESTEPS))
        clock = time.perf_counter()
        pair.frames_at([0.5])
        sync()
        best["single"] = min(best["single"], time.perf_counter() - clock)
    peak = (torch.cuda.max_memory_allocated(device) - baseline) / 2**20 if device.type == "cuda" else math.nan
    return {**{f"{key}_ms": 1000 * value for key, value in best.items()}, "peak_mb": peak, "first_s": first,
            "fallbacks": sorted(set(COMPILE_FALLBACKS))}  # fmt: skip


def output_fps(prepare_ms: float, t_ms: float, drawings_per_second: float) -> float:
    """Converter output fps at 59.94 from 23.976: one prepare per drawing pair, the in-betweens per pair.

    On twos (11.988 drawings/s) each pair yields 5 output frames, 1 of them a drawing
    itself (no network); on ones (23.976/s) 2.5 outputs, 0.5 of them drawings.
    """
    outputs_per_pair = OUTPUT_RATE / drawings_per_second
    interpolated = outputs_per_pair * (1 - drawings_per_second / OUTPUT_RATE)
    return outputs_per_pair / ((prepare_ms + interpolated * t_ms) / 1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help="step 1: write the weights and reference.npz")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the prepared folder (default {DATA})")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu for a dry run")
    parser.add_argument("--quick", action="store_true", help="dry run: 270p only, one repetition")
    parser.add_argument("--compile", action="store_true", help="with --quick: also try the torch.compile modes")
    parser.add_argument("--budget", type=float, default=360.0, help="seconds; later table cells are skipped past it")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.data)
        return 0
    if not (args.data / "reference.npz").is_file():
        print(f"{args.data / 'reference.npz'} is missing: run step 1 (--prepare) on a machine with stsr and the "
              "weights, and copy the folder along", file=sys.stderr)
        return 2
    started = time.perf_counter()
    import_stsr()
    from stsr.device import resolve_device

    device = resolve_device(args.device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        print(f"device: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    else:
        print(f"device: CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads) - a dry run, not a GPU figure")
    ok = check_outputs(args.data, device)
    sizes = (270,) if args.quick else (540, 720, 1080)
    reps = 1 if args.quick else 3
    modes = ["none"]
    if device.type == "cuda" or args.compile:
        modes += ["default"] + (["reduce-overhead"] if device.type == "cuda" else [])
    print("\n| backend | size | compile | prepare ms | per t ms (x4) | 1 t ms | peak GPU MB | first calls s "
          "| fps twos | fps ones |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode in modes:
        for name in BACKENDS:
            for rows in sizes:
                width, height = SIZES[rows]
                if time.perf_counter() - started > args.budget:
                    print(f"| {name} | {width}x{height} | {mode} | skipped: over the {args.budget:.0f} s budget "
                          "| | | | | | |", flush=True)
                    continue
                try:
                    cell = time_cell(name, rows, mode, device, args.data, reps)
                except Exception as error:  # one failed cell (e.g. out of memory) must not end the check
                    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:80]
                    print(f"| {name} | {width}x{height} | {mode} | error: {reason} | | | | | | |", flush=True)
                    continue
                finally:
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                twos = output_fps(cell["prepare_ms"], cell["t_ms"], SOURCE_RATE / 2)
                ones = output_fps(cell["prepare_ms"], cell["t_ms"], SOURCE_RATE)
                label = mode + (f" (eager fallback: {', '.join(cell['fallbacks'])})" if cell["fallbacks"] else "")
                print(f"| {name} | {width}x{height} | {label} | {cell['prepare_ms']:.1f} | {cell['t_ms']:.1f} | "
                      f"{cell['single_ms']:.1f} | {cell['peak_mb']:.0f} | {cell['first_s']:.1f} | {twos:.1f} | "
                      f"{ones:.1f} |", flush=True)
    print(f"\nprepare: one new frame's features plus the pair's flow (the other frame cached); per t: one timestep "
          f"of a batch of {len(TIMESTEPS)}; best of {reps}. fps twos/ones: output frames per second of the converter "
          "at 59.94 from 23.976 on twos (5 outputs per drawing pair, 4 interpolated) and on ones (2.5 per pair, "
          "2 interpolated), from these times alone (decode, encode and the schedule not counted: they run in "
          "their own threads). Real-time playback at 59.94 needs fps >= 59.94 on the content being played.")
    print(f"outputs {'PASS' if ok else 'FAIL'} (>= {MIN_PSNR:.0f} dB); total {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
