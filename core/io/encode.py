"""Encoder choice and the video writer: codec, CRF, preset, pixel format, colour tags, exact timing.

Settings are chosen and checked (:func:`choose_settings`) before any work, so a
codec the container cannot hold, an encoder this PyAV lacks or a hardware
encoder without its hardware is one line, not a traceback half-way through.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from ..errors import InputError
from .color import FULL_RANGE_FORMATS, MATRIX_NAMES, YUV420_FORMATS, limited10_to_full, rgb_to_yuv420
from .decode import ACCURATE, swscale_colorspace, to_swscale16
from .mux import StreamCopier
from .output import container_for, write_failure
from .probe import ColorDescription, HdrMetadata, pixel_bit_depth

log = logging.getLogger(__name__)

#: user-facing codec name -> FFmpeg encoders, best first
ENCODERS: dict[str, tuple[str, ...]] = {
    "h264": ("libx264",),
    "h265": ("libx265",),
    "av1": ("libsvtav1", "libaom-av1"),
    "vp9": ("libvpx-vp9",),
    "ffv1": ("ffv1",),
    "h264_nvenc": ("h264_nvenc",),
    "hevc_nvenc": ("hevc_nvenc",),
}
CODEC_NAMES = tuple(ENCODERS)
HARDWARE = {"h264_nvenc": "h264", "hevc_nvenc": "h265"}

#: which video codecs each output container takes
CONTAINER_CODECS: dict[str, tuple[str, ...]] = {
    "matroska": CODEC_NAMES,
    "mp4": ("h264", "h265", "av1", "vp9", "h264_nvenc", "hevc_nvenc"),
    "mov": ("h264", "h265", "h264_nvenc", "hevc_nvenc"),
    "webm": ("vp9", "av1"),
}

#: Default CRF per codec: the value at which the encode cannot be told from the processed frames
#: (benchmarks/bench_encode.py measures PSNR against them: >= 45 dB on anime-like content).
DEFAULT_CRF = {"h264": 18, "h265": 18, "av1": 28, "vp9": 28, "h264_nvenc": 19, "hevc_nvenc": 19}
DEFAULT_PRESET = {"libx264": "medium", "libx265": "medium", "libsvtav1": "8", "libaom-av1": "6",
                  "libvpx-vp9": "4", "h264_nvenc": "p5", "hevc_nvenc": "p5"}


@dataclass(frozen=True)
class EncodeSettings:
    """What the writer encodes with; :func:`choose_settings` makes and checks one."""

    codec: str
    encoder: str
    pix_fmt: str
    options: dict[str, str] = field(default_factory=dict)
    crf: int | None = None
    preset: str | None = None

    @property
    def bit_depth(self) -> int:
        return pixel_bit_depth(self.pix_fmt)

    def describe(self) -> str:
        parts = [self.encoder, self.pix_fmt]
        if self.crf is not None:
            parts.append(f"crf {self.crf}")
        if self.preset is not None:
            parts.append(f"preset {self.preset}")
        return ", ".join(parts)


def _encoder_formats(encoder: str) -> set[str]:
    try:
        return {fmt.name for fmt in av.codec.Codec(encoder, "w").video_formats or ()}
    except (ValueError, av.error.FFmpegError):
        return set()


def _hardware_usable(encoder: str) -> str | None:
    """None when ``encoder`` opens here, else FFmpeg's reason (no GPU, no driver)."""
    try:
        context = av.codec.CodecContext.create(encoder, "w")
        context.width, context.height = 256, 256
        context.pix_fmt = "yuv420p"
        context.time_base = Fraction(1, 25)
        context.open()
        return None
    except (av.error.FFmpegError, ValueError, OSError) as error:
        return str(error).splitlines()[0] if str(error) else type(error).__name__


