"""YUV4MPEG2 (Y4M) streams: the raw-video format ffmpeg and mpv speak over pipes.

A Y4M stream is one text header line, then per frame ``FRAME`` (+ optional
parameters) and the planes. With 4:2:0 every frame record has the same size, which
the player relies on to map byte offsets to frame indices.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

import av
import numpy as np

from ..errors import InputError

_MAGIC = b"YUV4MPEG2"
_FRAME = b"FRAME"
_SUPPORTED_CHROMA = {"420", "420jpeg", "420mpeg2", "420paldv"}


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
    def frame_bytes(self) -> int:
        """Bytes of one frame's planes (4:2:0)."""
        return self.width * self.height * 3 // 2

    @property
    def record_bytes(self) -> int:
        """Bytes of one frame record including the ``FRAME\\n`` marker."""
        return len(_FRAME) + 1 + self.frame_bytes


def parse_header(line: bytes) -> Y4MHeader:
    """Parse the header line; only 4:2:0 8-bit is supported (ffmpeg's default for yuv420p)."""
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
        raise InputError(f"YUV4MPEG2 colourspace C{chroma} not supported; use -pix_fmt yuv420p")
    if width % 2 or height % 2:
        raise InputError("YUV4MPEG2 4:2:0 frames must have even width and height")
    return Y4MHeader(width, height, rate, chroma)


def yuv420_to_rgb(planes: bytes | memoryview, width: int, height: int) -> np.ndarray:
    """One 4:2:0 frame's planes to RGB uint8 (H, W, 3) with FFmpeg's swscale."""
    array = np.frombuffer(planes, dtype=np.uint8).reshape(height * 3 // 2, width)
    return av.VideoFrame.from_ndarray(array, format="yuv420p").to_ndarray(format="rgb24")


def rgb_to_yuv420(rgb: np.ndarray) -> bytes:
    """RGB uint8 (H, W, 3) to one 4:2:0 frame's planes (Y, then U, then V)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p")
    return frame.to_ndarray().tobytes()


class Y4MReader:
    """Reads frames from a binary stream (e.g. ``sys.stdin.buffer``)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        line = stream.readline(1024)
        if not line:
            raise InputError("no input on stdin (expected a YUV4MPEG2 stream)")
        self.header = parse_header(line)

    def frames(self) -> Iterator[np.ndarray]:
        """RGB frames until the end of the stream; a truncated last frame is an error."""
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
            yield yuv420_to_rgb(planes, self.header.width, self.header.height)


class Y4MWriter:
    """Writes RGB frames as a YUV4MPEG2 stream."""

    def __init__(self, stream: BinaryIO, header: Y4MHeader) -> None:
        self._stream = stream
        self.header = header
        stream.write(header.encode())

    def write(self, rgb: np.ndarray) -> None:
        self._stream.write(_FRAME + b"\n")
        self._stream.write(rgb_to_yuv420(rgb))

    def flush(self) -> None:
        self._stream.flush()
