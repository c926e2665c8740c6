"""The two constraints of :mod:`stsr.schedules.base`, checked with the oracle on a scene.

* **no drawing lost**: every new drawing of every moving layer appears at an output
  frame within one output frame of its time, *as that drawing*: the layer's pose there
  is within :data:`POSE_TOLERANCE` source frames of the drawing's own time (not an
  older one held, not a later one, not a mix of two);
* **nothing frozen while it moves**: no output step of a moving layer (steady part)
  is under a quarter of the true step.

    .venv/bin/python -m benchmarks.stutter.constraints     # the table for every schedule and hard scene
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from stsr.eval.synthetic import Scene, drawing_time
from stsr.schedules import SCHEDULES, SourceFrame

from .methods import run_schedule
from .metrics import EDGE_FRAMES, FROZEN_SHARE, steady_mask
from .oracle import CompositeFrame, OracleInterpolator, PoseFrame
from .scenes import HARD_SCENES, make_scene

#: how far (source frames) the pose shown may be from a drawing's time and still be that drawing
POSE_TOLERANCE = 0.3


@dataclass
class ConstraintReport:
    #: (layer, drawing frame) of every drawing never shown as itself near its time
    lost: list[tuple[int, int]]
    #: worst share of a moving layer's output steps that stand still
    frozen_share: float

    @property
    def keeps_drawings(self) -> bool:
        return not self.lost

    @property
    def never_frozen(self) -> bool:
        return self.frozen_share == 0.0


def moving_layers(scene: Scene) -> list[tuple[int, tuple[int, ...], int]]:
    """(layer index, holds, phase) of every moving layer; the background is the last index."""
    layers = [(index, c.holds, c.phase) for index, c in enumerate(scene.characters) if c.moves]
    background = scene.background
    if background.velocity != (0.0, 0.0) or background.shake or background.zoom:
        layers.append((len(scene.characters), background.holds, background.phase))
    return layers


def check(scene: Scene, schedule: str) -> ConstraintReport:
    """Run ``schedule`` with the oracle on ``scene`` and check both constraints."""
    frames = [SourceFrame(n, Fraction(n) / scene.rate, PoseFrame.source(scene, n),
                          scene.cut_at is not None and n == scene.cut_at) for n in range(scene.frames)]
    produced = run_schedule(frames, OracleInterpolator(), schedule, Fraction(scene.frames) / scene.rate)
    times = np.array([float(t * scene.rate) for t in produced.times])
    nan_row = [math.nan] * (len(scene.characters) + 1)
    posed = (PoseFrame, CompositeFrame)
    poses = np.array([[*frame.characters, frame.background] if isinstance(frame, posed) else nan_row
                      for frame in produced.frames])
    interval = float(np.median(np.diff(times)))
    lost: list[tuple[int, int]] = []
    frozen = 0.0
    keep = steady_mask(scene, times)
    pair = keep[1:] & keep[:-1]
    for layer, holds, phase in moving_layers(scene):
        for n in range(EDGE_FRAMES, scene.frames - EDGE_FRAMES):
            if drawing_time(n, holds, phase) != n or (scene.cut_at is not None and abs(n - scene.cut_at) <= 1):
                continue
            near = np.abs(times - n) <= interval + 1e-6
            if not np.any(np.abs(poses[near, layer] - n) <= POSE_TOLERANCE):
                lost.append((layer, n))
        steps = np.abs(np.diff(poses[:, layer]))
        valid = pair & np.isfinite(steps)
        if valid.any():
            frozen = max(frozen, float(np.mean(steps[valid] < FROZEN_SHARE * np.diff(times)[valid])))
    return ConstraintReport(lost, frozen)


def main(argv: Sequence[str] | None = None) -> int:
    schedules = list(SCHEDULES)
    print("| scene | " + " | ".join(schedules) + " |")
    print("|---|" + "---|" * len(schedules))
    for name in HARD_SCENES:
        scene = make_scene(name, 256, 144, 72)
        cells = []
        for schedule in schedules:
            report = check(scene, schedule)
            cells.append(f"lost {len(report.lost)}, frozen {report.frozen_share:.0%}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
