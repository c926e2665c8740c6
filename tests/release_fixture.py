"""A release-like MKV made with PyAV: what fansub and BD-rip files look like, in miniature.

HEVC Main10 (or H.264 High10) video with colour tags that starts after the audio,
two Opus tracks with languages, titles and the default flag, an ASS subtitle track
with a style, a TTF attachment, two chapters and container metadata. Tests
convert it and read both files back to compare what was kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

#: the ASS header (Script Info + styles + the Events format line) stored as the codec's extradata
ASS_HEADER = (
    "[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n"
    "[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
    "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
    "MarginR, MarginV, Encoding\n"
    "Style: Default,Fixture Sans,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,0,2,"
    "10,10,10,1\n\n"
    "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
)

#: a stand-in font: any bytes will do, the test compares them byte for byte
FONT_BYTES = b"\x00\x01\x00\x00" + bytes(range(256)) * 4


@dataclass(frozen=True)
class ReleaseSpec:
    """What the fixture puts in the file, for the test to compare against."""

    width: int = 128
    height: int = 72
    frames: int = 12
    rate: Fraction = Fraction(24000, 1001)
    #: seconds the first video frame comes after the first audio sample
    video_delay: Fraction = Fraction(1, 10)
    codec: str = "libx265"
    audio: tuple[tuple[str, str, bool], ...] = (("jpn", "Japanese 2.0", True), ("eng", "English 2.0", False))
    #: (start ms, end ms, text) of the ASS events
    events: tuple[tuple[int, int, str], ...] = ((150, 400, "Hello"), (300, 500, "{\\i1}World{\\i0}"))
    chapters: tuple[tuple[int, int, str], ...] = ((0, 250, "Opening"), (250, 520, "Part A"))
    metadata: dict[str, str] = field(default_factory=lambda: {"title": "Fixture Release - 01", "comment": "stsr"})


def _picture(spec: ReleaseSpec, index: int) -> np.ndarray:
    """A 16-bit RGB frame with gentle gradients (so 10 bits matter) and a square moving on twos.

    Red rises by only ~31 8-bit levels across the width: 8 bits band it, 10 bits do not.
    """
    ramp = np.linspace(0, 65535, spec.width, dtype=np.float64)
    rgb = np.empty((spec.height, spec.width, 3), np.float64)
    rgb[..., 0] = np.linspace(20000, 28000, spec.width)[None, :]
    rgb[..., 1] = np.linspace(8000, 50000, spec.height)[:, None]
    rgb[..., 2] = 65535 - ramp[None, :] * 0.5
    left = 10 + 6 * (index // 2)
    rgb[20:40, left:left + 20] = (60000, 52000, 9000)
    return rgb.round().astype(np.uint16)


def _ass_event(index: int, text: str) -> bytes:
    """A Matroska ASS packet: ReadOrder, Layer, Style, Name, MarginL, MarginR, MarginV, Effect, Text."""
    return f"{index},0,Default,,0,0,0,,{text}".encode()


def write_release(path: str | Path, spec: ReleaseSpec | None = None) -> Path:
    """Write the release-like MKV described by ``spec`` (defaults: HEVC Main10, 12 frames)."""
    spec = spec or ReleaseSpec()
    path = Path(path)
    sample_rate = 48000
    with av.open(str(path), mode="w", format="matroska") as container:
        container.metadata.update(spec.metadata)
        video = container.add_stream(spec.codec, rate=spec.rate)
        video.width, video.height = spec.width, spec.height
        video.pix_fmt = "yuv420p10le"
        context = video.codec_context
        context.time_base = 1 / spec.rate
        context.color_primaries, context.color_trc, context.colorspace = 1, 1, 1  # BT.709
        context.color_range = 1  # limited (MPEG)
        if spec.codec == "libx265":
            video.options = {"crf": "18", "preset": "ultrafast", "x265-params": "log-level=error:bframes=3"}
        else:
            video.options = {"crf": "18", "preset": "ultrafast", "bf": "3"}
        video.metadata["language"] = "jpn"
        video.disposition = av.stream.Disposition.default
        audios = []
        for language, title, default in spec.audio:
            audio = container.add_stream("libopus", rate=sample_rate)
            audio.layout = "stereo"
            audio.metadata.update({"language": language, "title": title})
            audio.disposition = av.stream.Disposition.default if default else av.stream.Disposition(0)
            audios.append(audio)
        subtitle = container.add_stream("ass")
        subtitle.codec_context.subtitle_header = ASS_HEADER.encode()
        subtitle.metadata.update({"language": "eng", "title": "Dialogue"})
        subtitle.disposition = av.stream.Disposition.default | av.stream.Disposition.forced
        container.add_attachment("FixtureSans.ttf", "font/ttf", FONT_BYTES)
        container.set_chapters([
            {"id": number + 1, "start": start, "end": end, "time_base": Fraction(1, 1000),
             "metadata": {"title": title}}
            for number, (start, end, title) in enumerate(spec.chapters)
        ])
        duration = spec.video_delay + spec.frames / spec.rate
        delay_frames = spec.video_delay * spec.rate  # the first frame's pts in 1/rate units
        offset = round(delay_frames)
        for index in range(spec.frames):
            frame = av.VideoFrame.from_ndarray(_picture(spec, index), format="rgb48le")
            frame = frame.reformat(format="yuv420p10le", dst_colorspace="itu709", dst_color_range="MPEG")
            frame.pts = offset + index
            frame.time_base = context.time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        samples = int(duration * sample_rate)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / sample_rate)).astype(np.float32)
        for audio in audios:
            chunk = 960
            for start in range(0, samples - chunk + 1, chunk):
                piece = np.ascontiguousarray(np.stack([tone[start:start + chunk]] * 2))
                frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="stereo")
                frame.sample_rate = sample_rate
                frame.pts = start
                frame.time_base = Fraction(1, sample_rate)
                container.mux(audio.encode(frame))
            container.mux(audio.encode(None))
        for index, (start, end, text) in enumerate(spec.events):
            event = av.subtitles.subtitle.SubtitleSet.create(_ass_event(index, text), 0, end - start, pts=start)
            packet = subtitle.codec_context.encode_subtitle(event)
            packet.stream = subtitle
            packet.pts = packet.dts = start
            packet.duration = end - start
            packet.time_base = Fraction(1, 1000)
            container.mux(packet)
    return path


#: HDR10 static metadata as x265 writes it (a BT.2020 / P3-D65 mastering display, 1000 nits)
HDR10_X265 = ("hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"
              ":max-cll=1000,400")


def write_hdr_clip(path: str | Path, frames: int = 6, size: int = 64) -> Path:
    """A tiny HDR10 HEVC Main10 clip: BT.2020 primaries and matrix, PQ transfer, mastering display and CLL SEI."""
    path = Path(path)
    rate = Fraction(24)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx265", rate=rate, options={
            "preset": "ultrafast", "crf": "18", "x265-params": f"log-level=error:{HDR10_X265}"})
        video.width = video.height = size
        video.pix_fmt = "yuv420p10le"
        context = video.codec_context
        context.time_base = 1 / rate
        context.color_primaries, context.color_trc, context.colorspace, context.color_range = 9, 16, 9, 1
        for index in range(frames):
            rgb = np.full((size, size, 3), 20000, np.uint16)
            rgb[10:30, 5 + 4 * (index // 2):25 + 4 * (index // 2)] = (50000, 30000, 10000)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb48le")
            frame = frame.reformat(format="yuv420p10le", dst_colorspace="bt2020", dst_color_range="MPEG")
            frame.pts = index
            frame.time_base = context.time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    return path
