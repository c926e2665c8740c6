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
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Generic, Protocol, TypeVar

F = TypeVar("F")


class PairPreparer(Protocol[F]):  # type: ignore[misc]
    """The part of :class:`core.interpolators.base.Interpolator` the schedule needs."""

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


class NodeProducer(ABC, Generic[F]):
    """Stage 1: source frames of one shot in, timed nodes out (streaming)."""

    def __init__(self, interpolator: PairPreparer[F]) -> None:
        self.interpolator = interpolator

    @abstractmethod
    def push(self, frame: SourceFrame[F]) -> list[Node[F]]:
        """Feed the next frame of the current shot; return nodes now complete."""

    @abstractmethod
    def end_shot(self) -> list[Node[F]]:
        """The shot ended (cut or end of stream): return the remaining nodes and reset."""


class NaiveNodes(NodeProducer[F]):
    """Every source frame is a node: plain interpolation, the stutter users have today."""

    def push(self, frame: SourceFrame[F]) -> list[Node[F]]:
        return [Node(frame.time, frame.image)]

    def end_shot(self) -> list[Node[F]]:
        return []


class PairMidpointNodes(NodeProducer[F]):
    """One midpoint per pair of source frames, presented at the pair's first frame time."""

    def __init__(self, interpolator: PairPreparer[F]) -> None:
        super().__init__(interpolator)
        self._pending: SourceFrame[F] | None = None

    def push(self, frame: SourceFrame[F]) -> list[Node[F]]:
        if self._pending is None:
            self._pending = frame
            return []
        first, self._pending = self._pending, None
        (midpoint,) = self.interpolator.prepare(first.image, frame.image).frames_at([Fraction(1, 2)])
        return [Node(first.time, midpoint)]

    def end_shot(self) -> list[Node[F]]:
        # An odd frame out at the end of a shot stands for itself.
        leftover, self._pending = self._pending, None
        return [] if leftover is None else [Node(leftover.time, leftover.image)]


SCHEDULES: dict[str, Callable[[PairPreparer], NodeProducer]] = {
    "naive": NaiveNodes,
    "pairs": PairMidpointNodes,
}


def output_frame_count(start: Fraction, end: Fraction, rate: Fraction) -> int:
    """Number of output frames at ``rate`` that start inside ``[start, end)``."""
    if end <= start:
        return 0
    return math.ceil((end - start) * rate)


@dataclass
class UniformUpsampler(Generic[F]):
    """Stage 2: output frames at exactly uniform times from a stream of nodes.

    Call :meth:`add_node` for each node of a shot, :meth:`end_shot` at a cut with the
    time the next shot starts, and :meth:`finish` with the end time of the stream.
    Each returns the output frames that became computable, in order.
    """

    interpolator: PairPreparer[F]
    rate: Fraction
    start: Fraction
    #: outputs with a smaller index are skipped without being computed (seeking)
    first_index: int = 0
    _next_index: int = field(init=False)
    _previous: Node[F] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.rate = Fraction(self.rate)
        self._next_index = max(0, self.first_index)

    def time_of(self, index: int) -> Fraction:
        return self.start + Fraction(index) / self.rate

    def _indices_before(self, limit: Fraction) -> range:
        """Output indices not yet emitted whose time is strictly before ``limit``."""
        stop = max(self._next_index, math.ceil((limit - self.start) * self.rate))
        return range(self._next_index, stop)

    def add_node(self, node: Node[F]) -> list[OutputFrame[F]]:
        previous, self._previous = self._previous, node
        if previous is None:
            # First node of a shot: anything before it (only possible when a shot's first
            # node is later than its cut) holds this node.
            return self._hold(node, self._indices_before(node.time))
        indices = self._indices_before(node.time)
        if not indices:
            return []
        span = node.time - previous.time
        steps = [(self.time_of(j) - previous.time) / span for j in indices]
        # Times before the previous node (right after a cut) clamp to it.
        steps = [max(Fraction(0), step) for step in steps]
        outputs: list[OutputFrame[F]] = []
        to_interpolate = [(j, t) for j, t in zip(indices, steps, strict=True) if t != 0]
        images: dict[int, F] = {}
        if to_interpolate:
            prepared = self.interpolator.prepare(previous.image, node.image)
            rendered = prepared.frames_at([t for _, t in to_interpolate])
            images = {j: image for (j, _), image in zip(to_interpolate, rendered, strict=True)}
        for j in indices:
            if j in images:
                outputs.append(OutputFrame(j, self.time_of(j), images[j], "interpolated"))
            else:
                outputs.append(OutputFrame(j, self.time_of(j), previous.image, "node"))
        self._next_index = indices.stop
        return outputs

    def _hold(self, node: Node[F], indices: range) -> list[OutputFrame[F]]:
        self._next_index = max(self._next_index, indices.stop)
        return [OutputFrame(j, self.time_of(j), node.image, "held") for j in indices]

    def end_shot(self, next_shot_start: Fraction) -> list[OutputFrame[F]]:
        """Hold the last node of the shot up to the cut; never blend across it."""
        last, self._previous = self._previous, None
        if last is None:
            return []
        return self._hold(last, self._indices_before(next_shot_start))

    def finish(self, end: Fraction) -> list[OutputFrame[F]]:
        return self.end_shot(end)


