"""Where gmfss_union's time goes: per stage ms, GFLOP, GFLOP/s, against this machine's own ceilings.

Usage: ``.venv/bin/python -m benchmarks.bench_stages [--size 960x540] [--reps 2] [--reference CORE_DIR]``
       ``.venv/bin/python -m benchmarks.bench_stages --reference CORE_DIR --convert SECONDS [--reps 1]``

One stream step is run the way the interpolator runs it (two frames encoded, one pair
prepared, four timesteps synthesised in one batch) and every stage is timed by
wrapping the model's own modules and functions, so nothing here re-implements the
network. GFLOP come from ``torch.utils.flop_counter.FlopCounterMode`` in a separate
pass (the counter slows what it counts); operations it does not count (splats, warps,
interpolations, norms) show as ``-``: those stages are memory-bound, not FLOP-bound.

``--reference`` loads a second copy of the code (a ``core/`` folder, e.g. from
``git archive <commit> core | tar -x -C /tmp/main-ref``) as package ``stsr_ref`` and
runs it alternately with the current one in this process, so both see the same load.

The ceilings are measured in the same run: a 2048x2048 float32 matmul, and a 64-channel
3x3 convolution at 480x272 (best of NCHW and channels_last). Matmul-shaped stages
(transformer, matching, propagation) are compared with the first, convolutional ones
with the second.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count, sdpa_flop_count

TIMESTEPS = (0.2, 0.4, 0.6, 0.8)
#: what the stage times are read from; ``--clock cpu`` switches to process CPU time (see main)
CLOCK = {"now": time.perf_counter}
#: (label, per, ceiling kind): the table's rows in pipeline order
STAGES = (
    ("feature pyramid", "frame", "conv"),
    ("GMFlow backbone", "frame", "conv"),
    ("transformer 1/8", "pair", "matmul"),
    ("global matching", "pair", "matmul"),
    ("flow propagation", "pair", "matmul"),
    ("transformer 1/4", "pair", "matmul"),
    ("local matching", "pair", "matmul"),
    ("convex upsampling", "pair", "conv"),
    ("MetricNet", "pair", "conv"),
    ("pair: rest", "pair", "-"),
    ("IFNet", "t", "conv"),
    ("splat level 1 (1/2)", "t", "-"),
    ("splat level 2 (1/4)", "t", "-"),
    ("splat level 3 (1/8)", "t", "-"),
    ("GridNet", "t", "conv"),
    ("t: rest", "t", "-"),
)


def load_package(core: Path, name: str = "stsr_ref") -> Any:
    """Import a copy of a ``core/`` folder as package ``name`` (core uses only relative imports)."""
    spec = importlib.util.spec_from_file_location(name, core / "__init__.py", submodule_search_locations=[str(core)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- ceilings


def _best_seconds(fn: Callable[[], Any], reps: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        started = CLOCK["now"]()
        fn()
        best = min(best, CLOCK["now"]() - started)
    return best


def ceilings(dtype: torch.dtype = torch.float32) -> dict[str, float]:
    """GFLOP/s of a big matmul and of a typical convolution in ``dtype`` on this machine, now."""
    with torch.inference_mode():
        a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
        matmul = 2 * 2048**3 / _best_seconds(lambda: a @ b) / 1e9
        conv = torch.nn.Conv2d(64, 64, 3, 1, 1).eval().to(dtype)
        x = torch.randn(1, 64, 272, 480, dtype=dtype)
        flops = 2 * 64 * 64 * 9 * 272 * 480
        nchw = flops / _best_seconds(lambda: conv(x)) / 1e9
        conv_cl = conv.to(memory_format=torch.channels_last)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        nhwc = flops / _best_seconds(lambda: conv_cl(x_cl)) / 1e9
    return {"matmul": matmul, "conv": max(nchw, nhwc)}


#: stage label -> the backend's ``bf16_stages`` name that puts it in bfloat16
BF16_STAGE_OF = {"feature pyramid": "pyramid", "GMFlow backbone": "backbone", "transformer 1/8": "transformer",
                 "transformer 1/4": "transformer", "MetricNet": "metricnet", "IFNet": "ifnet", "GridNet": "gridnet",
                 "convex upsampling": "upsampler"}


# --------------------------------------------------------------------------- instrumentation


def _cpu_flash_attention_flops(query_shape: Any, key_shape: Any, value_shape: Any, *_: Any, **__: Any) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _fused_linear_flops(input_shape: Any, weight_shape: Any, *_: Any, **__: Any) -> int:
    return 2 * math.prod(input_shape[:-1]) * weight_shape[0] * weight_shape[1]


def _fused_conv_flops(x_shape: Any, w_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    return conv_flop_count(list(x_shape), list(w_shape), list(out_shape), transposed=False)


#: the counter knows the CUDA attention kernels but not the CPU one that SDPA dispatches to here, nor
#: oneDNN's fused linear+GELU and conv+PReLU (their FLOPs are the linear's and the conv's)
_EXTRA_FLOPS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_flash_attention_flops}
if hasattr(torch.ops.mkldnn, "_linear_pointwise"):
    _EXTRA_FLOPS[torch.ops.mkldnn._linear_pointwise] = _fused_linear_flops
if hasattr(torch.ops.mkldnn, "_convolution_pointwise"):
    _EXTRA_FLOPS[torch.ops.mkldnn._convolution_pointwise] = _fused_conv_flops


def flop_counter() -> FlopCounterMode:
    return FlopCounterMode(display=False, custom_mapping=_EXTRA_FLOPS)


class Recorder:
    """Accumulates seconds (or FLOPs, in counting mode) per stage label."""

    def __init__(self, count_flops: bool) -> None:
        self.count_flops = count_flops
        self.totals: dict[str, float] = {}
        self.active = False

    @contextmanager
    def stage(self, label: str) -> Iterator[None]:
        if self.active:  # a stage inside a stage (e.g. a patched helper called by another) counts once
            yield
            return
        self.active = True
        try:
            if self.count_flops:
                with flop_counter() as counter:
                    yield
                amount = float(counter.get_total_flops())
            else:
                started = CLOCK["now"]()
                yield
                amount = CLOCK["now"]() - started
        finally:
            self.active = False
        self.totals[label] = self.totals.get(label, 0.0) + amount


def _wrap_callable(recorder: Recorder, label: Callable[[], str] | str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with recorder.stage(label() if callable(label) else label):
            return fn(*args, **kwargs)

    return wrapped


@contextmanager
def instrumented(package: str, net: Any, recorder: Recorder) -> Iterator[None]:
    """Patch the stage boundaries of ``net`` (a GMFSSUnion of ``package``) to report to ``recorder``."""
    gmflow = importlib.import_module(f"{package}.archs.gmfss_union.gmflow")
    model = importlib.import_module(f"{package}.archs.gmfss_union.model")
    restore: list[tuple[Any, str, Any, bool]] = []

    def patch(owner: Any, name: str, label: Callable[[], str] | str) -> None:
        if not hasattr(owner, name):
            return
        own = name in vars(owner)
        original = getattr(owner, name)
        restore.append((owner, name, original, own))
        setattr(owner, name, _wrap_callable(recorder, label, original))

    flownet = net.flownet
    calls = {"transformer": 0, "splat": 0}

    def transformer_label() -> str:
        calls["transformer"] += 1
        return "transformer 1/8" if calls["transformer"] % 2 == 1 else "transformer 1/4"

    def splat_label() -> str:
        calls["splat"] += 1
        level = (calls["splat"] - 1) % 3 + 1
        return f"splat level {level} ({('1/2', '1/4', '1/8')[level - 1]})"

    patch(net.fusionnet.feat_ext, "forward", "feature pyramid")
    patch(flownet.backbone, "forward", "GMFlow backbone")
    patch(flownet.transformer, "forward", transformer_label)
    patch(gmflow, "global_matching", "global matching")
    patch(gmflow, "local_matching", "local matching")
    patch(flownet.feature_flow_attn, "global_attention", "flow propagation")
    patch(flownet.feature_flow_attn, "local_attention", "flow propagation")
    patch(flownet, "convex_upsample", "convex upsampling")
    patch(net.metricnet, "forward", "MetricNet")
    patch(net.ifnet, "forward", "IFNet")
    patch(model, "softmax_splat", splat_label)  # the code before issue #15
    patch(model, "splat_weighted", splat_label)
    patch(net.fusionnet.synnet, "forward", "GridNet")
    try:
        yield
    finally:
        for owner, name, original, own in reversed(restore):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)


def one_step(backend: Any, frames: list[torch.Tensor], recorder: Recorder) -> dict[str, float]:
    """Encode two frames, prepare their pair, synthesise :data:`TIMESTEPS`; stage totals + whole phases."""
    net = backend.net
    image0, image1 = (backend_image(backend, frame) for frame in frames)
    whole: dict[str, float] = {}

    def phase(label: str, fn: Callable[[], Any]) -> Any:
        if recorder.count_flops:
            with flop_counter() as counter:
                result = fn()
            whole[label] = float(counter.get_total_flops())
        else:
            started = CLOCK["now"]()
            result = fn()
            whole[label] = CLOCK["now"]() - started
        return result

    with torch.inference_mode():
        features0 = phase("frame", lambda: net.encode_frame(image0))
        features1 = net.encode_frame(image1)
        pair = phase("pair", lambda: net.prepare_pair(features0, features1))
        phase("t", lambda: net.synthesize(features0, features1, pair, list(TIMESTEPS)))
    return whole


def backend_image(backend: Any, frame: torch.Tensor) -> torch.Tensor:
    tensors = importlib.import_module(type(backend).__module__.rsplit(".", 1)[0] + ".tensors")
    return tensors.to_padded_batch(frame, backend.alignment, backend.device, backend.dtype)


class Measurement:
    """One implementation's FLOP counts and best times; :meth:`time_once` is called alternately with others."""

    def __init__(self, package: str, backend: Any, frames: list[torch.Tensor]) -> None:
        self.package, self.backend, self.frames = package, backend, frames
        self.flops = Recorder(count_flops=True)
        with instrumented(package, backend.net, self.flops):
            self.whole_flops = one_step(backend, frames, self.flops)
        self.best: dict[str, float] = {}
        self.best_whole: dict[str, float] = {}

    def time_once(self) -> None:
        timer = Recorder(count_flops=False)
        with instrumented(self.package, self.backend.net, timer):
            whole = one_step(self.backend, self.frames, timer)
        for label, seconds in timer.totals.items():
            self.best[label] = min(self.best.get(label, float("inf")), seconds)
        for label, seconds in whole.items():
            self.best_whole[label] = min(self.best_whole.get(label, float("inf")), seconds)

    def rows(self) -> dict[str, tuple[float, float]]:
        """``{stage: (ms per unit, GFLOP per unit)}``; units are a frame, a pair, or one timestep."""
        # The frame stages ran for two frames; the pair phase once; the t phase for len(TIMESTEPS).
        divide = {"frame": 2, "pair": 1, "t": len(TIMESTEPS)}
        rows: dict[str, tuple[float, float]] = {}
        for label, per, _kind in STAGES:
            if not label.endswith("rest"):
                rows[label] = (1000 * self.best.get(label, 0.0) / divide[per],
                               self.flops.totals.get(label, 0.0) / 1e9 / divide[per])  # fmt: skip
        for per in ("pair", "t"):
            staged = [rows[label] for label, p, _k in STAGES if p == per and not label.endswith("rest")]
            scale = len(TIMESTEPS) if per == "t" else 1
            total_ms = 1000 * self.best_whole[per] / scale
            total_gf = self.whole_flops[per] / 1e9 / scale
            rows[f"{per}: rest"] = (total_ms - sum(ms for ms, _ in staged), total_gf - sum(gf for _, gf in staged))
            rows[f"total per {per}"] = (total_ms, total_gf)
        rows["total per frame"] = (1000 * self.best_whole["frame"], self.whole_flops["frame"] / 1e9)
        return rows


