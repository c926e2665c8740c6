"""Random scenes: how each schedule does when it sees H.264 pictures, not tidy benchmark scenes.

    .venv/bin/python -m benchmarks.stutter.robustness [--scenes 40] [--seed 1] [--schedules pairs,cadence]
    .venv/bin/python -m benchmarks.stutter.robustness --hard 0.5   # half the draws from the hard scenes
    .venv/bin/python -m benchmarks.stutter.robustness --distance   # errors weighed by distance (.distance)
    .venv/bin/python -m benchmarks.stutter.robustness --lost       # drawings never shown as themselves (.kept)

Each scene draws 1-3 characters with random size, speed, direction, rhythm (ones,
twos, threes, fours, 2-3) and phase, over a background that is still or pans on
ones or twos; the clip is encoded with H.264 and decoded, so ``cadence``'s
detection sees compression noise. The interpolator is a perfect one that records
recipes (which source frames, with which weights) instead of pictures, so each
output frame's layer poses follow exactly from the ground truth. Reported per
scene and schedule: the worst stutter index and |lag| over the layers that move
visibly (at least a pixel per frame), and the SI of each. With ``--hard P`` a draw
is, with probability P, one of the benchmark's hard scenes (mouth on threes, redrawn
tear, back-and-forth, shake and zoom, glow, grain, ...) at a random size.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from stsr.eval.analysis import stutter_index
from stsr.eval.synthetic import Background, Character, Scene
from stsr.io.video import decode
from stsr.schedules import SourceFrame

from .distance import distance_poses
from .kept import lost_drawings
from .methods import stsr_outputs
from .occlusion import in_view_si
from .oracle import layer_masks, layer_timesteps, shown_masks
from .run import write_source
from .scenes import HARD_SCENES, SOURCE_RATE, make_scene

RHYTHMS: list[tuple[int, ...]] = [(1,), (2,), (2,), (3,), (2, 3), (4,)]
COLOURS = [(245, 40, 190), (250, 200, 30), (40, 250, 120)]


def random_hard_scene(rng: np.random.Generator, frames: int = 72) -> Scene:
    width, height = [(256, 144), (320, 180), (384, 216)][int(rng.integers(3))]
    return make_scene(HARD_SCENES[int(rng.integers(len(HARD_SCENES)))], width, height, frames)


def random_scene(rng: np.random.Generator, frames: int = 72) -> Scene:
    width, height = [(256, 144), (320, 180), (384, 216)][int(rng.integers(3))]
    scale = height / 144
    characters = []
    for number in range(int(rng.integers(1, 4))):
        holds = RHYTHMS[int(rng.integers(len(RHYTHMS)))]
        speed = float(rng.uniform(0.8, 3.5)) * scale
        angle = float(rng.uniform(-0.5, 0.5)) + (np.pi if rng.random() < 0.5 else 0.0)
        velocity = (speed * np.cos(angle), speed * np.sin(angle))
        end = (width / 2 + rng.uniform(-0.2, 0.2) * width, height / 2 + rng.uniform(-0.2, 0.2) * height)
        start = (end[0] - velocity[0] * frames / 2, end[1] - velocity[1] * frames / 2)
        size = float(rng.uniform(0.6, 1.3))
        characters.append(Character(start=start, velocity=velocity, radius=(24 * size, 34 * size),
                                    body=COLOURS[number], holds=holds, phase=int(rng.integers(0, sum(holds)))))
    pan = 0.0 if rng.random() < 0.5 else float(rng.uniform(-2.0, 2.0)) * scale
    background = Background(velocity=(pan, 0.0), holds=(1,) if rng.random() < 0.7 else (2,),
                            seed=int(rng.integers(1000)))
    return Scene(width=width, height=height, frames=frames, rate=SOURCE_RATE, background=background,
                 characters=characters)


Recipe = tuple[tuple[int, float], ...]


@dataclass(frozen=True, eq=False)
class Traced:
    """A frame known by its recipe: which source frames, with which weights (poses mix linearly).

    A time map (or a composite of passes) gives each layer its own recipe: ``layers`` then
    holds one per character and one for the background, moved as the oracle moves them
    (the map's median over the layer's pixels; see :mod:`benchmarks.stutter.oracle`).
    """

    mix: Recipe
    picture: np.ndarray | None = None
    layers: tuple[Recipe, ...] | None = None
    scene: Scene | None = field(default=None, repr=False)

    def analysis_image(self) -> np.ndarray:
        assert self.picture is not None, "only source frames are looked at"
        return self.picture

    def recipe(self, layer: int) -> Recipe:
        return self.mix if self.layers is None else self.layers[layer]

    def poses(self) -> list[float]:
        """Character poses (source frames) the recipe shows: what the layer masks are drawn at."""
        assert self.scene is not None
        drawn = [self.scene.drawing_times(k)[0] for k in range(self.scene.frames)]
        return [sum(w * drawn[k][c] for k, w in self.recipe(c)) for c in range(len(self.scene.characters))]

    @classmethod
    def composite(cls, images: Sequence[Traced], weights: Sequence[np.ndarray]) -> Traced:
        """Passes composited by weight maps: each layer's recipe mixed by its mean weight where it can show."""
        scene = images[0].scene
        assert scene is not None
        poses = [image.poses() for image in images]
        masks = shown_masks(scene, layer_masks(scene, poses), poses)
        layers = []
        for layer, mask in enumerate(masks):
            shares = np.array([float(np.asarray(w)[mask].mean()) if mask.any() else float(np.asarray(w).mean())
                               for w in weights])
            shares = shares / max(float(shares.sum()), 1e-9)
            layers.append(_combine([(share, image.recipe(layer)) for share, image in zip(shares, images,
                                                                                         strict=True)]))
        return Traced(layers[-1], layers=tuple(layers), scene=scene)


