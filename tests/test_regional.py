"""The ``regional`` schedule's arithmetic on plain numbers, and the schedule end to end on numbers.

Numbers are their own regions (one per entry of a vector), so a vector of layer poses
drawn on different rhythms is a picture whose regions each have their own drawings;
an interpolator that moves each entry by its own entry of a time map is a perfect one.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from stsr.errors import InputError
from stsr.eval.synthetic import drawing_time
from stsr.schedules import Resampler, SourceFrame
from stsr.schedules.timemaps import (
    NONE,
    Rhythm,
    choose_groups,
    group_regions,
    own_drawings,
    pass_times,
    region_times,
)

RATE = Fraction(5, 2)  # 2.5 output frames per source frame, as 24 -> 60 fps


def test_fewest_groups_pierce_every_interval() -> None:
    """Ones beside threes: the ones region needs B = A + 1, the threes region B in [3, 6): two passes."""
    low = np.array([1, 3, 3, 2])
    high = np.array([2, 6, 6, 4])
    groups = group_regions(low, high, np.arange(4))
    assert [(g.partner, sorted(g.regions.tolist())) for g in groups] == [(1, [0]), (3, [1, 2, 3])]
    # Twos beside threes (both next drawings shown by frame 3): one pass.
    groups = group_regions(np.array([2, 3]), np.array([4, 6]), np.arange(2))
    assert [(g.partner, g.regions.tolist()) for g in groups] == [(3, [0, 1])]


def test_each_region_moves_between_its_own_drawings() -> None:
    rhythm = Rhythm(anchor=1, following=np.array([2, 4, NONE]), after=np.array([4, 7, NONE]),
                    later=np.full(3, NONE), start=np.array([0, 1, NONE]), active=np.array([True, True, False]),
                    riding=np.zeros(3, bool))
    times = region_times(1.5, rhythm)
    assert times.tolist() == [0.75, pytest.approx(1 / 6), 0.0]
    # B = 4 shows region 0 past its next drawing (2): the straight way to its drawing after (4).
    values, matters = pass_times(rhythm, 4, times)
    assert values[0] == pytest.approx(1.5 / 4) and values[1] == pytest.approx(1 / 6)
    assert matters.tolist() == [True, True, False]
    # B = 3 still shows region 1's current drawing: its time is free (A == B there).
    assert pass_times(rhythm, 3, times)[1].tolist() == [True, False, False]


def _patch(grid: tuple[int, int], rows: slice, cols: slice) -> np.ndarray:
    drawn = np.zeros(grid, bool)
    drawn[rows, cols] = True
    return drawn.ravel()


def test_a_mouth_rides_on_a_held_head_but_a_character_not_on_a_dissolve() -> None:
    grid = (10, 14)
    head, mouth = _patch(grid, slice(1, 7), slice(1, 7)), _patch(grid, slice(3, 4), slice(3, 4))
    # A head on threes (drawn at 0, 3, 6) and its mouth out of step (1, 4): the mouth region rides.
    events = {k: head if k % 3 == 0 else mouth if k % 3 == 1 else np.zeros(head.size, bool) for k in range(1, 8)}
    kept, riding = own_drawings(events, grid)
    inside = 3 * grid[1] + 3
    assert riding[inside]
    assert [k for k in sorted(kept) if kept[k][inside]] == [1, 4, 7]
    # A dissolve starting at frame 4 changes the background in every frame; a character on twos
    # (drawn at even frames: its outline changes, not its flat inside) was alone before. From 4 on its
    # drawings join the dissolve's patch: content on ones, not a carrier. It keeps its own drawings.
    outline = head & ~_patch(grid, slice(2, 6), slice(2, 6))
    background = ~head
    none = np.zeros(head.size, bool)
    dissolve = {k: (outline if k % 2 == 0 else none) if k < 4 else (background | outline if k % 2 == 0 else background)
                for k in range(1, 10)}
    kept, riding = own_drawings(dissolve, grid)
    assert not riding.any()
    assert all(np.array_equal(kept[k], dissolve[k]) for k in dissolve)


def test_a_character_over_a_pan_on_twos_keeps_its_drawings_that_fall_on_the_pans() -> None:
    # A character on threes (its outline changes at 1, 4, 7) over a background panning on twos (every
    # region but the character's flat inside changes at 2, 4, 6, 8). Its lone drawings are small
    # patches and the pan's are large, like a mouth's and its head's; but the pan's patch reaches from
    # edge to edge of the picture: a background, not a carrier. The drawing at 4 stays the character's.
    grid = (10, 14)
    body = _patch(grid, slice(3, 7), slice(4, 8))
    outline = body & ~_patch(grid, slice(4, 6), slice(5, 7))
    pan = ~(body & ~outline)
    none = np.zeros(body.size, bool)
    events = {k: (pan if k % 2 == 0 else none) | (outline if k % 3 == 1 else none) for k in range(1, 10)}
    kept, riding = own_drawings(events, grid)
    assert not riding.any()
    corner = 3 * grid[1] + 4
    assert [k for k in sorted(kept) if kept[k][corner]] == [1, 2, 4, 6, 7, 8]


def test_lenient_grouping_saves_a_pass_only_for_few_regions() -> None:
    def rhythm(following: list[int], after: list[int], later: list[int]) -> Rhythm:
        n = len(following)
        return Rhythm(0, np.array(following), np.array(after), np.array(later), np.zeros(n, np.int64),
                      np.ones(n, bool), np.zeros(n, bool))

    # Ten regions on twos and one strip that changes on every frame: one pass, the strip approximated.
    strip = rhythm([2] * 10 + [1], [4] * 10 + [2], [6] * 10 + [3])
    assert [g.partner for g in choose_groups(strip, 8)] == [2]
    # Half the regions on ones: they keep their exact pass.
    half = rhythm([2] * 5 + [1] * 5, [4] * 5 + [2] * 5, [6] * 5 + [3] * 5)
    assert sorted(g.partner for g in choose_groups(half, 8)) == [1, 2]


class _VectorPair:
    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        self.a, self.b = a, b

    def frames_at(self, timesteps: list) -> list[np.ndarray]:
        return [self.a + np.asarray(t, np.float64) * (self.b - self.a) for t in timesteps]


class _VectorInterpolator:
    """Perfect for vectors of poses: entry i moves by the map's entry i."""

    supports_time_maps = True

    def __init__(self) -> None:
        self.prepared = 0

    def prepare(self, a: np.ndarray, b: np.ndarray) -> _VectorPair:
        self.prepared += 1
        return _VectorPair(a, b)