def convert_once(package: str, source: Path, output: Path) -> dict[str, float]:
    """One conversion by ``package`` (``stsr`` or an already loaded ``stsr_ref``): frames, wall s, CPU s."""
    engine = importlib.import_module(f"{package}.engine")
    options = engine.ConvertOptions(backend="gmfss_union", device="cpu", schedule="cadence", overwrite=True)
    started, cpu = time.perf_counter(), time.process_time()
    result = engine.convert(source, output, options)
    return {"frames": result.frames, "wall": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def convert_side_by_side(width: int, height: int, seconds: float, rounds: int, reference: Path) -> None:
    """The converter end to end (decode, cadence, gmfss_union, encode) on the README sample, old and new alternating.

    Each conversion runs in a process of its own: settings that are process-wide (the
    allocator's, see ``stsr.interpolators.allocator``; torch's thread pools) are then each
    implementation's own, as they are when it runs alone.
    """
    import subprocess
    import tempfile

    from stsr.eval.sample import make_sample

    names = ("reference", "current")
    best: dict[str, float] = {}
    best_cpu: dict[str, float] = {}
    frames: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        source = make_sample(Path(folder) / "sample.mp4", width, height, seconds)
        for _ in range(rounds):
            for name in names:
                command = [sys.executable, "-m", "benchmarks.bench_stages", "--convert-one", name,
                           "--reference", str(reference), "--source", str(source),
                           "--output", str(Path(folder) / f"out_{name}.mp4")]  # fmt: skip
                finished = subprocess.run(command, check=True, capture_output=True, text=True)
                result = json.loads(finished.stdout.strip().splitlines()[-1])
                best[name] = min(best.get(name, float("inf")), result["wall"])
                best_cpu[name] = min(best_cpu.get(name, float("inf")), result["cpu"])
                frames[name] = int(result["frames"])
                print(f"  {name}: {frames[name]} frames in {result['wall']:.1f} s, {result['cpu']:.1f} CPU s "
                      f"(load average {os.getloadavg()[0]:.2f})", flush=True)
    print(f"\n| converter, {width}x{height}, README sample ({seconds:g} s), cadence, gmfss_union, CPU "
          "| output frames | wall s (best) | output fps | CPU s (best) | output frames per CPU s |"
          "\n|---|---:|---:|---:|---:|---:|")
    for name in names:
        print(f"| {name} | {frames[name]} | {best[name]:.1f} | {frames[name] / best[name]:.3f} | "
              f"{best_cpu[name]:.1f} | {frames[name] / best_cpu[name]:.3f} |")
    print(f"speed-up: {best['reference'] / best['current']:.2f}x wall, "
          f"{best_cpu['reference'] / best_cpu['current']:.2f}x CPU time "
          f"(same frames: {frames['reference'] == frames['current']}). CPU time is the fairer figure when "
          "other jobs share the cores: wall time also counts the time they take.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="960x540", help="WIDTHxHEIGHT of the input frames")
    parser.add_argument("--reps", type=int, default=2, help="timed rounds after the first (best of all is kept)")
    parser.add_argument("--reference", type=Path, help="core/ folder of the code to compare with (e.g. main)")
    parser.add_argument("--convert", type=float, metavar="SECONDS",
                        help="instead: time the whole converter on a SECONDS-long README sample, reference and "
                             "current alternating (needs --reference)")  # fmt: skip
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: stage times in process CPU seconds divided by the torch threads (fairer "
                             "than wall time when other jobs share the cores)")  # fmt: skip
    parser.add_argument("--convert-one", choices=("reference", "current"), help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.convert_one is not None:  # one conversion of convert_side_by_side, in its own process
        if args.convert_one == "reference":
            load_package(args.reference.resolve())
        package = "stsr_ref" if args.convert_one == "reference" else "stsr"
        print(json.dumps(convert_once(package, args.source, args.output)))
        return 0
    width, height = (int(v) for v in args.size.lower().split("x"))
    if args.clock == "cpu":
        threads = torch.get_num_threads()
        CLOCK["now"] = lambda: time.process_time() / threads
    if args.convert is not None:
        if args.reference is None:
            parser.error("--convert needs --reference")
        print(f"load average at start {os.getloadavg()[0]:.2f}; {torch.get_num_threads()} torch threads")
        convert_side_by_side(width, height, args.convert, args.reps, args.reference.resolve())
        return 0

    from benchmarks.bench_interpolators import synthetic_frames
    from stsr.interpolators import create_backend

    implementations: dict[str, Any] = {"current": create_backend("gmfss_union", device="cpu")}
    if args.reference is not None:
        load_package(args.reference.resolve())
        reference = importlib.import_module("stsr_ref.interpolators")
        implementations = {"reference": reference.create_backend("gmfss_union", device="cpu"), **implementations}
    packages = {"current": "stsr", "reference": "stsr_ref"}
    frames = synthetic_frames(2, width, height)
    print(f"gmfss_union stages at {width}x{height} (padded to the model's alignment), "
          f"{torch.get_num_threads()} threads; load average at start {os.getloadavg()[0]:.2f}")
    for name, backend in implementations.items():
        print(f"  {name}: {backend.describe()}")
    started = time.perf_counter()
    measurements = {name: Measurement(packages[name], backend, frames) for name, backend in implementations.items()}
    bf16 = any(getattr(backend, "bf16_stages", ()) for backend in implementations.values())
    dtypes = (torch.float32, torch.bfloat16) if bf16 else (torch.float32,)
    limit = {(kind, dtype): 0.0 for kind in ("matmul", "conv") for dtype in dtypes}
    for _ in range(args.reps + 1):  # implementations alternate (same load for both); best is kept
        for dtype in dtypes:
            for kind, value in ceilings(dtype).items():
                limit[kind, dtype] = max(limit[kind, dtype], value)
        for measurement in measurements.values():
            measurement.time_once()
    results = {name: measurement.rows() for name, measurement in measurements.items()}

    names = list(results)
    header = " | ".join(f"{name} ms | GFLOP | GFLOP/s | of ceiling" for name in names)
    print(f"\n| stage | per | {header} |")
    print("|---|---|" + "---:|---:|---:|---:|" * len(names))
    labels = [label for label, _, _ in STAGES]
    kinds = {label: kind for label, _, kind in STAGES}
    pers = {label: per for label, per, _ in STAGES}
    for label in [*labels[:2], "total per frame", *labels[2:10], "total per pair", *labels[10:], "total per t"]:
        cells = []
        for name in names:
            ms, gflop = results[name][label]
            rate = gflop / (ms / 1000) if ms > 0 and gflop > 0.01 else 0.0
            kind = kinds.get(label, "-")
            in_bf16 = BF16_STAGE_OF.get(label) in getattr(implementations[name], "bf16_stages", ())
            ceiling = limit.get((kind, torch.bfloat16 if in_bf16 else torch.float32))
            share = f"{100 * rate / ceiling:.0f} %{' bf16' if in_bf16 else ''}" if rate and ceiling else "-"
            cells.append(f"{ms:.0f} | {gflop:.1f} | {rate:.0f} | {share}" if gflop > 0.01 else f"{ms:.0f} | - | - | -")
        per = pers.get(label, label.rsplit(" ", 1)[-1])
        name = f"**{label}**" if label.startswith("total") else label
        print(f"| {name} | {per} | {' | '.join(cells)} |")
    for dtype in dtypes:
        print(f"\n{str(dtype).removeprefix('torch.')} ceilings (best of {args.reps + 1} rounds, measured between the "
              f"stage runs): matmul 2048^2 {limit['matmul', dtype]:.0f} GFLOP/s, conv 64ch 3x3 at 480x272 "
              f"{limit['conv', dtype]:.0f} GFLOP/s", end="")
    print("\n'of ceiling' compares each stage with the ceiling of its own precision (bf16: the stage runs in "
          "bfloat16).")
    clock = "wall-clock" if args.clock == "wall" else "process CPU time / torch threads"
    print(f"ms are {clock}, best of {args.reps + 1} rounds (implementations alternate); "
          f"'per t' rows are per timestep of a batch of {len(TIMESTEPS)}. "
          f"Total {time.perf_counter() - started:.0f} s, load average at end {os.getloadavg()[0]:.2f}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