def _pick_pix_fmt(encoder: str, bit_depth: int, width: int, height: int) -> str:
    """The input's depth where the encoder has it; 4:4:4 for odd sizes (4:2:0 needs even sides)."""
    formats = _encoder_formats(encoder)
    odd = width % 2 or height % 2
    deep = bit_depth > 8
    chroma = "444" if odd else "420"
    candidates = [f"yuv{chroma}p10le", f"yuv{chroma}p"] if deep else [f"yuv{chroma}p"]
    if encoder.endswith("_nvenc"):
        candidates = (["p010le"] if deep else []) + ["yuv420p"] if not odd else ["yuv444p16le", "yuv444p"]
    for candidate in candidates:
        if not formats or candidate in formats:
            return candidate
    return next(iter(sorted(formats)))


def choose_settings(
    target: str | os.PathLike[str],
    codec: str | None = None,
    bit_depth: int = 8,
    width: int = 2,
    height: int = 2,
    crf: int | None = None,
    preset: str | None = None,
    pix_fmt: str | None = None,
    encoder_options: dict[str, str] | None = None,
    hdr: HdrMetadata | None = None,
) -> EncodeSettings:
    """Settings for ``target``; every impossible combination is one :class:`InputError` line.

    Default codec: H.265 10-bit for inputs deeper than 8 bits, H.264 for 8-bit ones,
    VP9 for ``.webm``. ``hdr`` (the input's HDR10 metadata) is written by x265 as the
    same SEI messages; other encoders keep the colour tags only, said in one line.
    """
    target = Path(target)
    container = container_for(target)
    if codec is None:
        codec = "vp9" if container == "webm" else ("h265" if bit_depth > 8 else "h264")
    if codec not in ENCODERS:
        raise InputError(f"--codec {codec}: unknown codec (choose from {', '.join(CODEC_NAMES)})")
    if codec not in CONTAINER_CODECS[container]:
        fits = [name for name, codecs in CONTAINER_CODECS.items() if codec in codecs]
        extensions = {"matroska": ".mkv", "mp4": ".mp4", "mov": ".mov", "webm": ".webm"}
        raise InputError(f"{target.name}: {target.suffix} cannot hold {codec} video; use --codec "
                         f"{' or '.join(CONTAINER_CODECS[container][:3])}, or a "
                         f"{' / '.join(extensions[name] for name in fits)} output")
    available = [name for name in ENCODERS[codec] if name in av.codecs_available]
    if not available:
        raise InputError(f"--codec {codec}: this PyAV has no {' or '.join(ENCODERS[codec])} encoder")
    encoder = available[0]
    if codec in HARDWARE:
        reason = _hardware_usable(encoder)
        if reason is not None:
            raise InputError(f"--codec {codec}: hardware encoder not usable here ({reason}); "
                             f"use --codec {HARDWARE[codec]} for the software encoder")
    if pix_fmt is not None:
        formats = _encoder_formats(encoder)
        if formats and pix_fmt not in formats:
            raise InputError(f"--pix-fmt {pix_fmt}: {encoder} does not take it (takes {', '.join(sorted(formats))})")
        if (width % 2 or height % 2) and av.VideoFormat(pix_fmt).chroma_width(width) * 2 != width \
                and "444" not in pix_fmt and "rgb" not in pix_fmt and "gbr" not in pix_fmt:
            raise InputError(f"--pix-fmt {pix_fmt}: {width}x{height} is odd; 4:2:0 needs even sides (use yuv444p)")
    else:
        pix_fmt = _pick_pix_fmt(encoder, bit_depth, width, height)
        if bit_depth > 8 and pixel_bit_depth(pix_fmt) == 8:
            log.warning("%s has no 10-bit mode: encoding 8-bit (use --codec h265 to keep %d bits)", encoder,
                        bit_depth)
    options: dict[str, str] = {}
    if codec == "ffv1":
        if crf is not None or preset is not None:
            raise InputError("--codec ffv1 is lossless: --crf and --preset do not apply")
        options = {"level": "3", "g": "1"}
    else:
        crf = DEFAULT_CRF[codec] if crf is None else crf
        preset = DEFAULT_PRESET[encoder] if preset is None else preset
        if encoder in ("libx264", "libx265"):
            options = {"crf": str(crf), "preset": preset}
            if encoder == "libx265":
                options["x265-params"] = "log-level=error" + (f":{hdr.x265_params()}" if hdr else "")
        elif encoder == "libsvtav1":
            os.environ.setdefault("SVT_LOG", "1")  # errors only: SVT-AV1 prints a banner of info lines otherwise
            options = {"crf": str(crf), "preset": preset, "svtav1-params": "loglevel=0"}
        elif encoder == "libaom-av1":
            options = {"crf": str(crf), "cpu-used": preset, "b": "0"}
        elif encoder == "libvpx-vp9":
            options = {"crf": str(crf), "b": "0", "cpu-used": preset, "row-mt": "1", "deadline": "good"}
        else:  # NVENC: constant quality
            options = {"rc": "vbr", "cq": str(crf), "b": "0", "preset": preset}
    if hdr is not None and encoder != "libx265":
        log.warning("%s keeps the HDR colour tags but not the mastering-display/content-light metadata; "
                    "use --codec h265 to keep them", encoder)
    for key, value in (encoder_options or {}).items():
        if key == "x265-params" and "x265-params" in options:
            value = f"{options['x265-params']}:{value}"
        options[key] = value
    settings = EncodeSettings(codec, encoder, pix_fmt, options, crf, preset)
    if codec not in HARDWARE:
        _check_opens(settings, encoder_options or {})
    return settings