def _run(rhythms: list[tuple[int, ...]], frames: int = 36, phases: tuple[int, ...] = (0, 1, 2)
         ) -> tuple[list[float], list[np.ndarray], _VectorInterpolator]:
    interpolator = _VectorInterpolator()
    resampler: Resampler = Resampler(interpolator, RATE, "regional")
    outputs = []
    for n in range(frames):
        poses = np.array([float(drawing_time(n, holds, phase)) for holds, phase in zip(rhythms, phases, strict=False)])
        outputs += resampler.push(SourceFrame(n, Fraction(n), poses))
    outputs += resampler.finish(Fraction(frames))
    return [float(o.time) for o in outputs], [o.image for o in outputs], interpolator


@pytest.mark.parametrize("rhythms", [[(1,), (3,)], [(2,), (3,)], [(2,), (2,), (3,)], [(2, 3), (1,), (4,)]],
                         ids=["ones+threes", "twos+threes", "twos+twos+threes", "two-three+ones+fours"])
def test_every_region_is_on_its_own_time(rhythms: list[tuple[int, ...]]) -> None:
    """Layers on different rhythms at once (what a mix of whole frames cannot do): each pose equals the time."""
    times, images, _ = _run(rhythms)
    assert times == [j / 2.5 for j in range(90)]
    # Away from the shot's edges (the first drawing is at the shot start; the last ones have no next).
    for time, image in zip(times, images, strict=True):
        if 5 <= time <= 26:
            assert image == pytest.approx([time] * len(rhythms), abs=1e-6), f"at {time}"  # float32 maps


