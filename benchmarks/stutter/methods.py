"""Every method of the comparison, each turning a source clip into uniformly timed output frames.

* stsr schedules (``naive``, ``pairs``, ``cadence``, ...) through :class:`stsr.schedules.Resampler`;
* ``dupdrop``: what players and converters do today: drop frames equal to the previous
  one (mean absolute difference under a threshold), interpolate the rest by their timestamps;
* ``reference``: the published SpatiotemporalResampling schedule, modelled on its ``resample.py``;
* ``mci`` / ``blend``: FFmpeg's ``minterpolate`` (motion compensated) and ``framerate`` (blending).

Schedules are generic over the frame type, so each runs with a real backend on
decoded pictures and with the oracle on poses.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from stsr.schedules import SCHEDULES, Node, NodeProducer, OutputFrame, PairPreparer, Resampler, SourceFrame

from .experiments import EXPERIMENTS, BoxedPairNodes

OUTPUT_RATE = Fraction(60000, 1001)
#: mean absolute difference (0-255) under which ``dupdrop`` calls a frame a duplicate
DUPLICATE_THRESHOLD = 0.5


def mean_abs_difference(frame0: Any, frame1: Any) -> float:
    """0-255 scale, for tensors in [0, 1], uint8 pictures, or oracle frames (rendered)."""
    render0, render1 = getattr(frame0, "render", None), getattr(frame1, "render", None)
    if callable(render0) and callable(render1):
        frame0, frame1 = render0(), render1()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(frame0, torch.Tensor):
        return float((frame0 - frame1).abs().mean()) * 255.0
    return float(np.abs(np.asarray(frame0, np.float32) - np.asarray(frame1, np.float32)).mean())


class DuplicateDropNodes(NodeProducer[Any]):
    """Frames that differ from the previous one are nodes at their own time; duplicates are dropped."""

    def __init__(self, interpolator: PairPreparer[Any], threshold: float = DUPLICATE_THRESHOLD,
                 difference: Callable[[Any, Any], float] = mean_abs_difference) -> None:
        super().__init__(interpolator)
        self.threshold = threshold
        self.difference = difference
        self._previous: Any = None

    def push(self, frame: SourceFrame[Any]) -> list[Node[Any]]:
        previous, self._previous = self._previous, frame.image
        if previous is not None and self.difference(previous, frame.image) <= self.threshold:
            return []
        return [Node(frame.time, frame.image)]

    def end_shot(self) -> list[Node[Any]]:
        self._previous = None
        return []


class ProducerResampler(Resampler[Any]):
    """:class:`Resampler` with a node producer given as an object (for schedules not in SCHEDULES)."""

    def __init__(self, interpolator: PairPreparer[Any], rate: Fraction, producer: NodeProducer[Any]) -> None:
        super().__init__(interpolator, rate, "naive")
        self._producer = producer


def stsr_outputs(frames: Iterable[SourceFrame[Any]], interpolator: PairPreparer[Any], schedule: str,
                 end_time: Fraction, rate: Fraction = OUTPUT_RATE) -> Iterator[OutputFrame[Any]]:
    """A schedule over any frame type: a name from SCHEDULES, ``dupdrop``, or one of the EXPERIMENTS."""
    if schedule == "dupdrop":
        resampler: Resampler[Any] = ProducerResampler(interpolator, rate, DuplicateDropNodes(interpolator))
    elif schedule in EXPERIMENTS:
        producer = BoxedPairNodes(interpolator, EXPERIMENTS[schedule])
        resampler = ProducerResampler(interpolator, rate, producer)
    elif schedule in SCHEDULES:
        resampler = Resampler(interpolator, rate, schedule)
    else:
        raise ValueError(f"unknown schedule {schedule!r}")
    for frame in frames:
        yield from resampler.push(frame)
    yield from resampler.finish(end_time)


def reference_outputs(frames: Iterable[SourceFrame[Any]], interpolator: PairPreparer[Any],
                      times: int = 5) -> Iterator[tuple[int, Any]]:
    """The published schedule, step by step as its ``resample.py`` does it; yields (output index, frame).

    Output ``j`` is shown at ``start + j / (source rate / 2 * times)``. It starts with
    ``times - 1`` copies of the first frame; then for each pair midpoint ``x`` it emits
    ``x`` followed by interpolations towards the next midpoint at ``t = i / (times - 1)``,
    ``i = 1 .. times - 1``: the last is ``t = 1.0``, the next midpoint, which the next
    round emits again (a hitch every ``times`` frames). A cut inside a pair holds; a
    cut between pairs is not looked at (the published code discards that check).
    """
    stream = iter(frames)
    index = 0

    def emit(image: Any) -> tuple[int, Any]:
        nonlocal index
        index += 1
        return index - 1, image

    def midpoint(first: SourceFrame[Any], second: SourceFrame[Any]) -> tuple[Any, bool]:
        if second.cut_before:
            return first.image, True
        return interpolator.prepare(first.image, second.image).frames_at([Fraction(1, 2)])[0], False

    first = next(stream, None)
    second = next(stream, None)
    if first is None or second is None:
        return
    for _ in range(times - 1):
        yield emit(first.image)
    current = midpoint(first, second)
    steps = [Fraction(i, times - 1) for i in range(1, times)]
    while True:
        yield emit(current[0])
        third, fourth = next(stream, None), next(stream, None)
        if third is None or fourth is None:
            break
        following = midpoint(third, fourth)
        if current[1]:
            for _ in steps:
                yield emit(current[0])
        else:
            yield from (emit(image) for image in interpolator.prepare(current[0], following[0]).frames_at(steps))
        current = following


@dataclass
class Produced:
    """A method's output: presentation times (seconds) and pictures or oracle frames."""

    times: list[Fraction]
    frames: list[Any]
    seconds: float


