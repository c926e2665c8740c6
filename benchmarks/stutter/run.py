"""Run the stutter benchmark: scenes x methods -> a markdown table and step plots.

    .venv/bin/python -m benchmarks.stutter                      # oracle, flow, ffmpeg on every scene
    .venv/bin/python -m benchmarks.stutter --backends gmfss_union --scenes ones,twos_threes
    .venv/bin/python -m benchmarks.stutter --table-only         # rebuild table and plots from stored runs

Every run stores one JSON per (scene, method) under ``RESULTS/raw/``; the table and
plots are built from everything stored, so a slow backend can be run on its own
later and joins the same table. Source clips are encoded with H.264 (what users
have), outputs are written losslessly (FFV1) and decoded again before measuring.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from stsr.engine import ConvertOptions, convert, frame_to_tensor, silence_library_logs, tag_cuts, tensor_to_frame
from stsr.eval.synthetic import Scene
from stsr.interpolators import Interpolator, available_backends, create_backend
from stsr.io.encode import choose_settings
from stsr.io.video import VideoWriter, decode
from stsr.schedules import SCHEDULES, SourceFrame

from .methods import OUTPUT_RATE, Produced, ffmpeg_filter_available, run_ffmpeg, run_schedule
from .metrics import Score, measure_oracle, measure_pictures, score
from .oracle import OracleInterpolator, PoseFrame
from .passes import CountingInterpolator
from .scenes import SCENES, make_scene

RESULTS = Path(__file__).resolve().parent / "results"
SCHEDULE_ORDER = ["naive", "dupdrop", "reference", "pairs", "pairs+box3", "pairs+box2x3", "cadence", "regional"]
DEFAULT_SCHEDULES = ["naive", "dupdrop", "reference", "pairs", "cadence"]
BACKEND_ORDER = ["oracle", "flow", "rife", "gmfss_union", "ffmpeg"]
FFMPEG_METHODS = ["mci", "blend"]
DEFAULT_BACKENDS = ["oracle", "flow", "ffmpeg"]


def _parse_list(text: str, known: Sequence[str], what: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in items if item not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(known)})")
    return items


def _store(results: Path, scene_name: str, method: str, result: Score, produced: Produced,
           extra: dict[str, Any] | None = None) -> None:
    raw = results / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    frames = max(1, len(produced.frames))
    record = {
        "scene": scene_name,
        "method": method,
        "psnr": result.psnr,
        "seconds_per_frame": produced.seconds / frames,
        "characters": [vars(character) for character in result.characters],
        "fidelity": result.fidelity,
        "frozen_share": result.worst_frozen_share,
        "step_times": [round(float(t), 4) for t in result.step_times],
        "steps": [[None if not math.isfinite(v) else round(float(v), 5) for v in row] for row in result.steps],
        "measured_at": time.strftime("%Y-%m-%d %H:%M"),
        **(extra or {}),
    }
    (raw / f"{scene_name}__{method.replace(':', '_')}.json").write_text(json.dumps(record))


def _print_line(scene_name: str, method: str, result: Score, produced: Produced,
                passes: tuple[float, float] | None = None) -> None:
    characters = "  ".join(f"SI {c.stutter_index:5.2f} held {c.held_fraction:4.0%} lag {c.lag:+5.2f}"
                           for c in result.characters)
    per_frame = produced.seconds / max(1, len(produced.frames))
    cost = f"  passes {passes[0]:.2f}+{passes[1]:.2f}" if passes else ""
    print(f"  {method:22s} {characters}  PSNR {result.psnr:5.2f}  fidelity {result.fidelity:5.1f} dB  "
          f"frozen {result.worst_frozen_share:4.0%}{cost}  {per_frame * 1000:7.1f} ms/frame", flush=True)


def _passes(counter: CountingInterpolator, outputs: int) -> dict[str, float]:
    prepares, inbetweens = counter.count.per_frame(outputs)
    return {"prepares_per_frame": prepares, "inbetweens_per_frame": inbetweens}


def write_source(path: Path, scene: Scene) -> None:
    """The scene's source clip in H.264, at the scene's own CRF when it asks for stronger compression.

    The same bytes on every run: one x264 thread (left to itself it split the work by the machine's
    load), and no macroblock-tree rate control, which even on one thread gave a different stream on
    about one encode in three (robustness seed 1 scene 23: four streams in twelve encodes).
    """
    pictures = source_pictures(scene)
    settings = choose_settings(path, "h264", 8, scene.width, scene.height, crf=scene.crf,
                               encoder_options={"threads": "1", "x264-params": "mbtree=0"})
    writer = VideoWriter(path, scene.rate, scene.width, scene.height, codec=settings)
    try:
        for index, picture in enumerate(pictures):
            writer.write(picture, Fraction(index) / scene.rate)
        writer.close()
    except BaseException:
        writer.abort()
        raise


def source_pictures(scene: Scene) -> list[np.ndarray]:
    return list(scene.source_frames())


def run_oracle(scene: Scene, scene_name: str, schedules: list[str], results: Path) -> None:
    frames = [SourceFrame(n, Fraction(n) / scene.rate, PoseFrame.source(scene, n),
                          scene.cut_at is not None and n == scene.cut_at) for n in range(scene.frames)]
    end = Fraction(scene.frames) / scene.rate
    for schedule in schedules:
        counter = CountingInterpolator(OracleInterpolator())
        produced = run_schedule(frames, counter, schedule, end)
        result = score(scene, measure_oracle(scene, produced.times, produced.frames))
        passes = _passes(counter, len(produced.frames))
        # How far time maps strayed within a layer (0 without maps): what the oracle's median hides.
        passes["worst_tear"] = counter.inner.worst_tear
        _store(results, scene_name, f"oracle:{schedule}", result, produced, passes)
        _print_line(scene_name, f"oracle:{schedule}", result, produced,
                    (passes["prepares_per_frame"], passes["inbetweens_per_frame"]))


def _write_and_decode(produced: Produced, path: Path, width: int, height: int) -> Produced:
    """Write pictures losslessly at their times, decode them again: what a player would show."""
    writer = VideoWriter(path, OUTPUT_RATE, width, height, codec="ffv1")
    try:
        for when, picture in zip(produced.times, produced.frames, strict=True):
            writer.write(picture, when)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return _decoded(path, produced.seconds)


def _decoded(path: Path, seconds: float) -> Produced:
    decoded = list(decode(path))
    return Produced([frame.time for frame in decoded], [frame.rgb for frame in decoded], seconds)


def run_backend(scene: Scene, scene_name: str, source: Path, backend: str, interpolator: Interpolator,
                schedules: list[str], work: Path, results: Path) -> None:
    inner = interpolator
    for schedule in schedules:
        interpolator = CountingInterpolator(inner)  # type: ignore[assignment]
        target = work / f"{scene_name}.{backend}.{schedule}.mkv"
        if schedule in SCHEDULES:
            options = ConvertOptions(fps=OUTPUT_RATE, backend=backend, schedule=schedule, codec="ffv1",
                                     overwrite=True, device="cpu")
            started = time.perf_counter()
            convert(source, target, options, interpolator=interpolator)
            produced = _decoded(target, time.perf_counter() - started)
        else:
            decoded = list(tag_cuts(decode(source), True))
            frames = [SourceFrame(d.index, d.time, frame_to_tensor(d.rgb, interpolator.device), cut)
                      for d, cut in decoded]
            end = decoded[-1][0].time + decoded[-1][0].duration
            import torch

            with torch.inference_mode():
                produced = run_schedule(frames, interpolator, schedule, end, convert=tensor_to_frame)
            produced = _write_and_decode(produced, target, scene.width, scene.height)
        result = score(scene, measure_pictures(scene, produced.times, produced.frames))
        method = f"{backend}:{schedule}"
        passes = _passes(interpolator, len(produced.frames))  # type: ignore[arg-type]
        _store(results, scene_name, method, result, produced, {"backend": inner.describe(), **passes})
        _print_line(scene_name, method, result, produced, tuple(passes.values()))


def run_ffmpeg_methods(scene: Scene, scene_name: str, source: Path, work: Path, results: Path) -> None:
    for method in FFMPEG_METHODS:
        if not ffmpeg_filter_available(method):
            print(f"  ffmpeg:{method}: filter not in this FFmpeg build, skipped")
            continue
        produced = run_ffmpeg(source, method)
        produced = _write_and_decode(produced, work / f"{scene_name}.ffmpeg.{method}.mkv", scene.width, scene.height)
        result = score(scene, measure_pictures(scene, produced.times, produced.frames))
        _store(results, scene_name, f"ffmpeg:{method}", result, produced)
        _print_line(scene_name, f"ffmpeg:{method}", result, produced)


# -- table and plots ---------------------------------------------------------------------------


def load_records(results: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((results / "raw").glob("*.json"))]


def _method_key(method: str) -> tuple[int, int, str]:
    backend, _, schedule = method.partition(":")
    backend_rank = BACKEND_ORDER.index(backend) if backend in BACKEND_ORDER else len(BACKEND_ORDER)
    order = SCHEDULE_ORDER + FFMPEG_METHODS
    return backend_rank, order.index(schedule) if schedule in order else len(order), schedule


def _cell(record: dict[str, Any] | None) -> str:
    if record is None:
        return "–"
    characters = [c for c in record["characters"] if c.get("judged", True)]
    si_values = [c["stutter_index"] for c in characters if math.isfinite(c["stutter_index"])]
    lag_values = [c["lag"] for c in characters if math.isfinite(c["lag"])]
    si = max(si_values) if si_values else float("nan")
    lag = max(lag_values, key=abs) if lag_values else float("nan")
    cell = f"{si:.2f} / {lag:+.2f} / {record['psnr']:.1f}"
    if "fidelity" in record:
        frozen = record["frozen_share"]
        frozen_text = "–" if frozen is None or not math.isfinite(frozen) else f"{frozen:.0%}"
        cell += f" / {record['fidelity']:.1f} / {frozen_text}"
    if "prepares_per_frame" in record:
        cell += f" / {record['prepares_per_frame'] + record['inbetweens_per_frame']:.2f}"
    return cell


def build_table(records: list[dict[str, Any]]) -> str:
    by_key = {(r["scene"], r["method"]): r for r in records}
    methods = sorted({r["method"] for r in records}, key=_method_key)
    scenes = [name for name in SCENES if any(r["scene"] == name for r in records)]
    groups: dict[str, list[str]] = {}
    for method in methods:
        groups.setdefault(method.partition(":")[0], []).append(method)
    lines = [
        "Cells: **SI / lag / PSNR / fidelity / frozen / passes** — stutter index std(step)/mean(step) of the "
        "worst moving character (0 = even motion; untracked layers count only with the oracle), lag in source "
        "frames of the worst character (+ = late, − = early), PSNR (dB) against the truth at each output "
        "frame's presentation time (oracle: capped at 60), drawing-time fidelity (dB: at the first output "
        "frame from each new drawing's time on, against that drawing, changed pixels only), frozen share of "
        "motion (worst moving layer: output steps under a quarter of the true step), model passes per output frame "
        "(pair preparations + in-betweens asked for). Older runs show the first three only.",
        "",
    ]
    for backend, group in groups.items():
        title = {"oracle": "Oracle (perfect interpolator: the schedules' own stutter)",
                 "ffmpeg": "FFmpeg filters"}.get(backend, f"`{backend}` backend")
        lines += [f"### {title}", ""]
        header = "| scene | " + " | ".join(m.partition(":")[2] for m in group) + " |"
        lines += [header, "|" + "---|" * (len(group) + 1)]
        for scene in scenes:
            cells = [_cell(by_key.get((scene, method))) for method in group]
            lines.append(f"| {scene} | " + " | ".join(cells) + " |")
        seconds = []
        for method in group:
            values = [by_key[(s, method)]["seconds_per_frame"] for s in scenes if (s, method) in by_key]
            seconds.append(f"{1000 * float(np.mean(values)):.1f} ms" if values else "–")
        lines.append("| *time per output frame* | " + " | ".join(seconds) + " |")
        lines.append("")
    lines += ["Scenes:", ""] + [f"- `{name}`: {SCENES[name][0]}" for name in scenes] + [""]
    return "\n".join(lines)


#: what the step plots show: (method, colour, line style, width); the real panel uses the best
#: backend measured (gmfss_union, else rife, else flow) and FFmpeg's motion interpolation
PLOT_STYLES = {
    "naive": ("#888888", "--", 1.0),
    "dupdrop": ("#e08a00", "--", 1.0),
    "reference": ("#2e9e3e", "-.", 1.0),
    "pairs": ("#d62728", "-", 1.3),
    "cadence": ("#1f3fbf", "-", 2.0),
    "regional": ("#17becf", "-", 2.0),
    "mci": ("#9467bd", ":", 1.2),
}


def plot_scene(records: list[dict[str, Any]], scene_name: str, target: Path) -> Path | None:
    """Per-frame step of each method over time, one panel per character: the picture of stutter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = {r["method"]: r for r in records if r["scene"] == scene_name}
    if not chosen:
        return None
    real_backend = next((b for b in ("gmfss_union", "rife", "flow")
                         if any(m.startswith(f"{b}:") for m in chosen)), None)
    panels = [("oracle (perfect interpolator)", "oracle")]
    if real_backend:
        panels.append((f"{real_backend} backend", real_backend))
    characters = len(next(iter(chosen.values()))["characters"])
    figure, axes = plt.subplots(characters, len(panels), figsize=(6.0 * len(panels), 2.5 * characters + 0.5),
                                dpi=72, squeeze=False, sharey=True)
    for column, (title, backend) in enumerate(panels):
        for row in range(characters):
            axis = axes[row][column]
            for schedule, (colour, style, width) in PLOT_STYLES.items():
                record = chosen.get(f"{backend}:{schedule}") or (
                    chosen.get(f"ffmpeg:{schedule}") if backend != "oracle" else None)
                if record is None:
                    continue
                steps = np.array([np.nan if s[row] is None else s[row] for s in record["steps"]], dtype=float)
                si = record["characters"][row]["stutter_index"]
                axis.plot(record["step_times"], steps, style, color=colour, linewidth=width,
                          label=f"{record['method'].partition(':')[2]} (SI {si:.2f})")
            axis.axhline(0.4, color="black", linewidth=0.6, alpha=0.5)
            axis.set_title(f"{scene_name}, character {row + 1}: {title}", fontsize=9)
            axis.set_xlabel("presentation time (source frames)", fontsize=8)
            axis.set_ylabel("step per output frame (source frames)", fontsize=8)
            axis.set_ylim(-0.1, 1.5)
            axis.tick_params(labelsize=7)
            axis.legend(fontsize=6.5, loc="upper right", ncol=3)
            axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(target)
    plt.close(figure)
    _shrink_png(target)
    return target


