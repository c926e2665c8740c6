"""Stage 2 and the whole resampler: nodes to output frames at exactly uniform times."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Generic

from .base import F, Node, OutputFrame, PairPreparer, SourceFrame
from .registry import DEFAULT_SCHEDULE, SCHEDULES


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
        if previous.span is not None:
            rendered = previous.span.frames_at([self.time_of(j) for j in indices])
            self._next_index = indices.stop
            return [OutputFrame(j, self.time_of(j), image, "interpolated")
                    for j, image in zip(indices, rendered, strict=True)]
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
        schedule: str = DEFAULT_SCHEDULE,
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
    schedule: str = DEFAULT_SCHEDULE,
) -> Iterator[OutputFrame[F]]:
    """Convenience wrapper over :class:`Resampler` for a finite stream."""
    resampler: Resampler[F] = Resampler(interpolator, rate, schedule)
    for frame in frames:
        yield from resampler.push(frame)
    yield from resampler.finish(end_time)
