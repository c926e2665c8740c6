"""The YUV4MPEG2 byte stream mpv reads: a header, then fixed-size ``FRAME\\n`` + planes records.

Fixed-size records make byte offsets and frame indices interchangeable: mpv's exact
seek arrives as one seek to ``header + j * record``, which is output frame ``j``.
"""

from __future__ import annotations

import ctypes

from stsr.io.y4m import Y4MHeader

from .frames import FrameProducer
from .mpv_stream import RandomAccessSource

_MARKER = b"FRAME\n"


class Y4MFrameStream(RandomAccessSource):
    """Serves ``count`` frames of ``header``'s size from ``producer``, made on demand."""

    def __init__(self, header: Y4MHeader, producer: FrameProducer, count: int) -> None:
        self._header = header.encode()
        self._record = header.record_bytes
        self._planes = header.frame_bytes
        self._producer = producer
        self._count = count
        self.reads = 0

    @property
    def size(self) -> int:
        return len(self._header) + self._count * self._record

    def frame_at(self, position: int) -> int:
        """The output frame index a byte position falls in (-1 inside the header)."""
        if position < len(self._header):
            return -1
        return (position - len(self._header)) // self._record

    def read_into(self, position: int, address: int, capacity: int) -> int:
        if position >= self.size or capacity <= 0:
            return 0
        self.reads += 1
        if position < len(self._header):
            data = self._header[position:position + capacity]
            ctypes.memmove(address, data, len(data))
            return len(data)
        index, offset = divmod(position - len(self._header), self._record)
        planes = self._producer.frame(index)
        if planes is None:
            return -1  # cancelled or stopped: mpv gives up on this read
        if offset < len(_MARKER):
            data = _MARKER[offset:]
            count = min(capacity, len(data))
            ctypes.memmove(address, data, count)
            if count == capacity:
                return count
            address += count
            capacity -= count
            offset = len(_MARKER)
            written = count
        else:
            written = 0
        start = offset - len(_MARKER)
        count = min(capacity, self._planes - start)
        ctypes.memmove(address, planes.ctypes.data + start, count)
        return written + count

    def cancel(self) -> None:
        self._producer.cancel()

    def close(self) -> None:
        """Nothing to release: the player owns the producer."""
