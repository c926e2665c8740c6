"""Rendering one chunk (no Ray here): decode from a keyframe, resample, write lossless frames.

A worker is handed a :class:`ChunkJob` (the chunk, the source entries from its
keyframe on, the plan's rate, schedule and timeline origin). It decodes from the
keyframe by *counting* frames, each decoded frame checked against the plan's time,
feeds the resampler from the chunk's first source frame with the plan's cut flags,
and keeps exactly the chunk's output frames.

Chunk files hold exactly the frames the final encoder is fed: each output goes
through the encoder's own conversion (:class:`stsr.io.encode.EncoderInput`, the one
``VideoWriter`` uses in a single-process run) and the result (e.g. ``yuv420p``) is
stored losslessly as FFV1 in Matroska; the join hands those frames to the encoder as
they are. For a pixel format FFV1 cannot hold, the float32 RGB itself is stored (its
bits split in two 16-bit halves). Files are written under a temporary name in the
shared folder and renamed when complete, next to a small JSON record (frames, SHA-256
of the stored pixels). A worker that dies leaves only a
temporary file; a retried chunk renames its own, identical, file into place, so
no frame is ever duplicated.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np

from stsr.engine.chunks import Chunk, SourceEntry, frames_with_plan_cuts
from stsr.engine.frames import resample_frames
from stsr.errors import StsrError
from stsr.interpolators import Interpolator
from stsr.io.color import channels_last_array
from stsr.io.encode import EncoderInput
from stsr.io.video import DecodedFrame, decode

#: the fallback chunk pixel format, for an encoder format FFV1 cannot hold: each frame's float32 RGB stored as
#: the two 16-bit halves of its bits (upper half above, lower half below, one picture of twice the height) in
#: FFV1's lossless 16-bit RGB, so the join reads back the very same floats
CHUNK_PIXELS = "gbrp16le"


@functools.cache
def stores_encoder_frames(pix_fmt: str) -> bool:
    """True when FFV1 holds ``pix_fmt`` losslessly and PyAV passes it through numpy unchanged (tried once)."""
    try:
        if pix_fmt not in {fmt.name for fmt in av.codec.Codec("ffv1", "w").video_formats or ()}:
            return False
        frame = av.VideoFrame(16, 8, pix_fmt)
        planes = frame.to_ndarray()
        return bool(np.array_equal(av.VideoFrame.from_ndarray(planes, format=pix_fmt).to_ndarray(), planes))
    except (ValueError, TypeError, av.error.FFmpegError):
        return False


def encoder_input(image: Any) -> np.ndarray:
    """An output tensor as the single-process ``convert`` hands it to its encoder: float32 (H, W, 3)."""
    return np.ascontiguousarray(channels_last_array(image), dtype=np.float32)


def split_float_bits(rgb: np.ndarray) -> np.ndarray:
    """float32 (H, W, 3) -> uint16 (2H, W, 3): the upper 16 bits of every value above the lower 16."""
    bits = np.ascontiguousarray(rgb, dtype=np.float32).view(np.uint32)
    return np.concatenate([(bits >> 16).astype(np.uint16), (bits & 0xFFFF).astype(np.uint16)], axis=0)


def join_float_bits(halves: np.ndarray) -> np.ndarray:
    """The inverse of :func:`split_float_bits`."""
    height = halves.shape[0] // 2
    bits = (halves[:height].astype(np.uint32) << 16) | halves[height:].astype(np.uint32)
    return bits.view(np.float32)
#: one line per render started (chunk number, host, pid): how tests count renders
RENDERS_LOG = "renders.log"


class ChunkError(StsrError):
    """A chunk does not match its plan (frame count, timestamps, checksum)."""

    def __init__(self, message: str, chunk: int | None = None) -> None:
        super().__init__(message)
        #: the chunk to render again, when the fault is in one chunk's file
        self.chunk = chunk


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs for one chunk (picklable, no pixels)."""

    source: str
    height: int | None
    rate: Fraction
    schedule: str
    origin: Fraction
    plan_id: str
    chunk: Chunk
    #: source entries from the chunk's keyframe to its last needed frame
    entries: tuple[SourceEntry, ...]
    #: number of frames in the whole source (a chunk that reaches it may end the stream)
    source_frames: int
    folder: str
    deep: bool = False
    even: bool = False
    #: tests only: the first render of this chunk number kills its worker process (os._exit) once
    crash_chunk: int | None = None
    #: the final encoder's input conversion (its frames are what the chunk stores); None: float32 RGB
    encoder: EncoderInput | None = None


