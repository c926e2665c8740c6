"""No drawing lost, judged on traced recipes (benchmarks/stutter/kept.py): a blend with a drawing's pose is not it."""

from __future__ import annotations

from benchmarks.stutter.kept import lost_drawings
from benchmarks.stutter.robustness import STEADY_BEFORE_END, STEADY_FROM, output_recipes
from benchmarks.stutter.scenes import make_scene
from stsr.eval.synthetic import drawing_time


def test_an_in_between_of_two_drawings_is_no_drawing_shown() -> None:
    # A character on twos drawn on odd frames: pairs' nodes blend each drawing with the next (its
    # poses are even, but no output shows a drawing as itself); naive and cadence show each one.
    scene = make_scene("twos_oop", 256, 144, 72)
    pictures = list(scene.source_frames())
    first, last = STEADY_FROM, scene.frames - STEADY_BEFORE_END
    drawings = [(0, n) for n in range(first, last + 1) if drawing_time(n, (2,), 1) == n]
    assert len(drawings) > 20
    lost = {name: lost_drawings(scene, *output_recipes(scene, pictures, name), first, last)
            for name in ("pairs", "naive", "cadence")}
    assert lost["pairs"] == drawings
    assert lost["naive"] == [] and lost["cadence"] == []

