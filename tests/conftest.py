"""Shared test helpers: real small videos made with PyAV from the synthetic anime scenes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from stsr.eval.sample import write_clip
from stsr.eval.synthetic import Background, Character, Scene

REPO = Path(__file__).resolve().parents[1]


def _register_benchmarks_package() -> None:
    """Make ``benchmarks`` importable without putting the repository root on ``sys.path``.

    With the root on the path, ``import core`` would load a second copy of every stsr
    class next to the installed ``stsr``; this registers only the benchmarks folder.
    """
    if "benchmarks" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location("benchmarks", REPO / "benchmarks" / "__init__.py",
                                                  submodule_search_locations=[str(REPO / "benchmarks")])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks"] = module
    spec.loader.exec_module(module)


_register_benchmarks_package()


def small_scene(frames: int = 24, width: int = 160, height: int = 90, holds: tuple[int, ...] = (2,),
                rate: Fraction = Fraction(24000, 1001), cut_at: int | None = None) -> Scene:
    """A tiny anime-like scene: one character moving right on ``holds`` over a still background."""
    scale = height / 180
    return Scene(width=width, height=height, frames=frames, rate=rate, cut_at=cut_at,
                 background=Background(),
                 characters=[Character(start=(30 * scale, 90 * scale), velocity=(3.0 * scale, 0.0), holds=holds)])


@pytest.fixture
def make_clip(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_clip(name, frames=24, rate=..., audio=None, times=None, **scene)`` -> path."""

    def factory(name: str = "clip.mp4", frames: int = 24, rate: Fraction = Fraction(24000, 1001),
                audio: np.ndarray | None = None, times: Sequence[Fraction] | None = None,
                **scene_options: object) -> Path:
        scene = small_scene(frames=frames, rate=rate, **scene_options)  # type: ignore[arg-type]
        path = tmp_path / name
        write_clip(path, scene.source_frames(), rate, audio=audio, times=times)
        return path

    return factory


def run_stsr(*args: str, timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run the real ``stsr`` command line in a subprocess (argument list, no shell)."""
    return subprocess.run([sys.executable, "-m", "stsr.plugin.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, check=False, **kwargs)  # type: ignore[call-overload]
