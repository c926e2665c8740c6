"""Copying every non-video stream of the source into the output, as it was.

Audio and subtitle packets are copied untouched (same timestamps, so their
offset to the video is kept), in the source's order, with their metadata
(language, title, ...) and dispositions (default, forced, ...). Attachments
(fonts and any other MIME type) and chapters are copied too, and so is the
container's metadata. Streams the output container cannot hold are refused by
:func:`check_copies` before any work, in one line, instead of being dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error

from ..errors import InputError
from .output import container_for
from .probe import open_input

log = logging.getLogger(__name__)

#: codecs each container takes for copied streams (None: anything)
_AUDIO: dict[str, set[str] | None] = {
    "matroska": None,
    "mp4": {"aac", "mp3", "mp2", "ac3", "eac3", "opus", "flac", "alac", "dts", "truehd"},
    "mov": {"aac", "mp3", "mp2", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le", "pcm_f32le", "pcm_s16be"},
    "webm": {"opus", "vorbis"},
}
_SUBTITLES: dict[str, set[str] | None] = {"matroska": None, "mp4": {"mov_text"}, "mov": {"mov_text"},
                                          "webm": {"webvtt"}}
_ATTACHMENTS = {"matroska"}
#: per-stream tags that describe the source file's copy of the stream, not the stream: the muxer writes its own
_STALE_TAGS = {"duration", "encoder", "bps", "number_of_frames", "number_of_bytes", "_statistics_writing_app",
               "_statistics_writing_date_utc", "_statistics_tags"}


def _describe(stream: av.stream.Stream) -> str:
    language = stream.metadata.get("language")
    title = stream.metadata.get("title")
    name = stream.codec_context.name if stream.codec_context is not None else getattr(stream, "name", "")
    label = ", ".join(part for part in (language, f"'{title}'" if title else None) if part)
    return f"{stream.type} stream {stream.index} ({name}{': ' + label if label else ''})"


def check_copies(source: Path, target: Path) -> None:
    """Refuse (one line, before any work) streams of ``source`` that ``target``'s container cannot hold."""
    container = container_for(target)
    with open_input(source) as aux:
        for stream in aux.streams:
            problem: str | None = None
            if stream.type == "audio":
                allowed = _AUDIO[container]
                if allowed is not None and stream.codec_context.name not in allowed:
                    problem = f"{target.suffix} cannot hold {stream.codec_context.name} audio"
            elif stream.type == "subtitle":
                allowed = _SUBTITLES[container]
                if allowed is not None and stream.codec_context.name not in allowed:
                    problem = (f"{target.suffix} takes only {'/'.join(sorted(allowed))} subtitles "
                               f"(styles and positions would be lost)")
            elif stream.type == "attachment" and container not in _ATTACHMENTS:
                problem = f"{target.suffix} cannot hold attachments"
            if problem is not None:
                raise InputError(f"{source.name}: {_describe(stream)}: {problem}; use a .mkv output, "
                                 f"which keeps every stream")


def _copy_tags(source: dict[str, str], target: dict[str, str]) -> None:
    target.update({key: value for key, value in source.items() if key.lower() not in _STALE_TAGS
                   and not key.lower().startswith(("duration-", "bps-", "number_of_"))})


class StreamCopier:
    """Adds the source's non-video streams, attachments and chapters to ``output`` and feeds their packets.

    Construct it right after adding the video stream (before anything is muxed):
    chapters, attachments and stream parameters go into the header.
    """

    def __init__(self, output: av.container.OutputContainer, source: Path, video: av.stream.Stream) -> None:
        self._output = output
        self._aux = open_input(source)
        self._copies: dict[int, av.stream.Stream] = {}
        self._packets: Iterator[av.Packet] | None = None
        self._held: av.Packet | None = None
        try:
            self._setup(video)
        except BaseException:
            self._aux.close()
            raise

    def _setup(self, video: av.stream.Stream) -> None:
        aux = self._aux
        output = self._output
        _copy_tags({k: v for k, v in aux.metadata.items() if k.lower() != "encoder"}, output.metadata)
        if aux.streams.video:
            source_video = aux.streams.video[0]
            _copy_tags(source_video.metadata, video.metadata)
            video.disposition = source_video.disposition
        for stream in aux.streams:
            if stream.type in ("audio", "subtitle", "data"):
                try:
                    copy = output.add_stream_from_template(stream)
                except (ValueError, av.error.FFmpegError) as error:
                    raise InputError(f"{_describe(stream)}: cannot be copied ({error})") from None
                _copy_tags(stream.metadata, copy.metadata)
                copy.disposition = stream.disposition
                self._copies[stream.index] = copy
            elif stream.type == "attachment":
                name = stream.name or stream.metadata.get("filename") or f"attachment{stream.index}"
                mimetype = stream.mimetype or stream.metadata.get("mimetype") or "application/octet-stream"
                output.add_attachment(name, mimetype, bytes(stream.data))
        chapters = aux.chapters()
        if chapters:
            output.set_chapters(chapters)
        if self._copies:
            selected = [stream for stream in aux.streams if stream.index in self._copies]
            self._packets = iter(aux.demux(*selected))

    def copy_until(self, time: Fraction | None) -> None:
        """Mux copied packets that come before ``time`` seconds (all of them for None)."""
        if self._packets is None:
            return
        while True:
            packet = self._held
            self._held = None
            if packet is None:
                try:
                    packet = next(self._packets)
                except (StopIteration, av.error.FFmpegError):
                    self._packets = None
                    return
            if packet.dts is None and packet.pts is None:
                continue  # flush packets carry nothing
            stamp = packet.dts if packet.dts is not None else packet.pts
            if time is not None and Fraction(stamp) * packet.time_base > time:
                self._held = packet
                return
            packet.stream = self._copies[packet.stream_index]
            self._output.mux(packet)

    def close(self) -> None:
        self._packets = None
        self._aux.close()