@dataclass(frozen=True)
class ChunkResult:
    number: int
    frames: int
    sha256: str
    seconds: float
    worker: str
    path: str


def chunk_path(folder: str | Path, number: int) -> Path:
    return Path(folder) / f"chunk-{number:05d}.mkv"


def record_path(folder: str | Path, number: int) -> Path:
    return Path(folder) / f"chunk-{number:05d}.json"


def decode_counting(source: str, height: int | None, entries: Sequence[SourceEntry], deep: bool = False,
                    even: bool = False) -> Iterator[DecodedFrame]:
    """The frames of ``entries`` (consecutive, from a keyframe), decoded from that keyframe.

    Decoding starts at the keyframe's own timestamp (so the decoder starts on that
    very packet) and frames are then identified by counting from it, each one's
    timestamp checked against the plan. When the decoder does not start on the
    keyframe (no timestamps, an odd container) it decodes from the file's start,
    still counting. Pixels come from :func:`stsr.io.video.decode` either way: the
    same colour conversion as a single run.
    """
    first = entries[0]
    if first.index > 0 and first.keyframe_pts is not None:
        try:
            yield from _count(decode(source, height, first.time, deep=deep, even=even, frame_threads=False), entries,
                              skip_before=True)
            return
        except _SeekMissed:
            pass
    yield from _count(decode(source, height, deep=deep, even=even, frame_threads=False), entries, skip_before=False,
                      offset=first.index)


class _SeekMissed(Exception):
    """Decoding after the seek did not start at the planned keyframe."""


def _count(frames: Iterator[DecodedFrame], entries: Sequence[SourceEntry], skip_before: bool,
           offset: int = 0) -> Iterator[DecodedFrame]:
    """``entries``' frames, by position: the n-th decoded frame from the keyframe is ``entries[n]``."""
    position = -offset
    try:
        for frame in frames:
            if position < 0:
                position += 1
                continue
            entry = entries[position]
            if position == 0 and skip_before:
                if frame.time < entry.time:
                    continue  # a frame just before the keyframe that the decoder still showed
                if frame.time > entry.time:
                    raise _SeekMissed
            if frame.time != entry.time:
                raise ChunkError(f"source frame {entry.index}: decoded at {float(frame.time):.6f} s, planned at "
                                 f"{float(entry.time):.6f} s")
            yield DecodedFrame(entry.index, entry.time, entry.duration, frame.rgb)
            position += 1
            if position == len(entries):
                return
    finally:
        frames.close()  # type: ignore[attr-defined]
    if skip_before and position <= 0:
        raise _SeekMissed


def chunk_pixels(encoder: EncoderInput | None) -> str:
    """What a chunk file stores: the encoder's pixel format when FFV1 holds it, else float bits."""
    if encoder is not None and stores_encoder_frames(encoder.settings.pix_fmt):
        return encoder.settings.pix_fmt
    return CHUNK_PIXELS


class ChunkWriter:
    """Frames, losslessly, into FFV1/Matroska; frame ``j`` at time ``j / rate`` (output index).

    ``encoder`` given and its format storable: each RGB frame is converted as the final encoder
    would be fed it and that frame is stored; otherwise the float32 RGB itself (split bits)."""

    def __init__(self, path: Path, rate: Fraction, width: int, height: int,
                 encoder: EncoderInput | None = None) -> None:
        self.path = path
        self.pixels = chunk_pixels(encoder)
        self._encoder = encoder if self.pixels != CHUNK_PIXELS else None
        self._container = av.open(str(path), mode="w", format="matroska")
        self._stream = self._container.add_stream("ffv1", rate=rate)
        self._stream.width, self._stream.height = width, height if self._encoder is not None else 2 * height
        self._stream.pix_fmt = self.pixels
        self._stream.codec_context.time_base = 1 / rate
        self._stream.time_base = 1 / rate

    def write(self, rgb: np.ndarray, index: int) -> bytes:
        """Store one output frame; the stored pixels' bytes (what the record's checksum covers)."""
        if self._encoder is not None:
            planes = self._encoder.frame(rgb).to_ndarray()
            frame = av.VideoFrame.from_ndarray(planes, format=self.pixels)
            stored = planes.tobytes()
        else:
            frame = av.VideoFrame.from_ndarray(split_float_bits(rgb), format="rgb48le").reformat(format=CHUNK_PIXELS)
            stored = np.ascontiguousarray(rgb, dtype=np.float32).tobytes()
        frame.pts = index
        frame.time_base = self._stream.codec_context.time_base
        self._container.mux(self._stream.encode(frame))
        return stored

    def close(self) -> None:
        self._container.mux(self._stream.encode(None))
        self._container.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._container.close()