def run_schedule(frames: list[SourceFrame[Any]], interpolator: PairPreparer[Any], schedule: str,
                 end_time: Fraction, convert: Callable[[Any], Any] = lambda image: image) -> Produced:
    """Run a schedule (or ``reference``) in process; ``convert`` maps output frames (e.g. tensor -> uint8)."""
    started = time.perf_counter()
    times: list[Fraction] = []
    outputs: list[Any] = []
    if schedule == "reference":
        source_rate = 1 / (frames[1].time - frames[0].time)
        rate = source_rate / 2 * 5
        for index, image in reference_outputs(frames, interpolator):
            times.append(frames[0].time + Fraction(index) / rate)
            outputs.append(convert(image))
    else:
        for output in stsr_outputs(frames, interpolator, schedule, end_time):
            times.append(output.time)
            outputs.append(convert(output.image))
    return Produced(times, outputs, time.perf_counter() - started)


FFMPEG_FILTERS = {
    "mci": "minterpolate", "blend": "framerate",
}


def ffmpeg_filter_available(method: str) -> bool:
    import av.filter

    return FFMPEG_FILTERS[method] in av.filter.filters_available


def run_ffmpeg(source: Path, method: str, rate: Fraction = OUTPUT_RATE) -> Produced:
    """FFmpeg's own interpolation filters, run through PyAV's filter graph on the decoded source."""
    import av.filter

    rate_text = f"{rate.numerator}/{rate.denominator}"
    arguments = f"fps={rate_text}:mi_mode=mci" if method == "mci" else f"fps={rate_text}"
    started = time.perf_counter()
    times: list[Fraction] = []
    outputs: list[np.ndarray] = []
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        graph = av.filter.Graph()
        buffer = graph.add_buffer(template=stream)
        interpolate = graph.add(FFMPEG_FILTERS[method], arguments)
        to_rgb = graph.add("format", "pix_fmts=rgb24")
        sink = graph.add("buffersink")
        buffer.link_to(interpolate)
        interpolate.link_to(to_rgb)
        to_rgb.link_to(sink)
        graph.configure()

        def drain() -> None:
            while True:
                try:
                    frame = graph.pull()
                except (av.error.BlockingIOError, av.error.EOFError):
                    return
                times.append(Fraction(frame.pts) * frame.time_base)
                outputs.append(frame.to_ndarray())

        for frame in container.decode(stream):
            graph.push(frame)
            drain()
        graph.push(None)
        drain()
    return Produced(times, outputs, time.perf_counter() - started)
