"""The engine side of the player: source frames in, YUV 4:2:0 frames for mpv out, on demand.

Output frame ``j`` is the frame for time ``origin + j / rate`` on the source's clock,
whatever mode produced it, so toggling smoothing, seeking and stepping the quality
down never move the timeline. A *level* says how frame ``j`` is made: a backend at
a processing height, or the source frame itself (the nearest earlier source frame,
i.e. plain frame repetition at the output rate).

Switching level or jumping elsewhere is a *restart* at an output index: a new
:func:`stsr.engine.resample_frames` run that starts at that index. Restarts are
cheap because recent decoded source frames are kept (:class:`SourceFrames`), so a
toggle or a step-down does not decode the file again; only a seek far away reopens
the decoder.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from stsr.engine import resample_frames, tag_cuts
from stsr.engine.pipeline import BackgroundIterator
from stsr.interpolators.base import Interpolator
from stsr.io.color import tensor_to_i420, untagged_matrix
from stsr.io.video import DecodedFrame, decode
from stsr.schedules import SCHEDULES

log = logging.getLogger(__name__)

#: the backend name of the "smoothing off" level
SOURCE = "source"


@dataclass(frozen=True)
class Level:
    """How output frames are made: ``backend`` at processing ``height`` (or the source frames)."""

    backend: str
    height: int

    @property
    def smooth(self) -> bool:
        return self.backend != SOURCE

    def label(self) -> str:
        return "source frames (smoothing off)" if not self.smooth else f"{self.backend} at {self.height}p"


@dataclass(frozen=True)
class Timeline:
    """Output frame ``j`` is shown at ``origin + j / rate`` (source clock); there are ``count`` of them."""

    origin: Fraction
    rate: Fraction
    count: int

    def time_of(self, index: int) -> Fraction:
        return self.origin + Fraction(index) / self.rate

    def index_at(self, time: Fraction) -> int:
        """The output frame shown at ``time`` (the last one that starts at or before it)."""
        return max(0, min(self.count - 1, math.floor((time - self.origin) * self.rate)))


class SourceFrames:
    """Decoded source frames (with cut flags) from any time, keeping the recent ones for cheap restarts."""

    def __init__(self, path: Path, height: int | None, scene_detect: bool, source_rate: Fraction,
                 keep: int = 96) -> None:
        self.path = path
        self.height = height
        self.scene_detect = scene_detect
        self.source_rate = Fraction(source_rate)
        self.keep = keep
        self._history: deque[tuple[DecodedFrame, bool]] = deque()
        self._decoder: BackgroundIterator[tuple[DecodedFrame, bool]] | None = None
        self._exhausted = False
        self.first_time: Fraction | None = None
        self.reopens = 0

    def number(self, frame: DecodedFrame) -> int:
        """The frame's position in the file (from its time), for pair alignment after a restart."""
        return round((frame.time - (self.first_time or 0)) * self.source_rate)

    def _open(self, time: Fraction | None) -> None:
        self.close()
        start = None if time is None or time <= 0 else max(Fraction(0), time - 3 / self.source_rate)
        self._decoder = BackgroundIterator(tag_cuts(decode(self.path, self.height, start), self.scene_detect), 8,
                                           "decode")
        self._history.clear()
        self._exhausted = False
        self.reopens += 1

    def _pull(self) -> bool:
        """Decode one more frame into the history; False at the end of the file."""
        if self._decoder is None:
            self._open(None)
        if self._exhausted:
            return False
        assert self._decoder is not None
        try:
            item = next(self._decoder)
        except StopIteration:
            self._exhausted = True
            return False
        if self.first_time is None:
            self.first_time = item[0].time
        self._history.append(item)
        while len(self._history) > self.keep:
            self._history.popleft()
        return True

    def first_time_or_none(self) -> Fraction | None:
        """The file's first frame time (decodes it: a broken file fails here, in the caller's thread)."""
        if self.first_time is None:
            self._pull()
        return self.first_time

    def _start_position(self, time: Fraction, pairs: bool, context: int = 0) -> int | None:
        """Index into the history of the frame a run for ``time`` starts at, or None if not covered.

        ``context`` more frames before it are included (multi-frame schedules look back)."""
        if not self._history or self._history[0][0].time > time:
            return None
        position = None
        for index, (frame, _) in enumerate(self._history):
            if frame.time > time:
                break
            position = index
        assert position is not None
        if pairs and self.number(self._history[position][0]) % 2 == 1:
            if position == 0:
                return None
            position -= 1
        if context:
            if position < context and self._history[0][0].time > (self.first_time or 0):
                return None
            position = max(0, position - context)
        return position

    def frames_from(self, time: Fraction, pairs: bool, context: int = 0) -> Iterator[tuple[DecodedFrame, bool]]:
        """Frames starting at the last one at or before ``time`` (the first of its pair for ``pairs``),
        with ``context`` frames before it."""
        if self.first_time is None and not self._pull():
            return
        assert self.first_time is not None
        time = max(time, self.first_time)
        earliest = time - context / self.source_rate
        if not self._history or not self._history[0][0].time <= earliest or time > self._history[-1][0].time + 1:
            self._open(earliest)
            if not self._pull():
                return
        while self._history[-1][0].time <= time and self._pull():
            pass
        position = self._start_position(time, pairs, context)
        if position is None:
            if self._history[0][0].time < time:  # the frames before were trimmed: decode again from before them
                self._open(earliest - 1 / self.source_rate)
                if not self._pull():
                    return
                while self._history[-1][0].time <= time and self._pull():
                    pass
            position = self._start_position(time, pairs, context) or 0
        # Follow the history by identity so that trimming during the run cannot shift positions.
        current = self._history[position]
        while True:
            yield current
            following = self._after(current)
            if following is None:
                return
            current = following

    def _after(self, item: tuple[DecodedFrame, bool]) -> tuple[DecodedFrame, bool] | None:
        for index in range(len(self._history) - 1, -1, -1):
            if self._history[index] is item:
                if index + 1 < len(self._history):
                    return self._history[index + 1]
                return self._history[-1] if self._pull() else None
        return None  # trimmed away (a run fell far behind): end this run

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None


