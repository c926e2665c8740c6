"""Stage 2 and the whole resampler: nodes to output frames at exactly uniform times."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Generic

from .base import F, Node, OutputFrame, OutputSchedule, PairPreparer, SourceFrame
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
        #: a schedule that makes its output frames itself (``regional``) replaces both stages
        self._direct_class = producer_class if isinstance(producer_class, type) and issubclass(
            producer_class, OutputSchedule) else None
        self._direct: OutputSchedule[F] | None = None
        if self._direct_class is None:
            self._producer = producer_class(interpolator)
        else:
            # Made now so that an unsuitable backend is refused before any frame is read.
            self._direct = self._direct_class(interpolator, self.rate, start or Fraction(0), first_index)
        self._interpolator = interpolator
        self._start = start
        self._first_index = first_index
        self._upsampler: UniformUpsampler[F] | None = None
        self._started = False

    @property
    def upsampler(self) -> UniformUpsampler[F]:
        assert self._upsampler is not None, "no frame pushed yet"
        return self._upsampler

    def push(self, frame: SourceFrame[F]) -> list[OutputFrame[F]]:
        if self._direct_class is not None:
            return self._push_direct(frame)
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

    def _push_direct(self, frame: SourceFrame[F]) -> list[OutputFrame[F]]:
        assert self._direct is not None and self._direct_class is not None
        if not self._started:
            self._started = True
            if self._start is None:
                # The timeline starts at the first frame, as the two stages' does.
                self._direct = self._direct_class(self._interpolator, self.rate, frame.time, self._first_index)
            return self._direct.push(frame)
        outputs = self._direct.end_shot(frame.time) if frame.cut_before else []
        return outputs + self._direct.push(frame)

    def finish(self, end_time: Fraction) -> list[OutputFrame[F]]:
        if self._direct is not None:
            return self._direct.finish(end_time) if self._started else []
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
