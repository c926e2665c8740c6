"""A restart mid-shot (a seek in the player, a chunk of a distributed run) lands on exactly the
frames an uninterrupted run produces, given the schedule's own ``context_frames``.

Real small clips (H.264, decoded with PyAV), the ``flow`` interpolator on the CPU, and
``torch.equal`` on every output frame from the restart on.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from stsr.engine import make_interpolator, resample_frames, tag_cuts
from stsr.eval.sample import write_clip
from stsr.eval.synthetic import Background, Character, Scene, drawing_time
from stsr.interpolators import Interpolator
from stsr.io.video import DecodedFrame, decode
from stsr.plugin.player.frames import SourceFrames
from stsr.schedules import SCHEDULES, CadenceNodes, SourceFrame

SOURCE_RATE = Fraction(24000, 1001)
OUTPUT_RATE = Fraction(60000, 1001)
FRAMES = 48


def _scene(characters: list[Character]) -> Scene:
    return Scene(width=160, height=90, frames=FRAMES, rate=SOURCE_RATE, background=Background(), characters=characters)


def _write(path: Path, scene: Scene) -> Path:
    write_clip(path, scene.source_frames(), SOURCE_RATE)
    return path


def twos_beside_threes(tmp_path: Path, make_clip: Callable[..., Path]) -> Path:
    """Two characters on different rhythms: nodes are mixes one or two interpolations deep."""
    return _write(tmp_path / "twos_threes.mp4", _scene([
        Character(start=(20.0, 60.0), velocity=(1.5, 0.0), radius=(14.0, 20.0), holds=(2,)),
        Character(start=(110.0, 28.0), velocity=(-1.5, 0.0), radius=(11.0, 15.0), body=(120, 150, 236), holds=(3,),
                  phase=1),
    ]))


def two_three(tmp_path: Path, make_clip: Callable[..., Path]) -> Path:
    """One character on a 2-3 pattern (the conftest clip)."""
    return make_clip("two_three.mp4", frames=FRAMES, holds=(2, 3))


def long_holds(tmp_path: Path, make_clip: Callable[..., Path]) -> Path:
    """Twos, then a hold of 12 frames (longer than ``max_hold``: a still picture), and again."""
    return make_clip("long_holds.mp4", frames=FRAMES, holds=(2, 2, 12))


CLIPS = {"twos beside threes": twos_beside_threes, "two-three": two_three, "long holds": long_holds}


@pytest.fixture(scope="module")
def flow() -> Interpolator:
    return make_interpolator("flow", "cpu")


def _decoded(path: Path) -> list[tuple[DecodedFrame, bool]]:
    return list(tag_cuts(decode(path), True))


def _run(frames: list[tuple[DecodedFrame, bool]], interpolator: Interpolator, origin: Fraction,
         first_index: int = 0) -> dict[int, torch.Tensor]:
    outputs = resample_frames(iter(frames), interpolator, OUTPUT_RATE, "cadence", first_index=first_index,
                              start=origin)
    return {output.index: output.image for output in outputs}


def _frame_at(frames: list[tuple[DecodedFrame, bool]], time: Fraction) -> int:
    """The last source frame at or before ``time`` (where a restart for ``time`` counts back from)."""
    return max(position for position, (frame, _) in enumerate(frames) if frame.time <= time)


def _restart(frames: list[tuple[DecodedFrame, bool]], interpolator: Interpolator, index: int,
             look_back: int) -> dict[int, torch.Tensor]:
    origin = frames[0][0].time
    position = _frame_at(frames, origin + index / OUTPUT_RATE)
    return _run(frames[max(0, position - look_back):], interpolator, origin, first_index=index)


def _differing(continuous: dict[int, torch.Tensor], restarted: dict[int, torch.Tensor], index: int) -> list[int]:
    assert sorted(restarted) == [j for j in sorted(continuous) if j >= index]
    return [j for j in restarted if not torch.equal(restarted[j], continuous[j])]


#: output indices to restart at: source frames 32 to 46, all deeper into the shot than the look-back
RESTARTS = [80, 88, 93, 101, 107, 114]


@pytest.mark.parametrize("clip", list(CLIPS))
def test_cadence_restart_with_its_context_matches_a_continuous_run(clip: str, tmp_path: Path,
                                                                  make_clip: Callable[..., Path],
                                                                  flow: Interpolator) -> None:
    frames = _decoded(CLIPS[clip](tmp_path, make_clip))
    continuous = _run(frames, flow, frames[0][0].time)
    assert len(continuous) == 120
    look_back = CadenceNodes.context_frames.before
    for index in RESTARTS:
        assert _frame_at(frames, frames[0][0].time + index / OUTPUT_RATE) > look_back
        restarted = _restart(frames, flow, index, look_back)
        assert not _differing(continuous, restarted, index), f"{clip}: restart at output {index} differs"


def test_a_restart_without_look_back_lands_elsewhere(tmp_path: Path, make_clip: Callable[..., Path],
                                                     flow: Interpolator) -> None:
    """Why the look-back matters: started on the output's own frame, cadence takes it for a shot start."""
    frames = _decoded(twos_beside_threes(tmp_path, make_clip))
    continuous = _run(frames, flow, frames[0][0].time)
    differing = [j for index in RESTARTS for j in _differing(continuous, _restart(frames, flow, index, 0), index)]
    assert differing, "a restart without look-back already reproduces every restart"