def _combine(parts: Sequence[tuple[float, Recipe]]) -> Recipe:
    weights: dict[int, float] = {}
    for share, recipe in parts:
        for index, weight in recipe:
            weights[index] = weights.get(index, 0.0) + share * weight
    return tuple(sorted((k, w) for k, w in weights.items() if w != 0.0))


class _TracedPair:
    def __init__(self, frame0: Traced, frame1: Traced) -> None:
        self.frame0, self.frame1 = frame0, frame1

    def frames_at(self, timesteps: Sequence[Fraction | float | np.ndarray]) -> list[Traced]:
        results = []
        for t in timesteps:
            if isinstance(t, np.ndarray):
                scene = self.frame0.scene
                assert scene is not None, "time maps need the scene (Tracer(scene))"
                masks = layer_masks(scene, [self.frame0.poses(), self.frame1.poses()])
                steps, _ = layer_timesteps(masks, np.asarray(t, np.float64))
                layers = tuple(_combine([(1 - step, self.frame0.recipe(layer)), (step, self.frame1.recipe(layer))])
                               for layer, step in enumerate(steps))
                results.append(Traced(layers[-1], layers=layers, scene=scene))
            else:
                step = float(t)
                if self.frame0.layers is None and self.frame1.layers is None:
                    results.append(Traced(_combine([(1 - step, self.frame0.mix), (step, self.frame1.mix)]),
                                          scene=self.frame0.scene))
                else:
                    count = len(self.frame0.layers or self.frame1.layers or ())
                    layers = tuple(_combine([(1 - step, self.frame0.recipe(layer)),
                                             (step, self.frame1.recipe(layer))]) for layer in range(count))
                    results.append(Traced(layers[-1], layers=layers, scene=self.frame0.scene))
        return results


class Tracer:
    """An interpolator over :class:`Traced` frames: records recipes instead of pictures (maps too)."""

    supports_time_maps = True

    def prepare(self, frame0: Traced, frame1: Traced) -> _TracedPair:
        return _TracedPair(frame0, frame1)


def output_poses(scene: Scene, pictures: list[np.ndarray], schedule: str) -> tuple[np.ndarray, np.ndarray]:
    """Output times (source frames) and layer poses (characters, background) of a schedule's output."""
    times, recipes = output_recipes(scene, pictures, schedule)
    return times, recipe_poses(scene, recipes)


def output_recipes(scene: Scene, pictures: list[np.ndarray], schedule: str) -> tuple[np.ndarray, list[list[Recipe]]]:
    """Output times (source frames) and, per output, each layer's recipe (characters, background)."""
    frames = [SourceFrame(n, Fraction(n) / scene.rate, Traced(((n, 1.0),), picture, scene=scene))
              for n, picture in enumerate(pictures)]
    outputs = list(stsr_outputs(frames, Tracer(), schedule, Fraction(scene.frames) / scene.rate))
    times = np.array([float(output.time * scene.rate) for output in outputs])
    layers = range(len(scene.characters) + 1)
    return times, [[output.image.recipe(layer) for layer in layers] for output in outputs]


