"""Probing inputs with PyAV: picture size, rate, bit depth, colour description, stream counts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from ..errors import InputError

#: FFmpeg's "unspecified" value of the colour enums (AVColorPrimaries, AVColorTransferCharacteristic, ...)
UNSPECIFIED = 2


@dataclass(frozen=True)
class ColorDescription:
    """The colour tags of a video stream, as FFmpeg's enum values (1 = BT.709, 2 = unspecified, ...)."""

    primaries: int = UNSPECIFIED
    transfer: int = UNSPECIFIED
    matrix: int = UNSPECIFIED
    #: 0 unspecified, 1 limited (MPEG), 2 full (JPEG)
    range: int = 0

    @property
    def tagged(self) -> bool:
        return any(value not in (UNSPECIFIED, 0) for value in (self.primaries, self.transfer, self.matrix)) \
            or self.range != 0

    def conversion_matrix(self, width: int, height: int) -> int:
        """The YUV<->RGB matrix to use: the tagged one, else BT.709 for HD and BT.601 for SD (what players do)."""
        if self.matrix not in (UNSPECIFIED, 0, 3):
            return self.matrix
        return 1 if width >= 1280 or height > 576 else 6

    @property
    def full_range(self) -> bool:
        return self.range == 2


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
    #: bits per sample of the luma plane (8, 10, 12)
    bit_depth: int = 8
    pix_fmt: str = "yuv420p"
    color: ColorDescription = ColorDescription()


def open_input(path: Path) -> av.container.InputContainer:
    """Open ``path`` for reading; anything that is not a readable media file is one :class:`InputError` line."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a video")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"{path}: not a readable video ({short_reason(error)})") from None


def short_reason(error: BaseException) -> str:
    """FFmpeg's reason without errno numbers and file names."""
    reason = getattr(error, "strerror", None) or str(error).strip() or type(error).__name__
    return str(reason).splitlines()[0].split(": '")[0]


def pixel_bit_depth(pix_fmt: str | None) -> int:
    """Bits of the first component of ``pix_fmt`` (8 when unknown)."""
    if not pix_fmt:
        return 8
    try:
        return int(av.VideoFormat(pix_fmt).components[0].bits)
    except (ValueError, IndexError):
        return 8


def stream_color(context: av.codec.context.CodecContext) -> ColorDescription:
    return ColorDescription(int(context.color_primaries or UNSPECIFIED), int(context.color_trc or UNSPECIFIED),
                            int(context.colorspace or UNSPECIFIED), int(context.color_range or 0))


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read the container header; raise :class:`InputError` for anything that is not a video."""
    path = Path(path)
    with open_input(path) as container:
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
        pix_fmt = stream.codec_context.pix_fmt or "yuv420p"
        return VideoInfo(
            path=path,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            frame_rate=Fraction(rate),
            frame_count=frame_count,
            duration=duration,
            audio_streams=len(container.streams.audio),
            subtitle_streams=len(container.streams.subtitles),
            bit_depth=pixel_bit_depth(pix_fmt),
            pix_fmt=pix_fmt,
            color=stream_color(stream.codec_context),
        )


def processing_size(width: int, height: int, target_height: int | None, even: bool = True) -> tuple[int, int]:
    """Frame size at ``target_height`` keeping the aspect ratio.

    ``even`` rounds both sides down to even numbers (what 4:2:0 players want);
    the converter passes ``even=False`` at the input's own height so that the
    output keeps the input's size exactly.
    """
    if not target_height or target_height >= height:
        if not even:
            return width, height
        return width - width % 2, height - height % 2
    scaled_width = round(width * target_height / height / 2) * 2
    return max(2, scaled_width), target_height - target_height % 2


@dataclass(frozen=True)
class HdrMetadata:
    """HDR10 static metadata: mastering display (SMPTE ST 2086) and content light level (CTA-861.3)."""

    #: (x, y) chromaticities of the red, green, blue primaries and the white point, as exact fractions
    red: tuple[Fraction, Fraction] | None = None
    green: tuple[Fraction, Fraction] | None = None
    blue: tuple[Fraction, Fraction] | None = None
    white: tuple[Fraction, Fraction] | None = None
    #: cd/m2
    min_luminance: Fraction | None = None
    max_luminance: Fraction | None = None
    max_cll: int | None = None
    max_fall: int | None = None

    def x265_params(self) -> str:
        """The x265 parameters that write the same SEI messages (``master-display``, ``max-cll``)."""
        params = ["hdr10=1"]
        if self.red and self.green and self.blue and self.white and self.max_luminance is not None:
            def xy(point: tuple[Fraction, Fraction]) -> str:
                return f"({round(point[0] * 50000)},{round(point[1] * 50000)})"
            params.append(f"master-display=G{xy(self.green)}B{xy(self.blue)}R{xy(self.red)}WP{xy(self.white)}"
                          f"L({round(self.max_luminance * 10000)},{round((self.min_luminance or 0) * 10000)})")
        if self.max_cll is not None:
            params.append(f"max-cll={self.max_cll},{self.max_fall or 0}")
        return ":".join(params)


#: transfer characteristics that carry HDR: SMPTE ST 2084 (PQ) and ARIB STD-B67 (HLG)
HDR_TRANSFERS = {16, 18}


def _rationals(data: bytes, count: int) -> list[Fraction]:
    values = np.frombuffer(data[:8 * count], "<i4").reshape(count, 2)
    return [Fraction(int(num), int(den)) if den else Fraction(0) for num, den in values]


def hdr_metadata(path: str | os.PathLike[str]) -> HdrMetadata | None:
    """The HDR10 metadata of the first video frame (None for SDR or when the stream carries none)."""
    with open_input(Path(path)) as container:
        stream = container.streams.video[0]
        if int(stream.codec_context.color_trc or 0) not in HDR_TRANSFERS:
            return None
        try:
            frame = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError):
            return None
        fields: dict[str, object] = {}
        for entry in frame.side_data:
            # PyAV 18.1.1 made side data a mapping (iterating gives its types); earlier ones give the data.
            side = entry if hasattr(entry, "type") else frame.side_data[entry]
            data = bytes(side)
            kind = str(side.type).rsplit(".", 1)[-1]
            if kind == "MASTERING_DISPLAY_METADATA" and len(data) >= 88:
                values = _rationals(data, 10)
                has_primaries, has_luminance = np.frombuffer(data[80:88], "<i4")
                if has_primaries:
                    fields.update(red=(values[0], values[1]), green=(values[2], values[3]),
                                  blue=(values[4], values[5]), white=(values[6], values[7]))
                if has_luminance:
                    fields.update(min_luminance=values[8], max_luminance=values[9])
            elif kind == "CONTENT_LIGHT_LEVEL" and len(data) >= 8:
                cll, fall = np.frombuffer(data[:8], "<u4")
                fields.update(max_cll=int(cll), max_fall=int(fall))
        return HdrMetadata(**fields) if fields else None  # type: ignore[arg-type]
