"""Copying every non-video stream of the source into the output, as it was.

Audio and subtitle packets are copied untouched (same timestamps, so their
offset to the video is kept), in the source's order, with their metadata
(language, title, ...) and dispositions (default, forced, ...). Attachments
(fonts and any other MIME type) and chapters are copied too, and so is the
container's metadata. What the output container cannot hold is settled by
:func:`check_copies` before any work, never dropped silently: text subtitles going
into ``.mp4``/``.mov`` are converted to mov_text and attachments left out, each
with one line saying so; anything else it cannot hold is refused in one line.
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
#: text subtitle codecs that FFmpeg decodes to ASS events, which the mov_text encoder takes
_TEXT_SUBTITLES = {"ass", "ssa", "subrip", "srt", "text", "webvtt", "mov_text"}
#: a minimal ASS header for text subtitles that bring none (the mov_text encoder needs one)
_DEFAULT_ASS_HEADER = (b"[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n[V4+ Styles]\n"
                       b"Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
                       b"Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
                       b"Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\nStyle: Default,Arial,16,&Hffffff,"
                       b"&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\n\n[Events]\n"
                       b"Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n")
#: per-stream tags that describe the source file's copy of the stream, not the stream: the muxer writes its own
_STALE_TAGS = {"duration", "encoder", "bps", "number_of_frames", "number_of_bytes", "_statistics_writing_app",
               "_statistics_writing_date_utc", "_statistics_tags"}


def _describe(stream: av.stream.Stream) -> str:
    language = stream.metadata.get("language")
    title = stream.metadata.get("title")
    name = stream.codec_context.name if stream.codec_context is not None else getattr(stream, "name", "")
    label = ", ".join(part for part in (language, f"'{title}'" if title else None) if part)
    return f"{stream.type} stream {stream.index} ({name}{': ' + label if label else ''})"


def _converts_to_mov_text(stream: av.stream.Stream, container: str) -> bool:
    return (container in ("mp4", "mov") and stream.type == "subtitle"
            and stream.codec_context.name in _TEXT_SUBTITLES and stream.codec_context.name != "mov_text")


def check_copies(source: Path, target: Path) -> list[str]:
    """Settle, before any work, what of ``source`` goes into ``target``'s container.

    Returns the notes to show the user (one line each: a conversion or a stream
    left out); raises :class:`InputError` (one line) for a stream it cannot hold.
    """
    container = container_for(target)
    notes: list[str] = []
    advice = "use a .mkv output, which keeps every stream"
    with open_input(source) as aux:
        attachments = [stream for stream in aux.streams if stream.type == "attachment"]
        for stream in aux.streams:
            problem: str | None = None
            if stream.type == "audio":
                allowed = _AUDIO[container]
                if allowed is not None and stream.codec_context.name not in allowed:
                    problem = f"{target.suffix} cannot hold {stream.codec_context.name} audio"
            elif _converts_to_mov_text(stream, container):
                notes.append(f"{_describe(stream)}: converted to mov_text for {target.suffix} (text and timing "
                             f"kept, styles and positions lost; {advice})")
            elif stream.type == "subtitle":
                allowed = _SUBTITLES[container]
                if allowed is not None and stream.codec_context.name not in allowed:
                    problem = f"{target.suffix} takes only {'/'.join(sorted(allowed))} subtitles"
            elif stream.type == "attachment" and container == "webm":
                problem = f"{target.suffix} cannot hold attachments"
            if problem is not None:
                raise InputError(f"{source.name}: {_describe(stream)}: {problem}; {advice}")
        if attachments and container not in _ATTACHMENTS:
            names = ", ".join(stream.name or f"#{stream.index}" for stream in attachments)
            notes.append(f"{len(attachments)} attachment(s) ({names}) left out: {target.suffix} cannot hold them "
                         f"(fonts only serve styled subtitles); {advice}")
    return notes


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
        #: source subtitle streams re-encoded as mov_text (for mp4/mov), by source index
        self._converted: set[int] = set()
        self._container_name = output.format.name
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
        container = "mp4" if "mp4" in self._container_name else ("mov" if "mov" in self._container_name else "")
        for stream in aux.streams:
            if stream.type in ("audio", "subtitle", "data"):
                try:
                    if _converts_to_mov_text(stream, container):
                        copy = output.add_stream("mov_text")
                        header = stream.codec_context.extradata if stream.codec_context.name in ("ass", "ssa") \
                            else None
                        copy.codec_context.subtitle_header = header or _DEFAULT_ASS_HEADER
                        copy.time_base = stream.time_base
                        self._converted.add(stream.index)
                    else:
                        copy = output.add_stream_from_template(stream)
                except (ValueError, av.error.FFmpegError) as error:
                    raise InputError(f"{_describe(stream)}: cannot be copied ({error})") from None
                _copy_tags(stream.metadata, copy.metadata)
                copy.disposition = stream.disposition
                self._copies[stream.index] = copy
            elif stream.type == "attachment" and self._container_name.startswith("matroska"):
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
            if packet.stream_index in self._converted:
                self._mux_as_mov_text(packet)
                continue
            packet.stream = self._copies[packet.stream_index]
            self._output.mux(packet)

    def _mux_as_mov_text(self, packet: av.Packet) -> None:
        """Decode one text subtitle packet to ASS events and mux them re-encoded as mov_text, same times."""
        source = self._aux.streams[packet.stream_index]
        target = self._copies[packet.stream_index]
        try:
            events = [rect.ass for rect in source.decode(packet) if hasattr(rect, "ass")]
        except av.error.FFmpegError:
            return  # an undecodable event: the rest of the track is still worth keeping
        for text in events:
            subtitle = av.subtitles.subtitle.SubtitleSet.create(bytes(text), 0, int(packet.duration or 0),
                                                                pts=int(packet.pts or 0))
            encoded = target.codec_context.encode_subtitle(subtitle)
            encoded.stream = target
            encoded.pts = encoded.dts = packet.pts
            encoded.duration = packet.duration
            encoded.time_base = packet.time_base
            self._output.mux(encoded)

    def close(self) -> None:
        self._packets = None
        self._aux.close()