def recipe_poses(scene: Scene, recipes: list[list[Recipe]]) -> np.ndarray:
    """Per output and layer, the pose its recipe shows (source frames)."""
    drawn = [scene.drawing_times(n) for n in range(scene.frames)]
    count = len(scene.characters)
    return np.array([[sum(w * drawn[k][0][c] for k, w in layers[c]) for c in range(count)]
                     + [sum(w * drawn[k][1] for k, w in layers[count])] for layers in recipes])


#: layers slower than this (pixels per source frame at 144 rows) are not judged: a pose
#: error of a frame moves them by less than a pixel
VISIBLE_SPEED = 1.0
#: the steady part of a clip that is judged: from this source frame to this many before the end
STEADY_FROM, STEADY_BEFORE_END = 8, 10


def layer_speeds(scene: Scene) -> list[float]:
    """Per layer (characters, then the background): how far it moves per source frame, in pixels.

    Layers whose look changes (mouth, glow, text...) count as moving visibly; a shaking or
    zooming camera too.
    """
    visible = _visible_speed(scene)
    speeds = [float(np.hypot(*c.velocity)) if hasattr(c, "velocity") else visible for c in scene.characters]
    camera = scene.background
    speeds.append(visible if camera.shake or camera.zoom else abs(camera.velocity[0]))
    return speeds


def visible_layers(scene: Scene) -> list[int]:
    """The layers judged: those moving at least :data:`VISIBLE_SPEED` (at 144 rows)."""
    return [layer for layer, speed in enumerate(layer_speeds(scene)) if speed >= _visible_speed(scene)]


def _visible_speed(scene: Scene) -> float:
    return VISIBLE_SPEED * scene.height / 144


def evaluate(scene: Scene, pictures: list[np.ndarray], schedule: str) -> tuple[float, float, list[float]]:
    """Worst SI and |lag| over visibly moving layers, and the SI of each."""
    return judge(scene, *output_poses(scene, pictures, schedule))


def judge(scene: Scene, times: np.ndarray, poses: np.ndarray) -> tuple[float, float, list[float]]:
    """:func:`evaluate` on a schedule's output times and poses (:func:`output_poses`)."""
    steady = _steady(scene, times)
    layer_si, worst_lag = [], 0.0
    for layer in visible_layers(scene):
        layer_si.append(stutter_index(np.diff(poses[steady, layer])))
        worst_lag = max(worst_lag, abs(float(np.mean(times[steady] - poses[steady, layer]))))
    return max(layer_si, default=0.0), worst_lag, layer_si


def judge_in_view(scene: Scene, times: np.ndarray, poses: np.ndarray) -> float:
    """Worst SI over visibly moving layers, each judged only where it is in view (see :mod:`.occlusion`)."""
    steady = _steady(scene, times)
    values = [in_view_si(scene, times, poses[:, layer], steady, layer) for layer in visible_layers(scene)]
    return max((v for v in values if np.isfinite(v)), default=0.0)


def _steady(scene: Scene, times: np.ndarray) -> np.ndarray:
    return (times >= STEADY_FROM) & (times <= scene.frames - STEADY_BEFORE_END)


def draw_scenes(count: int, seed: int = 1, hard: float = 0.0) -> Iterator[tuple[int, Scene]]:
    """The random draw, numbered: with probability ``hard`` a scene is one of the hard scenes.

    The same ``seed`` and ``hard`` give the same scenes in every tool that draws them.
    """
    rng = np.random.default_rng(seed)
    for number in range(count):
        is_hard = hard > 0 and np.random.default_rng((seed, number)).random() < hard
        yield number, random_hard_scene(rng) if is_hard else random_scene(rng)


def drawn_scene(seed: int, number: int, hard: float = 0.5) -> Scene:
    """Scene ``number`` of the draw with ``seed`` and ``hard``, as the robustness run numbers it (2:30: seed 2's 30)."""
    return dict(draw_scenes(number + 1, seed, hard))[number]


