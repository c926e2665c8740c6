"""Resampling schedules: which frames are interpolated, at which exact output times.

Everything here is generic over the frame type ``F``: the schedule never looks at
pixels, it only asks an interpolator for in-betweens. That keeps it testable with a
fake interpolator that moves a number, and lets the stutter benchmark swap in an
oracle that renders ground truth.

Two stages, both streaming:

1. A :class:`NodeProducer` turns source frames into *nodes*: frames with a
   presentation time. ``naive`` uses the source frames themselves. ``pairs`` (the
   stsr method) makes one midpoint per pair of source frames, ``VFI(f2k, f2k+1, 1/2)``:
   a held pair collapses to its drawing, a pair that straddles a new drawing becomes
   the in-between, per pixel.
2. :class:`UniformUpsampler` interpolates between consecutive nodes at exactly
   uniform output times ``start + j / rate`` (exact :class:`~fractions.Fraction`).
   Each node pair is prepared once and asked for all its output times in one batch.

Scene cuts end a *shot*: nodes are never paired across a cut, and outputs between
the last node of a shot and the cut hold that node.

Presentation time of a midpoint: on twos, ``VFI(f2k, f2k+1, 1/2)`` shows the pose
drawn for time ``2k`` whichever the drawing phase (held pair: the drawing made at
``2k``; straddling pair: the midway of drawings at ``2k-1`` and ``2k+1``). So a
midpoint is presented at the time of the first frame of its pair, which puts twos
exactly in sync with the audio. (The published schedule shows it a pair later and
repeats it: 1.4 source frames of lag and a hitch.)

Two constraints every schedule must meet, whatever its smoothness: **no drawing is
lost** (every new drawing of every region appears in the output at its own time, or
within one output frame of it, as that drawing: not an older one held, a later one,
or a mix of two), and **no region is frozen while its source moves**. Losing a drawing
is worse than a stutter: the animator drew it. ``tests/test_constraints.py`` checks
both with the benchmark's oracle on the hard scenes; the stutter benchmark measures
them on every scene (drawing-time fidelity, frozen share of motion).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar, Generic, NamedTuple, Protocol, TypeVar

F = TypeVar("F")


class PairPreparer(Protocol[F]):  # type: ignore[misc]
    """The part of :class:`stsr.interpolators.base.Interpolator` the schedule needs."""

    def prepare(self, frame0: F, frame1: F) -> _Prepared[F]: ...


class _Prepared(Protocol[F]):  # type: ignore[misc]
    def frames_at(self, timesteps: Sequence[Fraction]) -> list[F]: ...


@dataclass(frozen=True)
class SourceFrame(Generic[F]):
    """A decoded source frame with its exact presentation time in seconds."""

    index: int
    time: Fraction
    image: F
    #: True when a scene cut lies between the previous frame and this one
    cut_before: bool = False


@dataclass(frozen=True)
class Node(Generic[F]):
    """A frame on the resampled timeline (a source frame or a midpoint)."""

    time: Fraction
    image: F


@dataclass(frozen=True)
class OutputFrame(Generic[F]):
    """One output frame: index ``j`` is shown at ``time = start + j / rate``."""

    index: int
    time: Fraction
    image: F
    #: where it came from: "interpolated", "node" (t == 0) or "held" (shot edge)
    kind: str = "interpolated"


class Context(NamedTuple):
    """Source frames a run needs around a position to match an uninterrupted run there."""

    #: start this many source frames before the position's own frame (the last one at or before it)
    before: int
    #: and read this many past it before ending the run (an early end changes the last nodes)
    after: int


class NodeProducer(ABC, Generic[F]):
    """Stage 1: source frames of one shot in, timed nodes out (streaming).

    ``context_frames``: a producer started ``context_frames.before`` source frames before
    the frame ``P`` an output time falls on (the shot's own start when that is later)
    emits, from the last node at or before ``P`` on, exactly the nodes of a run that
    started at the shot start, once it has read ``context_frames.after`` frames past
    ``P``; so the outputs from ``P`` on are identical. That is what a seek in the player
    and a chunk of a distributed conversion need to start mid-shot.
    """

    #: the look-back and look-ahead around a restart; see the class docstring
    context_frames: ClassVar[Context] = Context(0, 1)

    def __init__(self, interpolator: PairPreparer[F]) -> None:
        self.interpolator = interpolator

    @abstractmethod
    def push(self, frame: SourceFrame[F]) -> list[Node[F]]:
        """Feed the next frame of the current shot; return nodes now complete."""

    @abstractmethod
    def end_shot(self) -> list[Node[F]]:
        """The shot ended (cut or end of stream): return the remaining nodes and reset."""


class OutputSchedule(ABC, Generic[F]):
    """A schedule that makes output frames itself (no nodes): source frames in, uniformly timed frames out.

    For schedules whose passes are not between nodes (``regional`` renders every output
    from source frames with per-pixel time maps). Same shape as the two stages together
    (:class:`~stsr.schedules.upsample.Resampler` drives either): output ``j`` is at
    ``start + j / rate``; outputs before ``first_index`` are skipped; at a cut,
    :meth:`end_shot` holds the shot's last frame up to the next shot's start, never
    blending across it. ``context_frames`` means what it means for a :class:`NodeProducer`.
    """

    context_frames: ClassVar[Context] = Context(0, 1)

    def __init__(self, interpolator: PairPreparer[F], rate: Fraction, start: Fraction, first_index: int = 0) -> None:
        self.interpolator = interpolator
        self.rate = Fraction(rate)
        self.start = Fraction(start)
        self.next_index = max(0, first_index)

    def time_of(self, index: int) -> Fraction:
        return self.start + Fraction(index) / self.rate

    @abstractmethod
    def push(self, frame: SourceFrame[F]) -> list[OutputFrame[F]]:
        """Feed the next frame of the current shot; return the output frames now complete."""

    @abstractmethod
    def end_shot(self, next_shot_start: Fraction) -> list[OutputFrame[F]]:
        """The shot ended: the rest of its outputs, the last frame held up to ``next_shot_start``."""

    def finish(self, end: Fraction) -> list[OutputFrame[F]]:
        return self.end_shot(end)