def read_chunk(path: Path, pixels: str = CHUNK_PIXELS) -> Iterator[tuple[Fraction, np.ndarray]]:
    """A chunk file's frames: (time in seconds as stored, pixels). ``pixels`` as written: an encoder's format
    gives its planes as :meth:`av.VideoFrame.to_ndarray` has them; :data:`CHUNK_PIXELS` float32 RGB (H, W, 3)."""
    try:
        with av.open(str(path), mode="r") as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                stamp = Fraction(frame.pts) * frame.time_base if frame.pts is not None else Fraction(-1)
                if frame.format.name != pixels:
                    raise ChunkError(f"{path}: frames in {frame.format.name}, expected {pixels}")
                if pixels == CHUNK_PIXELS:
                    yield stamp, join_float_bits(frame.to_ndarray(format="rgb48le"))
                else:
                    yield stamp, frame.to_ndarray()
    except av.error.FFmpegError as error:
        raise ChunkError(f"{path}: unreadable chunk ({error})") from None


def render_chunk(job: ChunkJob, interpolator: Interpolator) -> ChunkResult:
    """Render ``job.chunk`` into the shared folder (temporary name, renamed when complete)."""
    started = time.monotonic()
    chunk = job.chunk
    folder = Path(job.folder)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    with open(folder / RENDERS_LOG, "a", encoding="utf-8") as log:
        log.write(f"{chunk.number} {worker}\n")
    temporary = folder / f".chunk-{chunk.number:05d}.{uuid.uuid4().hex[:8]}.tmp.mkv"
    decoded = decode_counting(job.source, job.height, job.entries, job.deep, job.even)
    fed = (frame for frame in decoded if frame.index >= chunk.source_start)
    outputs = resample_frames(_bounded(frames_with_plan_cuts(fed, job.entries, job.entries[0].index), job),
                              interpolator, job.rate, job.schedule, first_index=chunk.render_from, start=job.origin)
    digest = hashlib.sha256()
    written = 0
    writer: ChunkWriter | None = None
    try:
        for output in outputs:
            if output.index < chunk.first:
                continue
            expected = chunk.first + written
            if output.index != expected:
                raise ChunkError(f"chunk {chunk.number}: output {output.index} where {expected} was due")
            rgb = encoder_input(output.image)  # what a single run hands its encoder
            if writer is None:
                writer = ChunkWriter(temporary, job.rate, rgb.shape[1], rgb.shape[0], job.encoder)
            digest.update(writer.write(rgb, output.index))
            written += 1
            if job.crash_chunk == chunk.number:
                _crash_once(folder, chunk.number)
            if written == chunk.count:
                break
        if written != chunk.count or writer is None:
            raise ChunkError(f"chunk {chunk.number}: rendered {written} of {chunk.count} frames")
        writer.close()
        os.replace(temporary, chunk_path(folder, chunk.number))
    except BaseException:
        if writer is not None:
            writer.abort()
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    finally:
        outputs.close()
    result = ChunkResult(chunk.number, written, digest.hexdigest(), time.monotonic() - started, worker,
                         str(chunk_path(folder, chunk.number)))
    record = {**asdict(result), "plan": job.plan_id, "first": chunk.first, "stop": chunk.stop,
              "pixels": chunk_pixels(job.encoder)}
    record_temporary = folder / f".chunk-{chunk.number:05d}.{uuid.uuid4().hex[:8]}.tmp.json"
    record_temporary.write_text(json.dumps(record), encoding="utf-8")
    os.replace(record_temporary, record_path(folder, chunk.number))
    return result


def _bounded(frames: Iterable[tuple[DecodedFrame, bool]], job: ChunkJob) -> Iterator[tuple[DecodedFrame, bool]]:
    """The planned frames; asking for one past them (short of the file's end) means the plan's context is short."""
    yield from frames
    last = job.entries[-1].index
    if last + 1 < job.source_frames:
        raise ChunkError(f"chunk {job.chunk.number}: the schedule read past frame {last}, the end of the planned "
                         "frames")


def _crash_once(folder: Path, number: int) -> None:
    """Fault injection for tests: die like a lost worker (no clean-up, no exception) the first time."""
    marker = folder / f".crashed-{number:05d}"
    try:
        marker.open("x").close()
    except FileExistsError:
        return
    os._exit(1)


def load_record(folder: str | Path, number: int) -> dict | None:
    """A finished chunk's record, or None when it is missing or unreadable."""
    try:
        return json.loads(record_path(folder, number).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
