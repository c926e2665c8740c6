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


def test_ten_bit_yuv_round_trip_keeps_ten_bit_steps() -> None:
    ramp = np.linspace(0, 65535, 256)
    frame = np.stack([np.tile(ramp, (16, 1))] * 3, axis=-1).round().astype(np.uint16)
    back = yuv420_to_rgb(rgb_to_yuv420(frame, 10), 256, 16, 10)
    assert back.dtype == np.uint16
    assert np.abs(back.astype(float) - frame).mean() / 257 < 0.5  # in 8-bit code values
    assert len(np.unique(back[8, :, 1] // 64)) > 200  # 10-bit steps, not 8-bit ones repeated


def test_pipe_ten_bit_in_ten_bit_out() -> None:
    scene = small_scene(frames=8)
    frames = [frame.astype(np.uint16) * 257 for frame in scene.source_frames()]
    for frame in frames:
        frame[:, :, 2] = np.linspace(0, 65535, frame.shape[1]).round().astype(np.uint16)[None, :]
    buffer = io.BytesIO()
    writer = Y4MWriter(buffer, Y4MHeader(160, 90, scene.rate, "420p10"))
    for frame in frames:
        writer.write(frame)
    assert buffer.getvalue().startswith(b"YUV4MPEG2 W160 H90") and b" C420p10" in buffer.getvalue()[:80]
    result = run_stsr("pipe", "--backend", "flow", "--fps", "60000/1001", input=buffer.getvalue().decode("latin-1"),
                      encoding="latin-1")
    assert result.returncode == 0, result.stderr
    reader = Y4MReader(io.BytesIO(result.stdout.encode("latin-1")))
    assert reader.header.colorspace == "420p10" and reader.header.bit_depth == 10
    output = list(reader.frames())
    assert len(output) == 20 and output[0].dtype == np.uint16
    assert len(np.unique(output[0][45, :, 2] // 64)) > len(np.unique(output[0][45, :, 2] // 256))
