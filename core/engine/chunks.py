"""Chunk planning for distributed conversion: split the output timeline, know what each piece needs.

A conversion is split in *output* frame space: chunk ``c`` renders output frames
``[first, stop)`` (times ``origin + j / rate``), so the joined chunks are the
single-process output frame for frame. To render them a worker needs the source
frames around them, and the schedule's state at its first output must be the one a
single run would have there:

* Every schedule starts afresh at a scene cut, so a chunk whose source frames start
  at the first frame of its shot reproduces a single run exactly. The planner
  therefore prefers chunk boundaries at cuts.
* Inside a shot a chunk starts its look-back before the first frame its outputs need:
  the schedule's own ``context_frames`` when it declares one, else none for ``naive``
  and ``pairs`` (``pairs`` keeps its pair parity, pairs being counted from the shot
  start) and, for ``cadence``, its forgetting window (see :func:`_forgetting_window`).
  A schedule with neither restarts at its shot's start.

The cut detector is stateful, so :func:`scan_source` runs it once over the whole
input (with the same detector a single run uses) and the plan hands each worker the
cut flags. Workers decode from the nearest keyframe at or before their first source
frame and identify frames by counting from it (the scan records each keyframe's
position and timestamp).

Everything but :func:`scan_source` is pure: no I/O, no Ray.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..errors import InputError
from ..io.video import DecodedFrame, decode, probe
from ..schedules import SCHEDULES, output_frame_count
from .frames import tag_cuts

#: look-back (source frames before the first needed one) for restarting mid-shot, for the schedules that do
#: not declare ``context_frames`` themselves; None: derive it from the schedule's window (:func:`schedule_context`)
FALLBACK_CONTEXT_BEFORE: dict[str, int | None] = {"naive": 0, "pairs": 0}


@dataclass(frozen=True)
class SourceEntry:
    """One decoded source frame as the planner saw it (no pixels)."""

    index: int
    time: Fraction
    duration: Fraction
    cut_before: bool
    #: the stream timestamp to seek to when this frame is a keyframe, else None
    keyframe_pts: int | None = None


@dataclass(frozen=True)
class SourceScan:
    """The whole input once: every frame's time, cut flag and keyframe status."""

    path: Path
    #: the processing height asked for (None: the input's)
    height: int | None
    frame_width: int
    frame_height: int
    entries: tuple[SourceEntry, ...]
    #: decoded as 16-bit RGB (a deep input or output), and with an odd size kept: as the single run decodes
    deep: bool = False
    even: bool = False

    @property
    def origin(self) -> Fraction:
        return self.entries[0].time

    @property
    def end(self) -> Fraction:
        last = self.entries[-1]
        return last.time + last.duration

    @property
    def cuts(self) -> list[int]:
        """Frames with a cut before them, in order."""
        return [entry.index for entry in self.entries if entry.cut_before]

    def shot_start(self, index: int, cuts: Sequence[int] | None = None) -> int:
        """The first frame of the shot that frame ``index`` belongs to."""
        cuts = self.cuts if cuts is None else cuts
        position = bisect.bisect_right(cuts, index)
        return cuts[position - 1] if position else 0

    def keyframe_at_or_before(self, index: int) -> int:
        for position in range(index, -1, -1):
            if self.entries[position].keyframe_pts is not None:
                return position
        return 0  # the first frame is where any decode starts


def scan_source(path: str | Path, height: int | None, scene_detect: bool, deep: bool = False,
                even: bool = False) -> SourceScan:
    """Decode the input once: frame times and durations, cut flags, keyframe timestamps.

    ``deep`` and ``even`` must be what the single-process run decodes with: the cut
    detector sees the 8-bit view of the decoded frames, which depends on both."""
    path = Path(path)
    probe(path)  # one-line errors for anything that is not a video, before any work
    keyframe_pts = _keyframe_timestamps(path)
    entries: list[SourceEntry] = []
    size: tuple[int, int] | None = None
    for frame, cut in tag_cuts(decode(path, height, deep=deep, even=even), scene_detect):
        if size is None:
            size = (frame.rgb.shape[1], frame.rgb.shape[0])
        entries.append(SourceEntry(frame.index, frame.time, frame.duration, bool(cut) and frame.index > 0,
                                   keyframe_pts.get(frame.time)))
    if len(entries) < 2:
        count = "no frames" if not entries else "only one frame"
        raise InputError(f"{path}: {count}; need at least 2 to interpolate")
    assert size is not None
    return SourceScan(path, height, size[0], size[1], tuple(entries), deep, even)


