"""Drawing-time fidelity at the output frames that fall exactly on a new drawing, two ways.

    .venv/bin/python -m benchmarks.stutter.fidelity            # every scene, every schedule (~1 min)

The stutter table's fidelity takes the first output frame at or after a drawing's time,
up to 0.3 source frames later at 59.94 from 23.976 fps: any schedule that moves its
output smoothly shows the drawing's moving edges a little further on there, and only
frame repetition (``naive``) scores full marks. This benchmark looks only at output
frames whose presentation time *is* a new drawing's time (exact rationals: every even
source frame at 2.5x), where a schedule can show the drawing exactly, and scores each
two ways, in the pixels the drawing changed:

* **drawn**: against the source's drawing frame, every other layer as the source holds
  it (the issue's figure: what the animator's frame looks like there);
* **own**: against the truth with the layers redrawn at that frame at their new drawing
  and every other layer where the output put it (oracle poses). It asks only whether
  the new drawing appears as itself; ``drawn`` also asks that the layers around it be
  held, which a smooth schedule does not do by design (a mouth redrawn on a head that
  moves on other frames: the head has moved on).

Drawings on odd source frames have no such output frame; their count is given apart.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from stsr.eval.synthetic import Scene
from stsr.schedules import SCHEDULES, SourceFrame

from .methods import run_schedule
from .metrics import changed_pixels, new_drawings, psnr, redrawn_layers
from .oracle import CompositeFrame, OracleInterpolator, PoseFrame
from .scenes import SCENES, make_scene


@dataclass
class ExactFidelity:
    #: mean PSNR (dB) against the source's drawing frame (NaN: no drawing falls on an output frame)
    drawn: float
    #: mean PSNR (dB) against the new drawings with the other layers where the output shows them
    own: float
    #: new drawings an output frame falls on / all new drawings
    measured: int
    drawings: int


def own_reference(scene: Scene, index: int, shown: PoseFrame | CompositeFrame) -> np.ndarray:
    """The truth at ``index`` for the layers redrawn there, the output's poses for the rest."""
    characters, background = scene.drawing_times(index)
    redrawn, background_redrawn = redrawn_layers(scene, index)
    poses = [drawn if new else pose for drawn, new, pose in zip(characters, redrawn, shown.characters, strict=True)]
    return scene.render_poses(poses, background if background_redrawn else shown.background, float(index))


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def exact_fidelity(scene: Scene, schedule: str) -> ExactFidelity:
    """Run ``schedule`` with the oracle and score the output frames that fall on new drawings."""
    frames = [SourceFrame(n, Fraction(n) / scene.rate, PoseFrame.source(scene, n),
                          scene.cut_at is not None and n == scene.cut_at) for n in range(scene.frames)]
    produced = run_schedule(frames, OracleInterpolator(), schedule, Fraction(scene.frames) / scene.rate)
    at_time = {time * scene.rate: frame for time, frame in zip(produced.times, produced.frames, strict=True)}
    drawings = new_drawings(scene)
    drawn, own = [], []
    for index in drawings:
        shown = at_time.get(Fraction(index))
        mask = changed_pixels(scene, index)
        if shown is None or not mask.any():
            continue
        picture = shown.render()
        drawn.append(psnr(picture[mask], scene.drawing_frame(index)[mask]))
        reference = (own_reference(scene, index, shown) if isinstance(shown, PoseFrame | CompositeFrame)
                     else scene.drawing_frame(index))  # a blend across a cut has no poses
        own.append(psnr(picture[mask], reference[mask]))
    return ExactFidelity(_mean(drawn), _mean(own), len(drawn), len(drawings))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", default=",".join(SCENES), help="comma list of scenes")
    parser.add_argument("--schedules", default=",".join(SCHEDULES), help="comma list of schedules")
    args = parser.parse_args(argv)
    schedules = [s for s in args.schedules.split(",") if s]
    print("Cells: drawn / own (dB, changed pixels, output frames at a new drawing's exact time); "
          "(measured of all new drawings)\n")
    print("| scene | " + " | ".join(schedules) + " |")
    print("|---|" + "---|" * len(schedules))
    for name in (s for s in args.scenes.split(",") if s):
        scene = make_scene(name)
        results = [exact_fidelity(scene, schedule) for schedule in schedules]
        count = f" ({results[0].measured} of {results[0].drawings})"
        print(f"| {name}{count} | " + " | ".join(f"{r.drawn:.1f} / {r.own:.1f}" for r in results) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
