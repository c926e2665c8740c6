"""Split a run's stutter into the part that repeats every output cycle and the rest.

    .venv/bin/python -m benchmarks.stutter.phases benchmarks/stutter/results/gmfss_432

At 59.94 fps from 23.976 fps the output times repeat their position between source
frames every 5 output frames. A schedule or model error that depends only on that
position (the model drawing t = 0.2 a little early, say) makes the same uneven step
every cycle: it shows as step means per phase that differ. What is left after
dividing each step by its phase's mean is noise (the model's per-frame error, the
tracker's reading). Reads the raw runs the benchmark stores (``RESULTS/raw/*.json``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .run import load_records

CYCLE = 5


def phase_profile(steps: np.ndarray) -> tuple[list[float], float, float]:
    """(mean step per phase / mean step, SI of the per-phase pattern, SI left after removing it)."""
    mean = float(np.nanmean(steps))
    means = [float(np.nanmean(steps[phase::CYCLE])) for phase in range(CYCLE)]
    pattern = np.array([means[index % CYCLE] for index in range(len(steps))])
    valid = np.isfinite(steps)
    return ([m / mean for m in means], float(np.std(pattern[valid]) / mean),
            float(np.nanstd(steps / pattern * mean) / mean))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a results folder of the stutter benchmark")
    parser.add_argument("--methods", default="", help="only runs whose method contains one of these (comma list)")
    args = parser.parse_args(argv)
    wanted = [m for m in args.methods.split(",") if m]
    print("| scene | method | character | step per phase / mean | SI | SI of the pattern | SI of the rest |")
    print("|---|---|---:|---|---:|---:|---:|")
    for record in load_records(args.results):
        if record["method"].startswith("oracle") or (wanted and not any(w in record["method"] for w in wanted)):
            continue
        steps = np.array([[np.nan if value is None else value for value in row] for row in record["steps"]])
        for character, score in enumerate(record["characters"]):
            profile, pattern, rest = phase_profile(steps[:, character])
            print(f"| {record['scene']} | {record['method']} | {character} | "
                  f"{' '.join(f'{value:.2f}' for value in profile)} | {score['stutter_index']:.3f} | "
                  f"{pattern:.3f} | {rest:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
