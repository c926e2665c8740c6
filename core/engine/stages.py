"""Wiring a job's background stages, and taking them down so that no thread outlives its job.

``convert`` and ``pipe`` both run decode -> (cut detection) -> model in background
threads behind bounded queues and consume the outputs in the calling thread. The
same start-up (refuse clips with fewer than two frames before any output exists)
and the same shutdown (stop every stage, then *wait* for it) live here once.

Why wait: a model stage may be inside a multi-second network pass when the job
ends. Left running, it would keep using the interpolator (and its frame-feature
cache) while the next job of a watch folder or a library user starts on the same
one. So :meth:`JobStages.close` joins every thread, and a new job refuses to start
while a stage of an earlier one is somehow still alive.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import TypeVar

import torch

from ..errors import InputError, StageStuck
from ..interpolators import Interpolator
from ..io.video import DecodedFrame
from ..schedules import OutputFrame
from .frames import resample_frames, tag_cuts
from .pipeline import BackgroundIterator

log = logging.getLogger(__name__)

T = TypeVar("T")

#: how long a new job waits for an earlier job's stage to finish before refusing to start
STUCK_STAGE_WAIT = 120.0
#: queue depths: decoded frames ahead of the model, output frames ahead of the encoder
DECODE_QUEUE = 6
MODEL_QUEUE = 8

_live_lock = threading.Lock()
_live_threads: list[threading.Thread] = []


def _wait_for_earlier_stages(timeout: float) -> None:
    with _live_lock:
        alive = [thread for thread in _live_threads if thread.is_alive()]
        _live_threads[:] = alive
    for thread in alive:
        thread.join(timeout)
        if thread.is_alive():
            raise StageStuck(f"a background stage of an earlier job ({thread.name}) is still running; "
                             "not starting a new job beside it")


class JobStages:
    """The background stages of one job: created through :meth:`background`, all stopped by :meth:`close`.

    ``cancel`` is the caller's stop request (Ctrl-C, SIGTERM, a watch folder
    stopping); the job's own ``halt`` event stops the stages when the job ends for
    any other reason. The caller's event is never set by the job.
    """

    def __init__(self, cancel: threading.Event | None = None, stuck_wait: float = STUCK_STAGE_WAIT) -> None:
        _wait_for_earlier_stages(stuck_wait)
        self.cancel = cancel or threading.Event()
        self.halt = threading.Event()
        self._stages: list[BackgroundIterator] = []

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def background(self, source: Iterable[T], maxsize: int, name: str) -> BackgroundIterator[T]:
        stage: BackgroundIterator[T] = BackgroundIterator(source, maxsize, name, (self.halt, self.cancel))
        self._stages.append(stage)
        with _live_lock:
            _live_threads.append(stage.thread)
        return stage

    def close(self) -> None:
        """Stop every stage, downstream first, and wait until each thread has ended."""
        self.halt.set()
        for stage in reversed(self._stages):
            stage.close(timeout=None)

    def __enter__(self) -> JobStages:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def first_frames(frames: Iterator[T], count: int) -> list[T]:
    """Up to ``count`` items from ``frames`` (fewer only at the end of the stream)."""
    taken: list[T] = []
    for item in frames:
        taken.append(item)
        if len(taken) == count:
            break
    return taken


def start_resampling(
    stages: JobStages,
    frames: Iterable[DecodedFrame],
    interpolator: Interpolator,
    rate: Fraction,
    schedule: str,
    scene_detect: bool,
    source_name: str,
) -> tuple[list[DecodedFrame], Iterator[OutputFrame[torch.Tensor]]]:
    """Decode (with cut detection) and model stages for a job.

    Returns the first two decoded frames (their size and time start the output) and
    the stream of output frames. Fewer than two frames raise :class:`InputError`
    before the model runs, so no output is ever created for them.
    """
    decoded = stages.background(tag_cuts(frames, scene_detect), DECODE_QUEUE, "decode")
    head = first_frames(decoded, 2)
    if len(head) < 2:
        if stages.cancelled:
            return [frame for frame, _ in head], iter(())
        count = "no frames" if not head else "only one frame"
        raise InputError(f"{source_name}: {count}; need at least 2 to interpolate")

    def all_frames() -> Iterator[tuple[DecodedFrame, bool]]:
        yield from head
        yield from decoded

    outputs = stages.background(resample_frames(all_frames(), interpolator, rate, schedule), MODEL_QUEUE, "model")
    return [frame for frame, _ in head], outputs
