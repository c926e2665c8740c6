"""Video I/O with PyAV: probing, decoding with exact timestamps, encoding with stream copy.

Decoding yields RGB frames with their presentation time as an exact
:class:`~fractions.Fraction` of seconds taken from the container's timestamps, so
variable frame rate input is handled by the schedule, not by guessing a rate.

Encoding writes the video at a fixed rate and copies the input's audio and subtitle
packets into the same file, interleaved as the video advances so memory stays
flat. The file is written under a temporary name next to the target and renamed
only when complete (see :class:`AtomicOutput`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from ..errors import InputError, StsrError

log = logging.getLogger(__name__)

#: containers that take only mov_text subtitles
_MP4_LIKE = {".mp4", ".m4v", ".mov"}


@dataclass(frozen=True)
class VideoInfo:
    """What the converter needs to know about an input before decoding it."""

    path: Path
    width: int
    height: int
    #: average frame rate as the container states it (VFR inputs: only a hint)
    frame_rate: Fraction
    #: estimated number of frames (0 when unknown)
    frame_count: int
    #: seconds; None when the container does not say
    duration: Fraction | None
    audio_streams: int
    subtitle_streams: int


def _open_input(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a video")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"{path}: not a readable video ({_short(error)})") from None


def _short(error: BaseException) -> str:
    """FFmpeg's reason without errno numbers and file names."""
    reason = getattr(error, "strerror", None) or str(error).strip() or type(error).__name__
    return str(reason).splitlines()[0].split(": '")[0]


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read the container header; raise :class:`InputError` for anything that is not a video."""
    path = Path(path)
    with _open_input(path) as container:
        if not container.streams.video:
            kinds = "audio-only" if container.streams.audio else "no video stream"
            raise InputError(f"{path}: {kinds}, nothing to interpolate")
        stream = container.streams.video[0]
        if not stream.codec_context.width:
            raise InputError(f"{path}: video stream has no picture size (corrupt header?)")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(24000, 1001)
        duration: Fraction | None = None
        if stream.duration is not None and stream.time_base is not None:
            duration = Fraction(stream.duration) * stream.time_base
        elif container.duration is not None:
            duration = Fraction(container.duration, av.time_base)
        frame_count = stream.frames or (int(duration * rate) if duration else 0)
        return VideoInfo(
            path=path,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            frame_rate=Fraction(rate),
            frame_count=frame_count,
            duration=duration,
            audio_streams=len(container.streams.audio),
            subtitle_streams=len(container.streams.subtitles),
        )


def processing_size(width: int, height: int, target_height: int | None) -> tuple[int, int]:
    """Frame size at ``target_height`` keeping the aspect ratio, both sides even (for 4:2:0)."""
    if not target_height or target_height >= height:
        return width - width % 2, height - height % 2
    scaled_width = round(width * target_height / height / 2) * 2
    return max(2, scaled_width), target_height - target_height % 2


@dataclass(frozen=True)
class DecodedFrame:
    """An RGB frame (H, W, 3) uint8 with its exact time and duration in seconds."""

    index: int
    time: Fraction
    duration: Fraction
    rgb: np.ndarray


def decode(
    path: str | os.PathLike[str],
    height: int | None = None,
    start_time: Fraction | None = None,
) -> Iterator[DecodedFrame]:
    """Decode the first video stream as RGB at ``height`` with exact timestamps.

    ``start_time`` seeks to the keyframe before it and drops frames before it.
    Corrupt data raises :class:`InputError`. The duration of the last frame is the
    stream's own when given, else the interval before it (right for VFR, where the
    nominal rate is only an average).
    """
    path = Path(path)
    info = probe(path)
    width, out_height = processing_size(info.width, info.height, height)
    with _open_input(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        time_base = stream.time_base or Fraction(1, 1)
        nominal = Fraction(1) / info.frame_rate
        if start_time:
            container.seek(int(start_time / time_base), stream=stream, backward=True, any_frame=False)
        previous: tuple[Fraction, np.ndarray, Fraction | None] | None = None
        intervals: list[Fraction] = []
        index = 0
        last_time: Fraction | None = None
        try:
            for frame in container.decode(stream):
                if frame.pts is not None:
                    time = Fraction(frame.pts) * time_base
                elif last_time is not None:
                    time = last_time + (intervals[-1] if intervals else nominal)
                else:
                    time = Fraction(0)
                if last_time is not None and time <= last_time:
                    continue  # duplicate or out-of-order timestamp: keep the stream monotonic
                if start_time is not None and time < start_time and time + nominal <= start_time:
                    last_time = time
                    continue
                if last_time is not None:
                    intervals.append(time - last_time)
                    intervals = intervals[-64:]
                last_time = time
                own = Fraction(frame.duration) * time_base if frame.duration else None
                rgb = frame.reformat(width=width, height=out_height, format="rgb24").to_ndarray()
                if previous is not None:
                    ptime, prgb, _ = previous
                    yield DecodedFrame(index, ptime, time - ptime, prgb)
                    index += 1
                previous = (time, rgb, own)
        except av.error.FFmpegError as error:
            raise InputError(f"{path}: corrupt video stream near frame {index} ({_short(error)})") from None
        if previous is not None:
            ptime, prgb, own = previous
            last_duration = own or (intervals[-1] if intervals else nominal)
            yield DecodedFrame(index, ptime, last_duration, prgb)


class AtomicOutput:
    """A temporary path beside ``target`` that becomes ``target`` only on :meth:`commit`.

    Used as a context manager: leaving it without a commit (exception, Ctrl-C)
    deletes the temporary file, so a half-written file never appears under the
    target name.
    """

    def __init__(self, target: str | os.PathLike[str], overwrite: bool = False) -> None:
        self.target = Path(target)
        if self.target.exists() and not overwrite:
            raise InputError(f"{self.target}: already exists (use --overwrite to replace it)")
        if not self.target.parent.is_dir():
            raise InputError(f"{self.target.parent}: output folder does not exist")
        self.temporary = self.target.with_name(f".{self.target.stem}.stsr-tmp-{os.getpid()}{self.target.suffix}")

    def __enter__(self) -> AtomicOutput:
        return self

    def commit(self) -> None:
        os.replace(self.temporary, self.target)

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.temporary.unlink()


CODECS = {
    "h264": ("libx264", "yuv420p", {"crf": "18", "preset": "medium"}),
    "h265": ("libx265", "yuv420p", {"crf": "20", "preset": "medium", "x265-params": "log-level=error"}),
    "ffv1": ("ffv1", "yuv420p", {}),
}


class VideoWriter:
    """Encodes RGB frames at a fixed rate and copies the source's audio and subtitles.

    Frames are written in order; :meth:`write` takes the frame's exact time so that
    the copied audio is interleaved up to it. Times are relative to the source's
    timeline, so audio keeps its original offsets.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: Fraction,
        width: int,
        height: int,
        codec: str = "h264",
        copy_from: str | os.PathLike[str] | None = None,
        container_format: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.rate = Fraction(rate)
        if codec not in CODECS:
            raise InputError(f"unknown codec {codec!r} (choose from {', '.join(CODECS)})")
        encoder, pix_fmt, options = CODECS[codec]
        self._container = av.open(str(self.path), mode="w", format=container_format)
        self._video = self._container.add_stream(encoder, rate=self.rate, options=dict(options))
        self._video.width = width
        self._video.height = height
        self._video.pix_fmt = pix_fmt
        self._video.time_base = 1 / self.rate
        self._video.codec_context.time_base = 1 / self.rate
        self._copies: dict[int, av.stream.Stream] = {}
        self._aux: av.container.InputContainer | None = None
        self._aux_packets: Iterator[av.Packet] | None = None
        self._held_packet: av.Packet | None = None
        self._first_pts: int | None = None
        if copy_from is not None:
            self._setup_copies(Path(copy_from))

    def _setup_copies(self, source: Path) -> None:
        aux = av.open(str(source), mode="r")
        self._container.metadata.update({k: v for k, v in aux.metadata.items() if k.lower() != "encoder"})
        if aux.streams.video:
            self._video.metadata.update(
                {k: v for k, v in aux.streams.video[0].metadata.items() if k.lower() in ("language", "title")}
            )
        suffix = (self.path.suffix or "").lower()
        for stream in list(aux.streams.audio) + list(aux.streams.subtitles):
            if stream.type == "subtitle" and suffix in _MP4_LIKE and stream.codec_context.name != "mov_text":
                log.warning("subtitle stream %d (%s) cannot go into %s; skipped", stream.index,
                            stream.codec_context.name, suffix)
                continue
            try:
                self._copies[stream.index] = self._container.add_stream_from_template(stream)
            except (ValueError, av.error.FFmpegError) as error:
                log.warning("stream %d (%s) not copied: %s", stream.index, stream.type, error)
        if self._copies:
            self._aux = aux
            selected = [s for s in aux.streams if s.index in self._copies]
            self._aux_packets = iter(aux.demux(*selected))
        else:
            aux.close()

    def _copy_aux_until(self, time: Fraction | None) -> None:
        """Mux copied packets whose time is before ``time`` (all of them for None)."""
        if self._aux_packets is None:
            return
        while True:
            packet = self._held_packet
            self._held_packet = None
            if packet is None:
                try:
                    packet = next(self._aux_packets)
                except (StopIteration, av.error.FFmpegError):
                    self._aux_packets = None
                    return
            if packet.dts is None and packet.pts is None:
                continue  # flush packets carry nothing
            stamp = packet.dts if packet.dts is not None else packet.pts
            packet_time = Fraction(stamp) * packet.time_base
            if time is not None and packet_time > time:
                self._held_packet = packet
                return
            packet.stream = self._copies[packet.stream_index]
            self._container.mux(packet)

    def write(self, rgb: np.ndarray, time: Fraction) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        pts = round(time * self.rate)
        if self._first_pts is not None and pts <= self._first_pts:
            pts = self._first_pts + 1
        self._first_pts = pts
        frame.pts = pts
        frame.time_base = self._video.codec_context.time_base
        self._copy_aux_until(time)
        self._container.mux(self._video.encode(frame))

    def close(self) -> None:
        """Flush the encoder and the remaining copied packets; close the file."""
        try:
            self._container.mux(self._video.encode(None))
            self._copy_aux_until(None)
        finally:
            self._container.close()
            if self._aux is not None:
                self._aux.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._container.close()
        if self._aux is not None:
            with contextlib.suppress(Exception):
                self._aux.close()


def write_video(
    path: str | os.PathLike[str],
    frames: list[np.ndarray] | Iterator[np.ndarray],
    rate: Fraction,
    codec: str = "h264",
) -> None:
    """Write RGB frames at a constant rate (for tests and sample clips)."""
    writer: VideoWriter | None = None
    try:
        for index, rgb in enumerate(frames):
            if writer is None:
                writer = VideoWriter(path, rate, rgb.shape[1], rgb.shape[0], codec=codec)
            writer.write(rgb, Fraction(index) / Fraction(rate))
        if writer is None:
            raise StsrError("no frames to write")
        writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