def _shrink_png(path: Path) -> None:
    """Line plots need few colours: a 64-colour palette keeps the PNG small enough to commit."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def write_outputs(results: Path) -> None:
    records = load_records(results)
    if not records:
        print("no stored results")
        return
    table = build_table(records)
    (results / "results.md").write_text("# Stutter benchmark results\n\n" + table)
    for scene_name in SCENES:
        plot_scene(records, scene_name, results / f"steps_{scene_name}.png")
    print(table)
    print(f"table: {results / 'results.md'}; plots: {results}/steps_*.png")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stutter", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", default=",".join(SCENES), help="comma-separated scene names")
    parser.add_argument("--backends", default=",".join(DEFAULT_BACKENDS),
                        help=f"comma-separated: {', '.join(BACKEND_ORDER)} (missing backends are skipped)")
    parser.add_argument("--schedules", default=",".join(DEFAULT_SCHEDULES),
                        help=f"comma-separated, from: {', '.join(SCHEDULE_ORDER)} (the two pairs+box ones are "
                             "experiments, see benchmarks/stutter/experiments.py)")
    parser.add_argument("--size", default="256x144", help="clip size WxH")
    parser.add_argument("--frames", type=int, default=72, help="source frames per clip")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the table, plots and raw runs go")
    parser.add_argument("--table-only", action="store_true", help="only rebuild table and plots from stored runs")
    args = parser.parse_args(argv)
    silence_library_logs()
    if args.table_only:
        write_outputs(args.results)
        return 0
    scenes = _parse_list(args.scenes, list(SCENES), "scene")
    backends = _parse_list(args.backends, BACKEND_ORDER, "backend")
    schedules = _parse_list(args.schedules, [*SCHEDULE_ORDER, *[s for s in SCHEDULES if s not in SCHEDULE_ORDER]],
                            "schedule")
    width, height = (int(v) for v in args.size.lower().split("x"))
    registered = available_backends()
    interpolators: dict[str, Interpolator] = {}
    for backend in backends:
        if backend in ("oracle", "ffmpeg"):
            continue
        if backend not in registered:
            print(f"backend {backend}: not available in this tree, skipped", file=sys.stderr)
            continue
        try:
            interpolators[backend] = create_backend(backend, device="cpu")
        except Exception as error:  # a backend without weights says why in one line
            print(f"backend {backend}: {error}; skipped", file=sys.stderr)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stsr-stutter-") as folder:
        work = Path(folder)
        for scene_name in scenes:
            scene = make_scene(scene_name, width, height, args.frames)
            print(f"{scene_name}: {SCENES[scene_name][0]}", flush=True)
            source = work / f"{scene_name}.mp4"
            write_source(source, scene)
            if "oracle" in backends:
                run_oracle(scene, scene_name, schedules, args.results)
            for backend, interpolator in interpolators.items():
                run_backend(scene, scene_name, source, backend, interpolator, schedules, work, args.results)
            if "ffmpeg" in backends:
                run_ffmpeg_methods(scene, scene_name, source, work, args.results)
    print(f"benchmark time: {time.perf_counter() - started:.0f} s")
    write_outputs(args.results)
    return 0
