"""Does the judder index (no ground truth) rank outputs like the ground-truth stutter index?

    .venv/bin/python -m benchmarks.stutter.judder_validation [--backends oracle,flow] [--size 256x144]

For every scene and schedule the output pictures are scored twice: the benchmark's
ground-truth SI (worst moving layer; with a real backend only the tracked characters)
and :func:`stsr.eval.analysis.judder_of_pictures` on the pictures alone. Prints the
table and the Pearson correlation over all finite pairs (per backend and overall);
``--plot PNG`` draws the judder index against ground-truth SI, one colour per schedule,
one marker per backend (``results/judder_validation.png``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from stsr.engine import frame_to_tensor, silence_library_logs, tag_cuts, tensor_to_frame
from stsr.eval.analysis import judder_of_pictures
from stsr.eval.synthetic import Scene
from stsr.interpolators import Interpolator
from stsr.io.video import decode
from stsr.schedules import SourceFrame

from .methods import run_schedule
from .metrics import Score, measure_oracle, measure_pictures, score
from .oracle import OracleInterpolator, PoseFrame
from .run import write_source
from .scenes import SCENES, make_scene


def _worst_si(result: Score) -> float:
    values = [c.stutter_index for c in result.characters if c.judged and math.isfinite(c.stutter_index)]
    return max(values) if values else float("nan")


def oracle_case(scene: Scene, schedule: str) -> tuple[float, float]:
    frames = [SourceFrame(n, Fraction(n) / scene.rate, PoseFrame.source(scene, n),
                          scene.cut_at is not None and n == scene.cut_at) for n in range(scene.frames)]
    produced = run_schedule(frames, OracleInterpolator(), schedule, Fraction(scene.frames) / scene.rate)
    truth = score(scene, measure_oracle(scene, produced.times, produced.frames))
    return _worst_si(truth), judder_of_pictures([frame.render() for frame in produced.frames]).index


def backend_case(scene: Scene, schedule: str, interpolator: Interpolator, folder: str) -> tuple[float, float]:
    import torch

    path = f"{folder}/source.mp4"
    write_source(path, scene)
    decoded = list(tag_cuts(decode(path), True))
    frames = [SourceFrame(d.index, d.time, frame_to_tensor(d.rgb, interpolator.device), cut) for d, cut in decoded]
    end = decoded[-1][0].time + decoded[-1][0].duration
    with torch.inference_mode():
        produced = run_schedule(frames, interpolator, schedule, end, convert=tensor_to_frame)
    truth = score(scene, measure_pictures(scene, produced.times, produced.frames))
    return _worst_si(truth), judder_of_pictures(produced.frames).index


def pearson(pairs: Sequence[tuple[float, float]]) -> float:
    values = np.array([p for p in pairs if all(math.isfinite(v) for v in p)])
    if len(values) < 3:
        return float("nan")
    return float(np.corrcoef(values[:, 0], values[:, 1])[0, 1])


def plot(points: Sequence[tuple[str, str, str, float, float]], target: str) -> None:
    """Judder index against ground-truth SI: (backend, schedule, scene, SI, J) per output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"naive": "#888888", "pairs": "#d62728", "cadence": "#1f3fbf", "regional": "#17becf"}
    markers = {"oracle": "o", "flow": "^", "rife": "s", "gmfss_union": "D"}
    figure, axis = plt.subplots(figsize=(6.5, 5.0), dpi=80)
    seen = set()
    for backend, schedule, _, si, index in points:
        if not (math.isfinite(si) and math.isfinite(index)):
            continue
        label = f"{backend}:{schedule}"
        axis.scatter(si, index, c=colours.get(schedule, "black"), marker=markers.get(backend, "x"), s=28, alpha=0.8,
                     label=None if label in seen else label)
        seen.add(label)
    finite = [(si, j) for _, _, _, si, j in points if math.isfinite(si) and math.isfinite(j)]
    top = max(max(v) for v in finite) * 1.05 if finite else 1.0
    axis.plot([0, top], [0, top], color="black", linewidth=0.6, alpha=0.4)
    axis.set_xlabel("ground-truth stutter index (worst moving layer)")
    axis.set_ylabel("judder index (pictures only)")
    axis.set_title(f"judder index against ground truth: Pearson r = {pearson(finite):.2f} over {len(finite)}",
                   fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(target)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", default=",".join(SCENES))
    parser.add_argument("--schedules", default="naive,pairs,cadence")
    parser.add_argument("--backends", default="oracle,flow")
    parser.add_argument("--size", default="256x144")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--plot", default=None, metavar="PNG", help="also plot J against SI into this PNG")
    args = parser.parse_args(argv)
    silence_library_logs()
    width, height = (int(v) for v in args.size.split("x"))
    schedules = args.schedules.split(",")
    backends = args.backends.split(",")
    interpolators = {}
    for backend in backends:
        if backend != "oracle":
            from stsr.interpolators import create_backend

            interpolators[backend] = create_backend(backend, device="cpu")
    header = " | ".join(f"{b}:{s} SI / J" for b in backends for s in schedules)
    print(f"| scene | {header} |")
    print("|---|" + "---|" * (len(backends) * len(schedules)))
    pairs: dict[str, list[tuple[float, float]]] = {backend: [] for backend in backends}
    points: list[tuple[str, str, str, float, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.scenes.split(","):
            scene = make_scene(name, width, height, args.frames)
            cells = []
            for backend in backends:
                for schedule in schedules:
                    if backend == "oracle":
                        si, index = oracle_case(scene, schedule)
                    else:
                        si, index = backend_case(scene, schedule, interpolators[backend], folder)
                    pairs[backend].append((si, index))
                    points.append((backend, schedule, name, si, index))
                    cells.append(f"{si:.2f} / {index:.2f}")
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print()
    for backend, values in pairs.items():
        print(f"Pearson r (ground-truth SI, judder index), {backend}: {pearson(values):.2f} over {len(values)} outputs")
    print(f"Pearson r, all: {pearson([p for v in pairs.values() for p in v]):.2f}")
    if args.plot:
        plot(points, args.plot)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