def _keyframe_timestamps(path: Path) -> dict[Fraction, int]:
    """Presentation time -> stream timestamp of every keyframe packet (demux only, no decoding)."""
    found: dict[Fraction, int] = {}
    with av.open(str(path), mode="r") as container:
        stream = container.streams.video[0]
        time_base = stream.time_base or Fraction(1, 1)
        for packet in container.demux(stream):
            if packet.is_keyframe and packet.pts is not None:
                found[Fraction(packet.pts) * time_base] = packet.pts
    return found


@dataclass(frozen=True)
class Chunk:
    """Output frames ``[first, stop)`` and the source frames ``[source_start, source_stop)`` they need."""

    number: int
    first: int
    stop: int
    #: first output index the worker's resampler computes (``<= first``): it starts at the node pair that
    #: contains ``first`` so every pair is asked for the same batch of times as in a single run
    render_from: int
    #: first source frame fed to the resampler (includes the look-back context)
    source_start: int
    #: one past the last source frame the schedule needs by its lookahead (a still stretch may need more)
    source_stop: int
    #: the keyframe at or before ``source_start`` that decoding starts from
    keyframe: int
    #: True when ``source_start`` is the first frame of a shot (a fresh schedule state)
    at_shot_start: bool
    #: one past the last frame a worker may read: ``source_stop``, or up to the next cut if later (a schedule
    #: holding a still stretch emits its outputs only at the next node, and at the latest where the shot ends)
    read_limit: int = 0

    @property
    def count(self) -> int:
        return self.stop - self.first


@dataclass(frozen=True)
class ChunkPlan:
    """A conversion split into chunks: the output timeline and every chunk's needs."""

    scan: SourceScan
    rate: Fraction
    schedule: str
    chunks: tuple[Chunk, ...]

    @property
    def origin(self) -> Fraction:
        return self.scan.origin

    @property
    def total(self) -> int:
        return output_frame_count(self.scan.origin, self.scan.end, self.rate)

    def time_of(self, index: int) -> Fraction:
        return self.origin + Fraction(index) / self.rate

    def identity(self, settings: str = "") -> str:
        """A digest of everything a chunk's pixels depend on (the plan, and ``settings``: backend and its
        options), so that a later run reuses only chunks it would render the same way."""
        digest = hashlib.sha256()
        digest.update(settings.encode())
        digest.update(f"{self.rate}|{self.schedule}|{self.scan.height}|{self.scan.deep}|{self.scan.even}|"
                      f"{len(self.scan.entries)}".encode())
        for entry in self.scan.entries:
            digest.update(f"|{entry.time}:{entry.duration}:{int(entry.cut_before)}".encode())
        for chunk in self.chunks:
            digest.update(f"|{chunk.first}-{chunk.stop}:{chunk.source_start}".encode())
        return digest.hexdigest()[:16]

    def entries_for(self, chunk: Chunk) -> tuple[SourceEntry, ...]:
        """The source entries a worker decodes for ``chunk``: from its keyframe to its last needed frame."""
        return self.scan.entries[chunk.keyframe: max(chunk.source_stop, chunk.read_limit)]


def schedule_context(schedule: str) -> tuple[int | None, int]:
    """(look-back, lookahead) in source frames for restarting ``schedule`` mid-shot.

    Look-back is the schedule's own ``context_frames`` when it declares one (an int, or
    a ``(before, after)`` pair), else :data:`FALLBACK_CONTEXT_BEFORE`; None means "restart
    only at a shot start". Lookahead is how many source frames past an output's own
    frame can still shape it: the next node (a pair's second frame for ``pairs``) or, for
    a schedule with a lookahead and a hold limit, both of them and its classification window.
    """
    producer = SCHEDULES[schedule]
    declared = getattr(producer, "context_frames", None)
    before: int | None
    after_declared = 0
    if isinstance(declared, int) and not isinstance(declared, bool):
        before = declared
    elif isinstance(declared, tuple) and len(declared) == 2:
        before, after_declared = int(declared[0]), int(declared[1])
    elif schedule in FALLBACK_CONTEXT_BEFORE:
        before = FALLBACK_CONTEXT_BEFORE[schedule]
    else:
        before = _forgetting_window(producer)
    derived = sum(int(getattr(producer, name, 0)) for name in ("lookahead", "context_after", "max_hold", "restart"))
    after = max(after_declared, derived, 2) + 1
    return before, after


def _forgetting_window(producer: object) -> int | None:
    """Look-back after which a streaming schedule's state no longer depends on where it started.

    A producer with a lookahead and a hold limit (``cadence``) keeps change records for
    ``2 * max_hold + lookahead`` frames and judges a frame by ``context_before`` earlier
    ones; its shot-start rules (the first frame is a node, drawings older than the memory)
    act only inside that window. One more hold and lookahead past it, a restarted run has
    caught up with an uninterrupted one. None when the producer has no such window.
    """
    names = ("max_hold", "lookahead", "context_before", "context_after", "restart")
    values = {name: getattr(producer, name, None) for name in names}
    if not all(isinstance(value, int) for value in values.values()):
        return None
    return (3 * values["max_hold"] + 2 * values["lookahead"] + values["context_before"]  # type: ignore[operator]
            + values["context_after"] + values["restart"])