def test_drawings_land_as_themselves_and_pairs_are_reused() -> None:
    times, images, interpolator = _run([(2,), (3,)])
    for time, image in zip(times, images, strict=True):
        if 5 <= time <= 26 and time == int(time):
            # A new drawing (of either layer) at its own time is that drawing exactly.
            assert image == pytest.approx([time, time], abs=1e-6)
    # One prepared pair per keypoint (twos and threes: 4 keypoints per 6 frames), not one per output.
    assert interpolator.prepared < len(times) / 2


def test_a_backend_without_time_maps_is_refused_in_one_line() -> None:
    class Scalars:
        name = "flow"
        supports_time_maps = False

        def prepare(self, a: object, b: object) -> object:
            raise AssertionError("never reached")

    with pytest.raises(InputError, match=r"regional.*time maps.*flow"):
        Resampler(Scalars(), RATE, "regional")


def test_a_character_on_ones_passing_one_on_threes_keeps_its_drawings() -> None:
    # A character on threes (drawn at 0, 3, 6) and, touching it, a smaller one on ones (changing in
    # every frame). Alone, the ones' changes are small patches; at the threes' drawings they join its
    # patch, like a mouth's and its head's. But the region changes in the frames before and after as
    # well: it is on ones there, the change is its own, and it does not ride.
    grid = (10, 14)
    threes = _patch(grid, slice(1, 8), slice(1, 7))
    ones = _patch(grid, slice(3, 5), slice(7, 9))
    none = np.zeros(threes.size, bool)
    events = {k: ones | (threes if k % 3 == 0 else none) for k in range(1, 10)}
    kept, riding = own_drawings(events, grid)
    assert not riding.any()
    region = 3 * grid[1] + 7
    assert [k for k in sorted(kept) if kept[k][region]] == list(range(1, 10))


def test_the_last_change_of_a_fast_edge_beside_a_character_on_threes_is_its_own() -> None:
    # A character on ones moving fast beside one on threes: its edge crosses a region in three frames
    # (1, 2, 3), the third the threes' drawing, where the change joins the threes' patch like a mouth's
    # at its head's, and the frame after shows none (the edge has gone). Three changes in a row are
    # content on ones, whatever the frame after: the change at 3 is the region's own (robustness
    # scene 35: dropped, its character went 0.6 frames off its poses behind the other).
    grid = (10, 14)
    threes = _patch(grid, slice(1, 8), slice(1, 7))
    region = 4 * grid[1] + 7
    edge = np.zeros(threes.size, bool)
    edge[region] = True
    none = np.zeros(threes.size, bool)
    events = {k: (edge if k in (1, 2, 3) else none) | (threes if k % 3 == 0 else none) for k in range(1, 10)}
    kept, riding = own_drawings(events, grid)
    assert not riding[region]
    assert [k for k in sorted(kept) if kept[k][region]] == [1, 2, 3]


def test_a_character_on_twos_over_one_on_2_3_is_not_a_rider() -> None:
    # Robustness seed 2, scene 4: a small character on twos (drawn at odd frames) over a large one on
    # 2-3 (drawn at 2, 5, 7, 10). Its lone drawings are small patches; where both draw in one frame
    # (5, 7) the two join in one large patch, like a mouth's and its head's. But its changes never
    # follow each other in consecutive frames, as a mouth out of step with its head's do: it is a
    # layer of its own and keeps every drawing.
    grid = (10, 14)
    large = _patch(grid, slice(2, 9), slice(1, 8))
    small = _patch(grid, slice(4, 6), slice(7, 9))  # its left column lies on the large character
    none = np.zeros(large.size, bool)
    events = {k: (small if k % 2 == 1 else none) | (large if k in (2, 5, 7, 10) else none) for k in range(1, 11)}
    kept, riding = own_drawings(events, grid)
    alone = 4 * grid[1] + 8  # a region only the small character covers
    assert not riding[alone]
    assert [k for k in sorted(kept) if kept[k][alone]] == [1, 3, 5, 7, 9]
