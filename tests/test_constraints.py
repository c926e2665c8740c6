"""The two constraints every schedule must meet, on the hard scenes, with the oracle interpolator.

1. no drawing lost: every new drawing of every moving layer is shown, as itself, within
   one output frame of its time;
2. nothing frozen while it moves: no moving layer stands still for an output step.

Schedules that do not meet them yet are strict xfails naming scene and constraint:
the day a schedule is fixed its test passes, strict xfail turns that into a failure,
and the entry must leave :data:`KNOWN_FAILURES`.
"""

from __future__ import annotations

from functools import cache

import pytest

from benchmarks.stutter.constraints import ConstraintReport, check
from benchmarks.stutter.scenes import HARD_SCENES, make_scene
from stsr.schedules import SCHEDULES

FRAMES = 48

#: (schedule, scene) -> constraints it fails today (measured with the oracle at 256x144, 48 frames)
KNOWN_FAILURES: dict[tuple[str, str], set[str]] = {
    # naive plays the holds as they are: every layer on twos/threes stands still between drawings
    **{("naive", scene): {"frozen"} for scene in HARD_SCENES},
    # pairs' midpoints put ones content half a frame off and merge drawings on threes
    ("pairs", "mouth_threes"): {"drawings"},
    ("pairs", "arm_threes"): {"drawings"},
    ("pairs", "shake_zoom"): {"drawings"},
    ("pairs", "glow"): {"drawings"},
    ("pairs", "grain"): {"drawings"},
    ("pairs", "caption_ones"): {"drawings", "frozen"},
    ("pairs", "fast_turn"): {"drawings"},
    # regional (per-region time maps, 6x6-pixel regions at 144 rows): the mouth's drawings are kept,
    # but the head next to it stalls 1% of the steps (the regions they share take the mouth's time);
    # the dissolve over a character puts one drawing 0.3-0.5 frames off where the passes' masks meet
    # (the character's 32, right after the dissolve) and stalls 1-3% of the steps; grain stalls 1%.
    ("regional", "mouth_threes"): {"frozen"},
    ("regional", "dissolve"): {"drawings", "frozen"},
    ("regional", "grain"): {"frozen"},
}


@cache
def _report(schedule: str, scene_name: str) -> ConstraintReport:
    return check(make_scene(scene_name, 256, 144, FRAMES), schedule)


def _cases(constraint: str) -> list:
    cases = []
    for schedule in SCHEDULES:
        for scene in HARD_SCENES:
            marks = []
            if constraint in KNOWN_FAILURES.get((schedule, scene), set()):
                marks.append(pytest.mark.xfail(strict=True, reason=f"{schedule} fails '{constraint}' on {scene}"))
            cases.append(pytest.param(schedule, scene, marks=marks, id=f"{schedule}-{scene}"))
    return cases


@pytest.mark.parametrize(("schedule", "scene_name"), _cases("drawings"))
def test_no_drawing_is_lost(schedule: str, scene_name: str) -> None:
    report = _report(schedule, scene_name)
    assert report.keeps_drawings, f"{len(report.lost)} drawings lost (layer, frame): {report.lost[:6]}"


@pytest.mark.parametrize(("schedule", "scene_name"), _cases("frozen"))
def test_nothing_is_frozen_while_it_moves(schedule: str, scene_name: str) -> None:
    report = _report(schedule, scene_name)
    assert report.never_frozen, f"a moving layer stands still in {report.frozen_share:.0%} of its output steps"


def test_the_checker_sees_a_lost_drawing() -> None:
    """The mouth's drawings are on threes out of step with the head: showing the head's frames only loses them."""
    scene = make_scene("mouth_threes", 256, 144, FRAMES)
    assert not check(scene, "pairs").keeps_drawings
    assert check(scene, "naive").keeps_drawings  # naive shows every source frame at its time


@pytest.mark.parametrize("size", [(320, 180), (384, 216)])
def test_cadence_keeps_a_mouth_of_few_regions_at_larger_sizes(size: tuple[int, int]) -> None:
    """A riding mouth covers only a few regions: too few for a layer of its own unless it is known to ride."""
    report = check(make_scene("mouth_threes", *size, FRAMES), "cadence")
    assert report.keeps_drawings and report.never_frozen, (report.lost[:6], report.frozen_share)