def cut_output_indices(scan: SourceScan, rate: Fraction) -> list[int]:
    """The first output index at or after each scene cut: a chunk starting there starts a fresh shot."""
    indices = []
    for entry in scan.entries:
        if entry.cut_before:
            indices.append(math.ceil((entry.time - scan.origin) * rate))
    return indices


def _boundaries(total: int, chunk_frames: int, cuts: Sequence[int]) -> list[int]:
    """Chunk starts: every ``chunk_frames`` outputs, moved to a cut within half a chunk when there is one."""
    starts = [0]
    cut_set = sorted({c for c in cuts if 0 < c < total})
    while True:
        ideal = starts[-1] + chunk_frames
        if ideal >= total:
            break
        low = starts[-1] + max(1, chunk_frames // 2)
        high = min(total - 1, ideal + chunk_frames // 2)
        nearby = [c for c in cut_set[bisect.bisect_left(cut_set, low): bisect.bisect_right(cut_set, high)]]
        boundary = min(nearby, key=lambda c: (abs(c - ideal), c)) if nearby else ideal
        if total - boundary < max(1, chunk_frames // 4) and not nearby:
            break  # a sliver at the end joins the last chunk
        starts.append(boundary)
    return starts


def plan_chunks(scan: SourceScan, rate: Fraction, schedule: str, chunk_frames: int,
                prefer_cuts: bool = True) -> ChunkPlan:
    """Split the output timeline of ``scan`` at ``rate`` into chunks of about ``chunk_frames`` outputs.

    ``prefer_cuts=False`` puts boundaries at exact multiples of ``chunk_frames`` (tests use it to
    place boundaries inside holds and right next to cuts)."""
    if schedule not in SCHEDULES:
        raise InputError(f"unknown mode {schedule!r} (choose from {', '.join(SCHEDULES)})")
    if chunk_frames < 1:
        raise InputError("chunk size must be at least 1 output frame")
    rate = Fraction(rate)
    total = output_frame_count(scan.origin, scan.end, rate)
    times = [entry.time for entry in scan.entries]
    cuts = scan.cuts
    before, after = schedule_context(schedule)
    starts = _boundaries(total, chunk_frames, cut_output_indices(scan, rate) if prefer_cuts else [])
    chunks: list[Chunk] = []
    for number, (first, stop) in enumerate(zip(starts, [*starts[1:], total], strict=True)):
        needed_first = _source_at(times, scan.origin + Fraction(first) / rate)
        needed_last = _source_at(times, scan.origin + Fraction(stop - 1) / rate)
        shot = scan.shot_start(needed_first, cuts)
        if before is None:
            source_start = shot
        else:
            source_start = max(shot, needed_first - before)
            if schedule == "pairs" and (source_start - shot) % 2:
                source_start -= 1
        # Compute from the node before `first` so the node pair around it is asked for the same batch of
        # times as in a single run: the frame itself (naive), its pair's first frame (pairs), or up to a
        # hold before it (a schedule with a hold limit).
        if schedule == "naive":
            warm_frame = needed_first
        elif schedule == "pairs":
            warm_frame = needed_first - (needed_first - shot) % 2
        else:
            hold = int(getattr(SCHEDULES[schedule], "max_hold", 0)) + int(getattr(SCHEDULES[schedule], "restart", 0))
            warm_frame = needed_first - hold
        warm_frame = max(source_start, warm_frame)
        render_from = min(first, max(0, math.ceil((times[warm_frame] - scan.origin) * rate)))
        source_stop = min(len(times), needed_last + 1 + after)
        keyframe = scan.keyframe_at_or_before(source_start)
        following = bisect.bisect_right(cuts, needed_last)
        next_cut = cuts[following] if following < len(cuts) else len(times) - 1
        chunks.append(Chunk(number, first, stop, render_from, source_start, source_stop, keyframe,
                            source_start == shot, max(source_stop, next_cut + 1)))
    return ChunkPlan(scan, rate, schedule, tuple(chunks))


def _source_at(times: Sequence[Fraction], time: Fraction) -> int:
    """The last source frame shown at or before ``time``."""
    return max(0, bisect.bisect_right(times, time) - 1)


def frames_with_plan_cuts(frames: Iterable[DecodedFrame], entries: Sequence[SourceEntry],
                          offset: int) -> Iterable[tuple[DecodedFrame, bool]]:
    """Pair decoded frames (plan indices from ``offset``) with the plan's cut flags."""
    for frame in frames:
        yield frame, entries[frame.index - offset].cut_before