def describe(scene: Scene) -> str:
    """One line: size, each character's rhythm and speed, the pan."""
    layers = ", ".join(f"{'-'.join(map(str, c.holds))}@{np.hypot(*getattr(c, 'velocity', (0, 0))):.1f}px"
                       + ("" if hasattr(c, "velocity") else f" {type(c).__name__}")
                       for c in scene.characters)
    pan = f" over pan {scene.background.velocity[0]:+.1f}px/{scene.background.holds[0]}" \
        if scene.background.velocity[0] else ""
    return f"{scene.width}x{scene.height} [{layers}]{pan}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schedules", default="pairs,cadence", help="comma-separated schedules to compare")
    parser.add_argument("--clean", action="store_true", help="detect on the rendered pictures, not H.264")
    parser.add_argument("--hard", type=float, default=0.0, metavar="P",
                        help="probability that a draw is one of the hard scenes (default 0: the original draw)")
    parser.add_argument("--visible", action="store_true",
                        help="also the worst SI where each character is in view (half of it or more shows)")
    parser.add_argument("--lost", action="store_true",
                        help="also count the drawings no output shows as themselves (see .kept)")
    parser.add_argument("--distance", action="store_true",
                        help="weigh each timing error by how far the layer moves in it (see .distance): "
                             "a shaking camera barely moves where it turns")
    args = parser.parse_args(argv)
    schedules = [name.strip() for name in args.schedules.split(",") if name.strip()]
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in schedules}
    in_view: dict[str, list[float]] = {name: [] for name in schedules}
    lost: dict[str, list[int]] = {name: [] for name in schedules}
    #: of those, the drawings of layers that move visibly (:func:`visible_layers`, as SI judges)
    lost_visibly: dict[str, list[int]] = {name: [] for name in schedules}
    with tempfile.TemporaryDirectory() as folder:
        for number, scene in draw_scenes(args.scenes, args.seed, args.hard):
            pictures = list(scene.source_frames())
            if not args.clean:
                path = Path(folder) / "clip.mp4"
                write_source(path, scene)
                pictures = [frame.rgb for frame in decode(path)]
            cells = []
            for name in schedules:
                times, recipes = output_recipes(scene, pictures, name)
                poses = recipe_poses(scene, recipes)
                if args.distance:
                    poses = distance_poses(scene, times, poses, _steady(scene, times))
                si, lag, per_layer = judge(scene, times, poses)
                results[name].append((si, lag))
                cells.append(f"{name} SI {si:.2f} lag {lag:.2f} ({' '.join(f'{v:.2f}' for v in per_layer)})")
                if args.lost:
                    missing = lost_drawings(scene, times, recipes, STEADY_FROM, scene.frames - STEADY_BEFORE_END)
                    lost[name].append(len(missing))
                    judged = visible_layers(scene)
                    lost_visibly[name].append(sum(layer in judged for layer, _ in missing))
                    cells[-1] += f" lost {lost[name][-1]}"
                if args.visible:
                    in_view[name].append(judge_in_view(scene, times, poses))
                    cells[-1] += f" in view {in_view[name][-1]:.2f}"
            print(f"{number:3d} {describe(scene)}: " + " | ".join(cells), flush=True)
    print()
    baseline = np.array(results["pairs"])[:, 0] if "pairs" in results else None
    for name, values in results.items():
        array = np.array(values)
        print(f"{name:8s} {len(array)} scenes: worst-layer SI median {np.median(array[:, 0]):.3f}, "
              f"mean {array[:, 0].mean():.3f}, max {array[:, 0].max():.3f}; SI <= 0.05 in "
              f"{(array[:, 0] <= 0.05).mean():.0%}, <= 0.10 in {(array[:, 0] <= 0.10).mean():.0%}; "
              f"|lag| mean {array[:, 1].mean():.2f}, max {array[:, 1].max():.2f}"
              + ("" if baseline is None or name == "pairs" else
                 f"; worse than pairs by > 0.02 in {int((array[:, 0] > baseline + 0.02).sum())}"))
        if args.lost:
            counts, visibly = np.array(lost[name]), np.array(lost_visibly[name])
            print(f"{'':8s} drawings lost: {int(counts.sum())} in {int((counts > 0).sum())} scenes; of layers "
                  f"that move visibly: {int(visibly.sum())} in {int((visibly > 0).sum())} scenes")
        if args.visible:
            shown = np.array(in_view[name])
            print(f"{'':8s} in view: mean {shown.mean():.3f}, max {shown.max():.3f}; SI <= 0.05 in "
                  f"{(shown <= 0.05).mean():.0%}, <= 0.10 in {(shown <= 0.10).mean():.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
