"""Which scenes a mix of whole frames can put on time at all: the ceiling of ``cadence``.

    .venv/bin/python -m benchmarks.stutter.feasibility --scenes 40 --hard 0.5          # the robustness draw
    .venv/bin/python -m benchmarks.stutter.feasibility --scenes 40 --hard 0.5 --cadence  # and cadence's SI

A ``cadence`` node is a mix of nearby source frames, and a mix moves every layer by the
same weights. From the scene's ground truth (which drawing each layer shows in each
frame, no detection involved) this asks the schedule's own mixer, for every node in the
steady part of the clip, whether some mix puts every layer on its pose for that time.
Candidates and limits are cadence's: the frames from the layers' earliest previous
drawing to their latest next one (a hold is at most ``max_hold``), at most ``max_mix``
frames per mix.

Two layer sets are asked: the *visible* layers (what the robustness benchmark judges:
moving at least a pixel per frame at 144 rows) and *all moving* layers (what the schedule
sees and tries to satisfy: it cannot know a slow pan does not show). A scene where the
visible layers have nodes without a mix cannot reach SI 0 with any mix of whole frames;
only per-pixel times could. With ``--cadence`` each scene is also run through cadence on
H.264 pictures (as the robustness benchmark does), and each miss (SI > 0.10) is called
*no mix* (not for the visible layers), *slow layer* (a mix exists for the visible layers,
not with the slow ones the schedule also sees) or *detection* (a mix exists for every
moving layer; the schedule did not find it).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from stsr.eval.synthetic import Scene
from stsr.io.video import decode
from stsr.schedules.cadence import CadenceNodes
from stsr.schedules.mixer import exact_mix

from .robustness import STEADY_BEFORE_END, STEADY_FROM, describe, draw_scenes, evaluate, layer_speeds, visible_layers
from .run import write_source

#: a miss: worst-layer SI above this (the robustness goal)
MISS_SI = 0.10


def moving_layers(scene: Scene) -> list[int]:
    """Every layer that moves at all (characters, then the background), however slowly."""
    return [layer for layer, speed in enumerate(layer_speeds(scene)) if speed > 0]


def nodes_without_mix(scene: Scene, layers: Sequence[int], max_mix: int = CadenceNodes.max_mix,
                      max_hold: int = CadenceNodes.max_hold) -> list[int]:
    """Frames of the steady part where no mix of whole frames puts every one of ``layers`` on its pose.

    Every layer's pose for frame ``n`` is ``n`` (between drawings, the straight way
    between them); frame ``k`` shows layer ``l`` at ``drawing_times(k)`` (characters,
    then the background).
    """
    if not layers:
        return []
    shown = [[*characters, background] for characters, background in
             (scene.drawing_times(k) for k in range(scene.frames))]
    missing = []
    for node in range(STEADY_FROM, scene.frames - STEADY_BEFORE_END + 1):
        earliest = int(min(shown[node][layer] for layer in layers))
        latest = node + 1
        for layer in layers:
            following = node + 1
            while following < min(scene.frames - 1, node + max_hold) and shown[following][layer] == shown[node][layer]:
                following += 1
            latest = max(latest, following)
        candidates = list(range(earliest, min(latest, scene.frames - 1) + 1))
        rows = [(*(shown[k][layer] - node for k in candidates), 0.0) for layer in layers]
        if exact_mix(node, candidates, rows, max_mix) is None:
            missing.append(node)
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hard", type=float, default=0.5, metavar="P",
                        help="probability that a draw is one of the hard scenes (default 0.5, as reported)")
    parser.add_argument("--cadence", action="store_true", help="also run cadence on H.264 pictures (~5 min)")
    args = parser.parse_args(argv)
    print("Nodes without an exact mix of whole frames (of the steady part), visible layers / all moving layers"
          + ("; cadence's worst-layer SI on H.264 and what a miss is" if args.cadence else ""))
    print()
    counts = {"visible": 0, "moving": 0}
    misses = {"no mix": 0, "slow layer": 0, "detection": 0}
    total = 0
    with tempfile.TemporaryDirectory() as folder:
        for number, scene in draw_scenes(args.scenes, args.seed, args.hard):
            total += 1
            steady = scene.frames - STEADY_BEFORE_END + 1 - STEADY_FROM
            visible = nodes_without_mix(scene, visible_layers(scene))
            moving = nodes_without_mix(scene, moving_layers(scene))
            counts["visible"] += bool(visible)
            counts["moving"] += bool(moving)
            cell = f"{len(visible):2d} / {len(moving):2d} of {steady}"
            if args.cadence:
                path = Path(folder) / "clip.mp4"
                write_source(path, scene)
                si, _, _ = evaluate(scene, [frame.rgb for frame in decode(path)], "cadence")
                verdict = "" if si <= MISS_SI else "no mix" if visible else "slow layer" if moving else "detection"
                if verdict:
                    misses[verdict] += 1
                cell += f" | cadence SI {si:.2f} {verdict}"
            print(f"{number:3d} {describe(scene)}: {cell}", flush=True)
    print()
    print(f"{total} scenes: some node without a mix in {counts['visible']} for the visible layers "
          f"({1 - counts['visible'] / max(total, 1):.0%} of scenes can be on time everywhere), "
          f"in {counts['moving']} for all moving layers")
    if args.cadence:
        print(f"cadence misses (SI > {MISS_SI:.2f}): {misses['no mix']} where no mix exists for the visible layers, "
              f"{misses['slow layer']} where one exists for them but not with the slow layers, "
              f"{misses['detection']} where one exists for every moving layer (detection or ranking)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