@dataclass
class ProducerStats:
    """What the status overlay and the benchmark report."""

    produced: int = 0
    late: int = 0
    #: output indices of the late frames (the first few hundred), to see where they cluster
    late_indices: list[int] = field(default_factory=list)
    restarts: int = 0
    busy_ms_per_frame: float = 0.0
    #: total time spent making frames (not waiting for room): produced / busy_seconds = sustainable fps
    busy_seconds: float = 0.0
    #: CPU time of the producer thread itself over the same spans (contention shows as busy >> cpu)
    cpu_seconds: float = 0.0
    produced_at_level: dict[str, int] | None = None


@dataclass
class RunState:
    """Where production stands, guarded by the producer's condition: one object, read and changed together."""

    #: bumped by every request: a run of an older generation stops at its next frame
    generation: int = 0
    #: first index of the run making frames now, and the next index it will make
    start: int = 0
    next: int = 0
    #: index where the source ran out (None: not yet)
    end: int | None = None
    #: a restart (index, level) requested but not yet picked up by the production thread
    restart_to: tuple[int, Level] | None = None
    #: the requested restart is a toggle: time its first frame (:meth:`FrameProducer.restart_margin` learns it)
    timed: bool = False
    #: the run did not start right after mpv's last read (a start or seek): waiting for its first frame is not late
    after_jump: bool = True


