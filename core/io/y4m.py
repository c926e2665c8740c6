"""YUV4MPEG2 (Y4M) streams: the raw-video format ffmpeg and mpv speak over pipes.

A Y4M stream is one text header line, then per frame ``FRAME`` (+ optional
parameters) and the planes. With 4:2:0 every frame record has the same size, which
the player relies on to map byte offsets to frame indices. 8-bit (``C420jpeg`` and
friends) and 10-bit (``C420p10``: 16-bit little-endian samples) are supported; the
YUV <-> RGB matrix is BT.709 for HD sizes and BT.601 for SD (Y4M has no colour tags).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

import av
import numpy as np

from ..errors import InputError
from .decode import ACCURATE, merge_planes, swscale_colorspace, to_swscale16
from .probe import ColorDescription

_MAGIC = b"YUV4MPEG2"
_FRAME = b"FRAME"
_SUPPORTED_CHROMA = {"420", "420jpeg", "420mpeg2", "420paldv", "420p10"}
#: Y4M colourspace tag -> bits per sample
_BITS = {"420p10": 10}


@dataclass(frozen=True)
class Y4MHeader:
    width: int
    height: int
    rate: Fraction
    colorspace: str = "420jpeg"

    def encode(self) -> bytes:
        return (f"YUV4MPEG2 W{self.width} H{self.height} F{self.rate.numerator}:{self.rate.denominator} "
                f"Ip A1:1 C{self.colorspace}\n").encode("ascii")

    @property
    def bit_depth(self) -> int:
        return _BITS.get(self.colorspace, 8)

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame's planes (4:2:0; two bytes a sample above 8 bits)."""
        return self.width * self.height * 3 // 2 * (2 if self.bit_depth > 8 else 1)

    @property
    def record_bytes(self) -> int:
        """Bytes of one frame record including the ``FRAME\\n`` marker."""
        return len(_FRAME) + 1 + self.frame_bytes


def parse_header(line: bytes) -> Y4MHeader:
    """Parse the header line; 4:2:0 at 8 bits (ffmpeg's yuv420p) or 10 bits (yuv420p10le, ``C420p10``)."""
    if not line.startswith(_MAGIC):
        raise InputError("input is not a YUV4MPEG2 stream (expected 'YUV4MPEG2' header)")
    fields = line.decode("ascii", "replace").split()[1:]
    values = {item[0]: item[1:] for item in fields if item}
    try:
        width, height = int(values["W"]), int(values["H"])
        num, den = values.get("F", "25:1").split(":")
        rate = Fraction(int(num), int(den))
    except (KeyError, ValueError, ZeroDivisionError):
        raise InputError(f"bad YUV4MPEG2 header: {line[:80]!r}") from None
    chroma = values.get("C", "420jpeg")
    if chroma not in _SUPPORTED_CHROMA:
        raise InputError(f"YUV4MPEG2 colourspace C{chroma} not supported; use -pix_fmt yuv420p or yuv420p10le")
    if width % 2 or height % 2:
        raise InputError("YUV4MPEG2 4:2:0 frames must have even width and height")
    return Y4MHeader(width, height, rate, chroma)


def _matrix(width: int, height: int) -> int:
    return swscale_colorspace(ColorDescription().conversion_matrix(width, height))


def yuv420_to_rgb(planes: bytes | memoryview, width: int, height: int, bit_depth: int = 8) -> np.ndarray:
    """One 4:2:0 frame's planes to RGB (H, W, 3) with swscale: uint8 for 8-bit, uint16 (full scale) for 10-bit."""
    deep = bit_depth > 8
    array = np.frombuffer(planes, dtype="<u2" if deep else np.uint8).reshape(height * 3 // 2, width)
    frame = av.VideoFrame.from_ndarray(array, format="yuv420p10le" if deep else "yuv420p")
    planar = frame.reformat(format="gbrp16le", src_colorspace=_matrix(width, height), src_color_range=1)
    return merge_planes(planar, deep)  # through 16 bits even for 8-bit output: swscale's 8-bit RGB paths are biased


def rgb_to_yuv420(rgb: np.ndarray, bit_depth: int = 8) -> bytes:
    """RGB (H, W, 3), uint8 or uint16, to one 4:2:0 frame's planes (Y, then U, then V) at ``bit_depth``."""
    height, width = rgb.shape[:2]
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(to_swscale16(rgb)), format="rgb48le")
    deep = bit_depth > 8
    frame = frame.reformat(format="yuv420p10le" if deep else "yuv420p", dst_colorspace=_matrix(width, height),
                           dst_color_range=1, interpolation=ACCURATE)
    planes = frame.to_ndarray()
    return planes.astype("<u2").tobytes() if deep else planes.tobytes()


class Y4MReader:
    """Reads frames from a binary stream (e.g. ``sys.stdin.buffer``)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        line = stream.readline(1024)
        if not line:
            raise InputError("no input on stdin (expected a YUV4MPEG2 stream)")
        self.header = parse_header(line)

    def frames(self) -> Iterator[np.ndarray]:
        """RGB frames (uint16 for 10-bit streams) until the end; a truncated last frame is an error."""
        size = self.header.frame_bytes
        while True:
            marker = self._stream.readline(1024)
            if not marker:
                return
            if not marker.startswith(_FRAME):
                raise InputError("corrupt YUV4MPEG2 stream (missing FRAME marker)")
            planes = self._stream.read(size)
            if len(planes) != size:
                raise InputError("YUV4MPEG2 stream ended in the middle of a frame")
            yield yuv420_to_rgb(planes, self.header.width, self.header.height, self.header.bit_depth)


class Y4MWriter:
    """Writes RGB frames (uint8 or uint16) as a YUV4MPEG2 stream at the header's bit depth."""

    def __init__(self, stream: BinaryIO, header: Y4MHeader) -> None:
        self._stream = stream
        self.header = header
        stream.write(header.encode())

    def write(self, rgb: np.ndarray) -> None:
        self._stream.write(_FRAME + b"\n")
        self._stream.write(rgb_to_yuv420(rgb, self.header.bit_depth))

    def flush(self) -> None:
        self._stream.flush()