def _check_opens(settings: EncodeSettings, user_options: dict[str, str]) -> None:
    """Open the encoder once with these settings: a bad --preset or --encoder-opt is one line before any work."""
    context = av.codec.CodecContext.create(settings.encoder, "w")
    context.width = context.height = 64
    context.pix_fmt = settings.pix_fmt
    context.time_base = Fraction(1, 24)
    context.options = dict(settings.options)
    try:
        context.open()
    except (av.error.FFmpegError, ValueError, OSError):
        given = [f"--preset {settings.preset}"] if settings.preset is not None else []
        given += [f"--encoder-opt {key}={value}" for key, value in user_options.items()]
        given += [f"--crf {settings.crf}"] if settings.crf is not None else []
        raise InputError(f"{settings.encoder} refused its settings ({', '.join(given) or settings.describe()}); "
                         f"check the values against the encoder's documentation") from None
    unused = [key for key in context.options if key in user_options]
    if unused:
        raise InputError(f"--encoder-opt {unused[0]}: {settings.encoder} has no such option")


def parse_encoder_options(items: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings (``--encoder-opt``) -> a dict; a malformed one is one line."""
    options: dict[str, str] = {}
    for item in items:
        key, sign, value = item.partition("=")
        if not sign or not key:
            raise InputError(f"--encoder-opt {item!r}: expected KEY=VALUE (e.g. tune=animation)")
        options[key.strip()] = value.strip()
    return options


def _fine_time_base(rate: Fraction) -> tuple[Fraction, int]:
    """A time base in which every output frame and the input's start time (to 0.1 ms) are whole numbers.

    Returns the base and the number of its ticks per output frame.
    """
    per_second = rate.numerator * max(1, math.ceil(10000 / rate.numerator))
    time_base = Fraction(1, per_second)
    return time_base, int(1 / rate / time_base)


class EncoderInput:
    """RGB -> the frame an encoder is fed: its pixel format, matrix and range, rounded once.

    One place for what a conversion hands its encoder: :class:`VideoWriter` uses it, and so do
    the cluster's chunk workers (they store exactly these frames, losslessly), so a chunked
    conversion feeds the final encoder the very frames a single-process run does.
    """

    def __init__(self, settings: EncodeSettings, color: ColorDescription | None, width: int, height: int) -> None:
        self.settings = settings
        self.matrix = swscale_colorspace((color or ColorDescription()).conversion_matrix(width, height))
        self.range = 2 if (color or ColorDescription()).full_range else 1

    def _direct(self, width: int, height: int) -> bool:
        """4:2:0 computed here from the floats (not by swscale)."""
        return (YUV420_FORMATS.get(self.settings.pix_fmt) is not None and MATRIX_NAMES.get(self.matrix) is not None
                and not (width % 2 or height % 2))

    def _swscale_tags(self, width: int, height: int) -> bool:
        """The frame comes out of ``reformat``, which tags it with the matrix (the full-range remap does not)."""
        return not self._direct(width, height) and not (
            self.range == 2 and FULL_RANGE_FORMATS.get(self.settings.pix_fmt) is not None
            and not (width % 2 or height % 2))

    def from_planes(self, planes: np.ndarray) -> av.VideoFrame:
        """A frame stored as :meth:`frame` made it (its ``to_ndarray()``), rebuilt with the same pixels and tags."""
        frame = av.VideoFrame.from_ndarray(planes, format=self.settings.pix_fmt)
        frame.color_range = self.range
        if self._swscale_tags(frame.width, frame.height):
            frame.colorspace = self.matrix
        return frame

    def frame(self, rgb: np.ndarray) -> av.VideoFrame:
        """RGB (uint8, uint16 or float32 in [0, 1]) -> a frame in the encoder's pixel format."""
        height, width = rgb.shape[:2]
        bits = YUV420_FORMATS.get(self.settings.pix_fmt)
        matrix = MATRIX_NAMES.get(self.matrix)
        if self._direct(width, height):
            assert bits is not None and matrix is not None
            # 4:2:0 straight from floats: rounded once, no swscale bias, 4x cheaper than its exact path
            if rgb.dtype != np.float32:
                rgb = rgb.astype(np.float32) * np.float32(1 / (65535 if rgb.dtype == np.uint16 else 255))
            planes = rgb_to_yuv420(rgb, matrix, bits, self.range == 2)
            frame = av.VideoFrame.from_ndarray(planes, format=self.settings.pix_fmt)
            frame.color_range = self.range
            return frame
        if rgb.dtype == np.float32:
            rgb = np.rint(np.clip(rgb, 0, 1) * 65535).astype(np.uint16)
        return self._swscale(rgb)

    def _swscale(self, rgb: np.ndarray) -> av.VideoFrame:
        # swscale's 8-bit RGB -> YUV truncates: through its 16 bits (white 65280), rounded exactly
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(to_swscale16(rgb)), format="rgb48le")
        bits = FULL_RANGE_FORMATS.get(self.settings.pix_fmt)
        if self.range == 2 and bits is not None and not (frame.width % 2 or frame.height % 2):
            # full range: swscale's exact limited 10-bit path, then the remap (its full-range path is off)
            limited = frame.reformat(format="yuv420p10le", dst_colorspace=self.matrix, dst_color_range=1,
                                     interpolation=ACCURATE).to_ndarray()
            frame = av.VideoFrame.from_ndarray(limited10_to_full(limited, bits, frame.width, frame.height),
                                               format=self.settings.pix_fmt)
            frame.color_range = 2
        else:
            frame = frame.reformat(format=self.settings.pix_fmt, dst_colorspace=self.matrix,
                                   dst_color_range=self.range, interpolation=ACCURATE)
        return frame