def test_player_seek_lands_on_the_continuous_frames(tmp_path: Path, make_clip: Callable[..., Path],
                                                    flow: Interpolator) -> None:
    """The player's own source: ``frames_from`` decodes again from before the seek target."""
    path = twos_beside_threes(tmp_path, make_clip)
    frames = _decoded(path)
    origin = frames[0][0].time
    continuous = _run(frames, flow, origin)
    sources = SourceFrames(path, None, True, SOURCE_RATE, keep=24)
    try:
        for index in (101, 82):  # forward, then back past what the history keeps
            source = sources.frames_from(origin + index / OUTPUT_RATE, pairs=False,
                                         context=CadenceNodes.context_frames.before)
            restarted = _run(list(source), flow, origin, first_index=index)
            assert not _differing(continuous, restarted, index), f"seek to output {index} differs"
    finally:
        sources.close()


def test_context_frames_of_every_schedule() -> None:
    assert SCHEDULES["naive"].context_frames == (0, 1)
    assert SCHEDULES["pairs"].context_frames == (0, 3)
    regional = SCHEDULES["regional"]
    assert regional.context_frames == (2 * regional.max_hold + regional.context_before + 1,
                                       regional.lookahead + regional.context_after) == (17, 12)
    cadence = SCHEDULES["cadence"]
    hold, lookahead = cadence.max_hold, cadence.lookahead
    assert cadence.context_frames == (3 * hold + lookahead + cadence.context_before + 2,
                                      hold + 1 + lookahead + cadence.context_after) == (30, 15)


class _LinearPair:
    def __init__(self, a: float, b: float) -> None:
        self.a, self.b = a, b

    def frames_at(self, timesteps: list[Fraction]) -> list[float]:
        return [self.a + float(t) * (self.b - self.a) for t in timesteps]


class _LinearNumbers:
    def prepare(self, a: float, b: float) -> _LinearPair:
        return _LinearPair(a, b)


def test_cadence_nodes_are_never_far_apart_in_a_still_picture() -> None:
    """A still picture gets a node per frame after ``max_hold`` frames: what bounds the look-back."""
    holds = (2, 2, 16)
    producer = CadenceNodes(_LinearNumbers())
    nodes = []
    for n in range(60):
        nodes += producer.push(SourceFrame(n, Fraction(n), float(drawing_time(n, holds))))
    nodes += producer.end_shot()
    times = [int(node.time) for node in nodes]
    assert max(b - a for a, b in itertools.pairwise(times)) <= producer.max_hold + 1
    # The first still stretch (drawing at 4, next at 20): the drawing, nothing for max_hold frames,
    # then a node per frame up to 18, where the layer starts moving again (``restart`` before 20).
    assert [t for t in times if 4 <= t <= 20] == [4, *range(4 + producer.max_hold + 1, 19), 20]
    assert all(node.image == drawing_time(int(node.time), holds) for node in nodes)


class _CrossFadePair:
    def __init__(self, frame0: torch.Tensor, frame1: torch.Tensor) -> None:
        self.frame0, self.frame1 = frame0, frame1

    def frames_at(self, timesteps: list) -> list[torch.Tensor]:
        results = []
        for t in timesteps:
            weight = torch.as_tensor(t, dtype=torch.float32) if isinstance(t, torch.Tensor) else float(t)
            results.append(self.frame0 + weight * (self.frame1 - self.frame0))
        return results


class _CrossFadeMaps:
    """Deterministic and map-capable (per-pixel cross-fade): what the restart needs to be checked against."""

    name = "crossfade"
    supports_time_maps = True
    device = torch.device("cpu")

    def prepare(self, frame0: torch.Tensor, frame1: torch.Tensor) -> _CrossFadePair:
        return _CrossFadePair(frame0, frame1)


@pytest.mark.parametrize("clip", list(CLIPS))
def test_regional_restart_with_its_context_matches_a_continuous_run(clip: str, tmp_path: Path,
                                                                   make_clip: Callable[..., Path]) -> None:
    """The regional schedule (per-pixel time maps) on real decoded clips: restarts land on identical frames."""
    frames = _decoded(CLIPS[clip](tmp_path, make_clip))
    interpolator = _CrossFadeMaps()
    origin = frames[0][0].time

    def run(start: int, first_index: int = 0) -> dict[int, torch.Tensor]:
        outputs = resample_frames(iter(frames[start:]), interpolator, OUTPUT_RATE, "regional",  # type: ignore[arg-type]
                                  first_index=first_index, start=origin)
        return {output.index: output.image for output in outputs}

    continuous = run(0)
    assert len(continuous) == 120
    look_back = SCHEDULES["regional"].context_frames.before
    for index in RESTARTS:
        position = _frame_at(frames, origin + index / OUTPUT_RATE)
        assert position > look_back
        restarted = run(position - look_back, index)
        assert not _differing(continuous, restarted, index), f"{clip}: restart at output {index} differs"
    # Started on the output's own frame instead, the schedule takes it for a shot start somewhere.
    differing = [j for index in RESTARTS
                 for j in _differing(continuous, run(_frame_at(frames, origin + index / OUTPUT_RATE), index), index)]
    assert differing, "a restart without look-back already reproduces every restart"