class Resampler(Generic[F]):
    """Source frames in, uniformly timed output frames out: stage 1 + stage 2 + cuts.

    ``end_time`` of the stream is given to :meth:`finish` (the last frame's time plus
    its duration) so that the output covers exactly the input's duration.
    """

    def __init__(
        self,
        interpolator: PairPreparer[F],
        rate: Fraction,
        schedule: str = "pairs",
        start: Fraction | None = None,
        first_index: int = 0,
    ) -> None:
        try:
            producer_class = SCHEDULES[schedule]
        except KeyError:
            raise ValueError(f"unknown schedule {schedule!r} (choose from {', '.join(SCHEDULES)})") from None
        self.rate = Fraction(rate)
        self._producer = producer_class(interpolator)
        self._interpolator = interpolator
        self._start = start
        self._first_index = first_index
        self._upsampler: UniformUpsampler[F] | None = None

    @property
    def upsampler(self) -> UniformUpsampler[F]:
        assert self._upsampler is not None, "no frame pushed yet"
        return self._upsampler

    def push(self, frame: SourceFrame[F]) -> list[OutputFrame[F]]:
        outputs: list[OutputFrame[F]] = []
        if self._upsampler is None:
            start = frame.time if self._start is None else self._start
            self._upsampler = UniformUpsampler(self._interpolator, self.rate, start, self._first_index)
        elif frame.cut_before:
            for node in self._producer.end_shot():
                outputs += self._upsampler.add_node(node)
            outputs += self._upsampler.end_shot(frame.time)
        for node in self._producer.push(frame):
            outputs += self._upsampler.add_node(node)
        return outputs

    def finish(self, end_time: Fraction) -> list[OutputFrame[F]]:
        if self._upsampler is None:
            return []
        outputs: list[OutputFrame[F]] = []
        for node in self._producer.end_shot():
            outputs += self._upsampler.add_node(node)
        return outputs + self._upsampler.finish(end_time)


def resample(
    frames: Iterable[SourceFrame[F]],
    interpolator: PairPreparer[F],
    rate: Fraction,
    end_time: Fraction,
    schedule: str = "pairs",
) -> Iterator[OutputFrame[F]]:
    """Convenience wrapper over :class:`Resampler` for a finite stream."""
    resampler: Resampler[F] = Resampler(interpolator, rate, schedule)
    for frame in frames:
        yield from resampler.push(frame)
    yield from resampler.finish(end_time)


# Multi-frame schedules live in their own module, which adds them to SCHEDULES when imported.
from . import schedules_multi  # noqa: E402, F401