class FrameProducer:
    """Fills a bounded window of YUV frames ahead of mpv's read position, in its own thread.

    ``frame(j)`` (called from mpv's stream thread) returns frame ``j``, waiting while it
    is being made; a request outside the window restarts production there (a seek).
    """

    def __init__(self, sources: SourceFrames, timeline: Timeline, size: tuple[int, int],
                 interpolator_for: Callable[[Level], Interpolator], level: Level, schedule: str = "pairs",
                 capacity: int = 48, count_late: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` (seconds) times the head start, restart costs and busy times; tests pass a fake one."""
        self.sources = sources
        self.timeline = timeline
        self.width, self.height = size
        self.interpolator_for = interpolator_for
        self.schedule = schedule
        self.capacity = capacity
        self.count_late = count_late
        #: frames made before playback (re)starts at a seek or at the beginning (a head start absorbs warm-up)
        self.prefill = min(24, capacity // 2)
        #: longest wait for that head start (a slow backend starts anyway and steps down)
        self.prefill_timeout = 2.0
        self.stats = ProducerStats(produced_at_level={})
        self._level = level
        self._clock = clock
        self._frames: dict[int, np.ndarray] = {}
        self._cond = threading.Condition()
        self._state = RunState(restart_to=(0, level))
        self._cursor = -1  # highest index mpv has read
        self._last_frame: np.ndarray | None = None
        self._stopped = False
        self._cancelled = False
        self._error: BaseException | None = None
        self._restart_cost = 0.0  # seconds from a toggle to its first frame (recent average)
        #: ``clock`` time of the last seek or toggle (the buffer is refilling after it)
        self.last_jump = float("-inf")
        self._thread = threading.Thread(target=self._run, name="stsr-producer", daemon=True)

    # -- control (any thread) -----------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    @property
    def level(self) -> Level:
        return self._level

    @property
    def cursor(self) -> int:
        return self._cursor

    @property
    def error(self) -> BaseException | None:
        return self._error

    def buffered(self) -> int:
        """Frames ready beyond what mpv has read."""
        with self._cond:
            return sum(1 for index in self._frames if index > self._cursor)

    def restart_margin(self) -> int:
        """Frames to skip ahead on a switch so the first new frame is ready before mpv asks for it."""
        return min(3, math.floor(self._restart_cost * float(self.timeline.rate)))

    def switch(self, level: Level, immediately: bool) -> int:
        """Make frames from here on at ``level``; returns the first index that will use it.

        ``immediately`` (a toggle) replaces the frames mpv has not read yet; otherwise
        (a step down or up) the frames already made are kept.
        """
        with self._cond:
            if not immediately:
                index = self._state.next
            elif self._cursor >= 0 and self._cursor not in self._frames:
                index = self._cursor  # mpv is waiting for that frame: it is the first at the new level
            else:
                index = self._cursor + 1 + self.restart_margin()
            self._request(index, level)
            self._state.timed = immediately
            if immediately:
                self.last_jump = self._clock()
            return index

    def switch_to(self, index: int, level: Level) -> None:
        """Start (or restart) production at ``index`` with ``level``."""
        with self._cond:
            self._request(index, level)

    def _request(self, index: int, level: Level) -> None:
        # Frames from ``index`` on are made again: never serve the old ones meanwhile.
        for stale in [i for i in self._frames if i >= index]:
            del self._frames[stale]
        self._level = level
        self._state.restart_to = (index, level)
        self._state.generation += 1
        self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(10)
        self.sources.close()

    def cancel(self) -> None:
        """Wake a blocked :meth:`frame` (mpv aborts the read)."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    # -- mpv's side ------------------------------------------------------------------------------

    def frame(self, index: int) -> np.ndarray | None:
        """Frame ``index`` as I420 planes; None when cancelled or stopped."""
        with self._cond:
            self._cancelled = False
            if index in self._frames:
                self._cursor = index
                self._trim()
                return self._frames[index]
            sequential = index == self._cursor + 1
            run_start, upcoming = self._coming_run()
            past_end = self._state.end is not None and self._state.restart_to is None and index >= self._state.end
            if past_end and self._last_frame is not None:
                self._cursor = index
                return self._last_frame  # past the real end: repeat the last frame up to the declared size
            if not run_start <= index <= upcoming + 2:
                self._request(index, self._level)  # a seek
                self.last_jump = self._clock()
                sequential = False
            starting = self._cursor < 0 or not sequential
            self._cursor = index
            self._trim()
            waited = False
            while index not in self._frames:
                if self._stopped or self._cancelled or self._error is not None:
                    return None
                if self._state.end is not None and self._state.restart_to is None and index >= self._state.end:
                    return self._last_frame
                if self._coming_run()[0] > index:
                    # A toggle or step restarted production after this frame while we waited: make it too.
                    self._request(index, self._level)
                waited = True
                self._cond.wait(0.1)
            if starting:
                # Playback (re)starts here: let the producer get a head start, or its warm-up
                # (first decodes, allocations) makes the next frames late.
                self._wait_for_head_start(index)
                waited = False
            if waited and sequential and self.count_late and not self._state.after_jump:
                self.stats.late += 1
                if len(self.stats.late_indices) < 500:
                    self.stats.late_indices.append(index)
            self._state.after_jump = False
            return self._frames[index]

    def _coming_run(self) -> tuple[int, int]:
        """(first index, next index) of the run that is making frames now, or of the one requested."""
        if self._state.restart_to is not None:
            return self._state.restart_to[0], self._state.restart_to[0]
        return self._state.start, self._state.next

    def _wait_for_head_start(self, index: int) -> None:
        """Wait (bounded) until ``prefill`` frames from ``index`` on are ready, the run ends, or it is replaced."""
        generation = self._state.generation
        deadline = self._clock() + self.prefill_timeout
        state = self._state
        while (state.next < index + self.prefill and generation == state.generation and state.end is None
               and not (self._stopped or self._cancelled or self._error is not None)
               and self._clock() < deadline):
            self._cond.wait(0.05)

    def _trim(self) -> None:
        keep_from = self._cursor - 2
        for stale in [i for i in self._frames if i < keep_from]:
            del self._frames[stale]

    # -- the production thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while self._state.restart_to is None and not self._stopped:
                        self._cond.wait(0.1)
                    if self._stopped:
                        return
                    assert self._state.restart_to is not None
                    (index, level), self._state.restart_to = self._state.restart_to, None
                    generation = self._state.generation
                    timed, self._state.timed = self._state.timed, False
                    # Drop frames that the new run will make again.
                    for stale in [i for i in self._frames if i >= index or i < self._cursor - 2]:
                        del self._frames[stale]
                    self._state.next = self._state.start = index
                    self._state.end = None
                    self.stats.restarts += 1
                    self._state.after_jump = self._cursor + 1 != index
                self._produce(index, level, generation, timed)
        except BaseException as error:  # reported to the player; mpv's read gets None
            log.exception("frame production failed")
            with self._cond:
                self._error = error
                self._cond.notify_all()

    def _produce(self, index: int, level: Level, generation: int, timed: bool = False) -> None:
        if index >= self.timeline.count:
            with self._cond:
                self._state.end = index
            return
        interpolator = self.interpolator_for(level)
        schedule = self.schedule if level.smooth else "naive"
        started = self._clock()
        first = timed
        # The schedule's own look-back makes a restart land on exactly the frames of an uninterrupted run.
        context = SCHEDULES[schedule].context_frames.before
        source = self.sources.frames_from(self.timeline.time_of(index), pairs=schedule == "pairs", context=context)
        outputs = resample_frames(source, interpolator, self.timeline.rate, schedule, first_index=index,
                                  start=self.timeline.origin)
        try:
            busy_since = self._clock()
            cpu_since = time.thread_time()
            for output in outputs:
                if output.index >= self.timeline.count:
                    break
                # mpv reads the untagged Y4M stream with the matrix it assumes for the size.
                planes = tensor_to_i420(output.image, untagged_matrix(output.image.shape[-1], output.image.shape[-2]))
                now = self._clock()
                if first:
                    self._restart_cost = 0.7 * self._restart_cost + 0.3 * (now - started) if self._restart_cost \
                        else now - started
                    first = False
                busy = (now - busy_since) * 1000
                self.stats.busy_seconds += busy / 1000
                self.stats.cpu_seconds += time.thread_time() - cpu_since
                self.stats.busy_ms_per_frame += 0.05 * (busy - self.stats.busy_ms_per_frame)
                with self._cond:
                    if generation != self._state.generation or self._stopped:
                        return
                    self._frames[output.index] = planes
                    self._last_frame = planes
                    self._state.next = output.index + 1
                    self.stats.produced += 1
                    counts = self.stats.produced_at_level
                    assert counts is not None
                    counts[level.label()] = counts.get(level.label(), 0) + 1
                    self._cond.notify_all()
                    # Wait for room: at most ``capacity`` frames ahead of mpv.
                    while (self._state.next - self._cursor > self.capacity and generation == self._state.generation
                           and not self._stopped):
                        self._cond.wait(0.1)
                    if generation != self._state.generation or self._stopped:
                        return
                busy_since = self._clock()
                cpu_since = time.thread_time()
        finally:
            with contextlib.suppress(Exception):
                outputs.close()
        with self._cond:
            if generation == self._state.generation:
                self._state.end = self._state.next
                self._cond.notify_all()