class VideoWriter:
    """Encodes RGB frames at a fixed rate and copies the source's other streams.

    Frames are written in order; :meth:`write` takes the frame's exact time. The
    first frame's time becomes the video's start time, exactly (not rounded to the
    output rate), so the video keeps its offset to the copied audio and subtitles.
    ``rgb`` is uint8 (8-bit path) or uint16 (full 16-bit scale, the deep path).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: Fraction,
        width: int,
        height: int,
        codec: str | EncodeSettings | None = "h264",
        copy_from: str | os.PathLike[str] | None = None,
        container_format: str | None = None,
        color: ColorDescription | None = None,
        target: str | os.PathLike[str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.target = Path(target) if target is not None else self.path
        self.rate = Fraction(rate)
        settings = codec if isinstance(codec, EncodeSettings) else choose_settings(
            self.target, codec, 8, width, height)
        self.settings = settings
        self.color = color or ColorDescription()
        #: RGB -> the frames this encoder is fed (shared with the cluster's chunk workers)
        self.input = EncoderInput(settings, self.color, width, height)
        self._matrix, self._range = self.input.matrix, self.input.range
        format_name = container_format or container_for(self.target)
        try:
            self._container = av.open(str(self.path), mode="w", format=format_name)
        except OSError as error:
            raise write_failure(self.target, error) from None
        self._video = self._container.add_stream(settings.encoder, rate=self.rate, options=dict(settings.options))
        self._video.width = width
        self._video.height = height
        self._video.pix_fmt = settings.pix_fmt
        self._fine_base, self._ticks_per_frame = _fine_time_base(self.rate)
        self._video.time_base = self._fine_base
        context = self._video.codec_context
        context.time_base = 1 / self.rate
        context.framerate = self.rate
        if self.color.range:  # an untagged input stays untagged (limited range is what readers assume)
            context.color_range = self.color.range
        if self.color.tagged:
            context.color_primaries = self.color.primaries
            context.color_trc = self.color.transfer
            context.colorspace = self.color.matrix if self.color.matrix != 2 else self._matrix
        self._copier: StreamCopier | None = None
        if copy_from is not None:
            self._copier = StreamCopier(self._container, Path(copy_from), self._video)
        self._origin: Fraction | None = None
        self._last_pts: int | None = None

    def _mux(self, packets: Iterable[av.Packet]) -> None:
        try:
            for packet in packets:
                if packet.pts is not None:
                    packet.pts = packet.pts * self._ticks_per_frame + self._origin_ticks
                if packet.dts is not None:
                    packet.dts = packet.dts * self._ticks_per_frame + self._origin_ticks
                if packet.duration:
                    packet.duration = packet.duration * self._ticks_per_frame
                packet.time_base = self._fine_base
                self._container.mux(packet)
        except OSError as error:
            raise write_failure(self.target, error) from None

    def write(self, rgb: np.ndarray, time: Fraction) -> None:
        """Encode one frame at ``time`` seconds: (H, W, 3) uint8, uint16 (full scale) or float32 in [0, 1]."""
        self.write_frame(self.input.frame(rgb), time)

    def write_frame(self, frame: av.VideoFrame, time: Fraction) -> None:
        """Encode a frame already in the encoder's format (:meth:`EncoderInput.frame`) at ``time`` seconds."""
        if self._origin is None:
            self._origin = Fraction(time)
            self._origin_ticks = round(self._origin / self._fine_base)
        frame.color_range = self._range
        pts = round((time - self._origin) * self.rate)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = self._video.codec_context.time_base
        if self._copier is not None:
            try:
                self._copier.copy_until(time)
            except OSError as error:
                raise write_failure(self.target, error) from None
        self._mux(self._video.encode(frame))

    def close(self) -> None:
        """Flush the encoder and the remaining copied packets; close the file."""
        try:
            if self._origin is not None:
                self._mux(self._video.encode(None))
            if self._copier is not None:
                self._copier.copy_until(None)
            self._container.close()
        except OSError as error:
            self.abort()
            raise write_failure(self.target, error) from None
        finally:
            if self._copier is not None:
                self._copier.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # the file is thrown away; the first error is the one reported
            self._container.close()
        if self._copier is not None:
            self._copier.close()


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
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
            raise InputError("no frames to write")
        writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
