"""The cadence weight mixer on its own: small problems with answers worked out by hand (pure numpy).

Rows are ``(drawing shown at candidate 0, ..., at candidate n-1, target pose)`` in frames
relative to the node; a mix ``w`` moves a layer to ``sum w_i * drawing_i``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stsr.schedules.mixer import Weights, compromise_mix, exact_mix, mix_cost

NODE = 10


def _relative(shown: list[int], target: float) -> tuple[float, ...]:
    return (*(float(d - NODE) for d in shown), float(target - NODE))


def _assert_valid(weights: Weights, candidates: list[int], max_frames: int) -> None:
    frames = [k for k, _ in weights.parts]
    values = np.array([w for _, w in weights.parts])
    assert set(frames) <= set(candidates) and len(set(frames)) == len(frames)
    assert 1 <= weights.frames <= max_frames
    assert np.all(values > 0) and values.sum() == pytest.approx(1.0, abs=1e-9)


def _pose(weights: Weights, candidates: list[int], row: tuple[float, ...]) -> float:
    return sum(w * row[candidates.index(k)] for k, w in weights.parts)


def test_one_rhythm_is_the_original_drawing() -> None:
    """A layer on twos with a drawing at the node: that frame alone, weight 1, no interpolation."""
    candidates = [8, 9, 10, 11, 12]
    twos = _relative([8, 8, 10, 10, 12], NODE)
    assert exact_mix(NODE, candidates, [twos], max_frames=4) == Weights(((10, 1.0),))


def test_a_hold_between_drawings_is_an_in_between() -> None:
    """On fours, halfway between drawings at 8 and 12: half of each (the same as ``pairs`` would do)."""
    candidates = [8, 9, 10, 11, 12]
    fours = _relative([8, 8, 8, 8, 12], NODE)
    weights = exact_mix(NODE, candidates, [fours], max_frames=4)
    assert weights is not None
    assert dict(weights.parts) == pytest.approx({8: 0.5, 12: 0.5})


def test_two_rhythms_each_on_its_target() -> None:
    """Twos (drawings 8, 10, 12) beside threes (9, 12), node at 10: both layers at pose 10.

    ``w9 = w12`` (twos), ``w9 = w10 + w11`` (threes), sum 1: a third each of 9, 12 and 10 or
    11; 10 is nearer the node, so {9, 10, 12}, thirds. No two-frame mix solves both.
    """
    candidates = [9, 10, 11, 12]
    twos = _relative([8, 10, 10, 12], NODE)
    threes = _relative([9, 9, 9, 12], NODE)
    weights = exact_mix(NODE, candidates, [twos, threes], max_frames=4)
    assert weights is not None
    _assert_valid(weights, candidates, 4)
    assert dict(weights.parts) == pytest.approx({9: 1 / 3, 10: 1 / 3, 12: 1 / 3})
    assert _pose(weights, candidates, twos) == pytest.approx(0.0, abs=1e-9)
    assert _pose(weights, candidates, threes) == pytest.approx(0.0, abs=1e-9)
    assert exact_mix(NODE, candidates, [twos, threes], max_frames=2) is None


def test_the_cheapest_exact_mix_wins() -> None:
    """Ones: frame 10 itself, or 9 and 11 half each, both exact; the single frame costs less."""
    candidates = [9, 10, 11]
    ones = _relative([9, 10, 11], NODE)
    assert mix_cost(np.array([1.0]), np.array([0.0])) == 0.0
    assert mix_cost(np.array([0.5, 0.5]), np.array([-1.0, 1.0])) == pytest.approx(1.5)
    assert mix_cost(np.array([0.5, 0.5]), np.array([0.0, 2.0])) == pytest.approx(3.5)  # 1 + 0.5 + 2 * 1
    assert exact_mix(NODE, candidates, [ones], max_frames=4) == Weights(((10, 1.0),))


def test_infeasible_is_none_and_the_compromise_is_least_squares() -> None:
    """Two groups on the same frames asking for different poses: no exact mix.

    Shown ``(-1, +1)``; one wants 0 (half each), one wants +1 (all on the later frame). With
    ``x = 2 w1 - 1`` the compromise minimises ``a x^2 + b (x - 1)^2``: ``x = b / (a + b)``.
    """
    candidates = [9, 11]
    wants_middle = _relative([9, 11], 10)
    wants_later = _relative([9, 11], 11)
    assert exact_mix(NODE, candidates, [wants_middle, wants_later], max_frames=2) is None
    for importance, later in (((1.0, 1.0), 0.75), ((3.0, 1.0), 0.625), ((1.0, 3.0), 0.875)):
        weights = compromise_mix(NODE, candidates, [wants_middle, wants_later], importance, max_frames=2)
        _assert_valid(weights, candidates, 2)
        assert dict(weights.parts) == pytest.approx({9: 1 - later, 11: later}), importance


def test_compromise_outside_the_reachable_poses_is_the_nearest_frame() -> None:
    """A target no mix reaches (beyond every drawing shown) clamps to the nearest one, weight 1."""
    candidates = [9, 10, 11]
    beyond = _relative([9, 10, 11], 13)
    assert exact_mix(NODE, candidates, [beyond], max_frames=3) is None
    assert compromise_mix(NODE, candidates, [beyond], [1.0], max_frames=3) == Weights(((11, 1.0),))


def test_every_answer_meets_the_constraints() -> None:
    """Random small problems: exact mixes solve every row; every mix is non-negative and sums to 1."""
    rng = np.random.default_rng(7)
    solved = 0
    for _ in range(200):
        size = int(rng.integers(2, 6))
        candidates = list(range(NODE - 2, NODE - 2 + size))
        rows = []
        for _ in range(int(rng.integers(1, 4))):
            shown = np.maximum.accumulate(rng.integers(NODE - 4, NODE + 4, size))  # drawings never go back
            rows.append(_relative([int(v) for v in shown], float(rng.uniform(NODE - 2, NODE + 2))))
        for max_frames in (2, 4):
            exact = exact_mix(NODE, candidates, rows, max_frames)
            if exact is not None:
                solved += 1
                _assert_valid(exact, candidates, max_frames)
                for row in rows:
                    assert _pose(exact, candidates, row) == pytest.approx(row[-1], abs=1e-5)
            compromise = compromise_mix(NODE, candidates, rows, [1.0] * len(rows), max_frames)
            _assert_valid(compromise, candidates, max_frames)
            if exact is not None:  # an exact mix has zero residual: the compromise is exact too
                for row in rows:
                    assert _pose(compromise, candidates, row) == pytest.approx(row[-1], abs=1e-4)
    assert solved > 20


def test_exact_mix_never_exceeds_max_frames() -> None:
    candidates = list(range(6, 15))
    rows = [_relative(list(itertools.accumulate([6, 0, 2, 0, 2, 0, 2, 0, 2])), NODE)]
    for max_frames in (1, 2, 3):
        weights = exact_mix(NODE, candidates, rows, max_frames)
        assert weights is not None and weights.frames <= max_frames
