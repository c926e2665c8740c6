"""``stsr pipe``: YUV4MPEG2 in on stdin, YUV4MPEG2 out on stdout, as an ffmpeg filter host."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
from conftest import run_stsr, small_scene

from stsr.io.y4m import Y4MHeader, Y4MReader, Y4MWriter, rgb_to_yuv420, yuv420_to_rgb


def y4m_bytes(frames: list[np.ndarray], rate: Fraction) -> bytes:
    buffer = io.BytesIO()
    writer = Y4MWriter(buffer, Y4MHeader(frames[0].shape[1], frames[0].shape[0], rate))
    for frame in frames:
        writer.write(frame)
    return buffer.getvalue()


def test_yuv_round_trip_is_close() -> None:
    frame = small_scene().source_frame(3)
    back = yuv420_to_rgb(rgb_to_yuv420(frame), frame.shape[1], frame.shape[0])
    assert np.abs(back.astype(int) - frame.astype(int)).mean() < 3


def test_pipe_resamples_y4m_to_the_target_rate() -> None:
    scene = small_scene(frames=24)
    data = y4m_bytes(list(scene.source_frames()), scene.rate)
    result = run_stsr("pipe", "--backend", "flow", "--fps", "60000/1001", input=data.decode("latin-1"),
                      encoding="latin-1")
    assert result.returncode == 0, result.stderr
    reader = Y4MReader(io.BytesIO(result.stdout.encode("latin-1")))
    assert reader.header.rate == Fraction(60000, 1001)
    assert (reader.header.width, reader.header.height) == (160, 90)
    frames = list(reader.frames())
    assert len(frames) == 60
    # The first output frame is the first drawing (twos: held pair -> the drawing itself).
    assert np.abs(frames[0].astype(int) - scene.source_frame(0).astype(int)).mean() < 4


def test_pipe_rejects_non_y4m_input() -> None:
    result = run_stsr("pipe", "--backend", "flow", input="hello\n")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["stsr: error: input is not a YUV4MPEG2 stream (expected "
                                                  "'YUV4MPEG2' header)"]
