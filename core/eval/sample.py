"""Sample clips the project makes itself: the README's demo input and test videos with sound."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..io.video import AtomicOutput
from .synthetic import sample_scene


def beeps(times: Sequence[float], duration: float, sample_rate: int = 48000, length: float = 0.05,
          frequency: float = 1000.0) -> np.ndarray:
    """Mono float32 audio: silence with a short sine beep starting at each time (seconds)."""
    audio = np.zeros(round(duration * sample_rate), np.float32)
    beep = (0.5 * np.sin(2 * np.pi * frequency * np.arange(int(length * sample_rate)) / sample_rate)).astype(
        np.float32)
    for start in times:
        first = round(start * sample_rate)
        piece = beep[: max(0, len(audio) - first)]
        audio[first: first + len(piece)] = piece
    return audio


def write_clip(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    rate: Fraction,
    audio: np.ndarray | None = None,
    sample_rate: int = 48000,
    times: Sequence[Fraction] | None = None,
    codec: str = "libx264",
    metadata: dict[str, str] | None = None,
) -> None:
    """Write RGB frames (and optional mono float audio) to a video file.

    ``times`` (seconds) gives each frame its own timestamp for variable frame rate
    clips; otherwise frame ``i`` is at ``i / rate``.
    """
    time_base = Fraction(1, 1000) if times is not None else 1 / Fraction(rate)
    with av.open(str(path), mode="w") as container:
        container.metadata.update(metadata or {})
        video = container.add_stream(codec, rate=Fraction(rate))
        video.pix_fmt = "yuv420p"
        video.time_base = time_base
        video.codec_context.time_base = time_base
        if codec == "libx264":
            video.options = {"crf": "12", "preset": "veryfast"}
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=sample_rate)
            sound.layout = "mono"
        for index, rgb in enumerate(frames):
            if index == 0:
                video.width, video.height = rgb.shape[1], rgb.shape[0]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = round(times[index] / time_base) if times is not None else index
            frame.time_base = time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None and audio is not None:
            chunk = 1024
            for start in range(0, len(audio), chunk):
                piece = audio[start: start + chunk]
                frame = av.AudioFrame.from_ndarray(piece[None, :], format="flt", layout="mono")
                frame.sample_rate = sample_rate
                frame.pts = start
                frame.time_base = Fraction(1, sample_rate)
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))


def make_sample(path: str | os.PathLike[str], width: int = 480, height: int = 270, seconds: float = 4.0) -> Path:
    """The demo input: two characters on twos (out of phase) over a pan on ones, with a beep a second."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scene = sample_scene(width, height, seconds)
    duration = float(scene.frames / scene.rate)
    audio = beeps([float(s) for s in np.arange(0, duration, 1.0)], duration)
    with AtomicOutput(path, overwrite=True) as atomic:
        write_clip(atomic.temporary, scene.source_frames(), scene.rate, audio)
        atomic.commit()
    return path
