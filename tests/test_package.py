"""`import stsr`: one import package, its public API, and the README's Python example."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

import stsr
from stsr.errors import InputError

REPO = Path(__file__).resolve().parents[1]
RATE = Fraction(24000, 1001)


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(r"<!-- readme-example:[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert match, "README has no marked Python example"
    return match.group(1)


def source_modules() -> set[str]:
    """Every module of the source tree under the name it installs as."""
    names = set()
    for folder, package in (("core", "stsr"), ("plugin", "stsr.plugin")):
        for path in (REPO / folder).rglob("*.py"):
            parts = list(path.relative_to(REPO / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.add(".".join([package, *parts]))
    return names


def twos(count: int = 24, dtype: type = np.uint8) -> list[np.ndarray]:
    top = np.iinfo(dtype).max
    frames = []
    for n in range(count):
        frame = np.zeros((72, 128, 3), dtype)
        x = 8 + 6 * (n // 2)
        frame[24:48, x:x + 24] = top
        frames.append(frame)
    return frames


def test_readme_example_runs() -> None:
    result = subprocess.run([sys.executable, "-c", readme_example()], capture_output=True, text=True, timeout=300,
                            cwd=REPO / "tests", check=False)
    assert result.returncode == 0, result.stderr
    assert "60 frames at 59.94 fps" in result.stdout


def test_no_module_imports_the_folders_by_name() -> None:
    """`core` and `plugin` are installed as `stsr` and `stsr.plugin`; an absolute `import core` would load a copy."""
    offenders = []
    for path in REPO.rglob("*.py"):
        if ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(REPO)}:{node.lineno}" for name in names
                          if name.split(".")[0] in ("core", "plugin")]
    assert offenders == []


def test_public_api_is_documented() -> None:
    assert set(stsr.__all__) >= {"resample", "convert", "analyze", "create_backend", "available_backends"}
    for name in ("resample", "convert", "analyze"):
        doc = getattr(stsr, name).__doc__
        assert "Args:" in doc and "Raises:" in doc, name
    assert "Default" in stsr.resample.__doc__


def test_resample_keeps_the_kind_and_dtype_of_the_frames() -> None:
    for dtype in (np.uint8, np.uint16):
        out = list(stsr.resample(twos(dtype=dtype), RATE, backend="flow", device="cpu"))
        assert len(out) == 60
        assert [time for time, _ in out] == [Fraction(j, 1) / Fraction(60000, 1001) for j in range(60)]
        assert all(frame.dtype == dtype and frame.shape == (72, 128, 3) for _, frame in out)
    tensors = [torch.from_numpy(f).permute(2, 0, 1).float() / 255 for f in twos()]
    out = list(stsr.resample(tensors, RATE, backend="flow", device="cpu"))
    assert len(out) == 60 and out[0][1].shape == (3, 72, 128) and out[0][1].dtype == torch.float32


def test_resample_uint16_uses_the_extra_precision() -> None:
    """A 10-bit-style gradient survives: outputs are not quantised to 256 levels."""
    ramp = (np.linspace(0, 65535, 128)[None, :, None] * np.ones((72, 1, 3))).astype(np.uint16)
    out = list(stsr.resample([ramp] * 6, RATE, backend="flow", device="cpu", scene_detect=False))
    levels = np.unique(out[3][1][..., 0])
    assert len(levels) > 100
    assert np.abs(out[3][1].astype(int) - ramp.astype(int)).max() <= 64


def test_resample_takes_timed_frames_for_variable_frame_rate() -> None:
    frames = twos(12)
    times = [Fraction(n, 24) if n < 6 else Fraction(6, 24) + Fraction(n - 6, 12) for n in range(12)]
    out = list(stsr.resample(list(zip(times, frames, strict=True)), Fraction(12), rate_out=30, backend="flow",
                             device="cpu"))
    end = times[-1] + Fraction(1, 12)
    assert len(out) == int(end * 30) + (end * 30 != int(end * 30))
    assert out[-1][0] == Fraction(len(out) - 1, 30)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: stsr.resample([], 0), "rate_in must be above 0"),
    (lambda: stsr.resample([], RATE, schedule="smooth"), "unknown schedule 'smooth'"),
    (lambda: list(stsr.resample(twos(1), RATE, backend="flow")), "only one frame"),
    (lambda: list(stsr.resample([np.zeros((4, 4), np.uint8)] * 2, RATE, backend="flow")), "must be (H, W, 3)"),
    (lambda: list(stsr.resample([np.zeros((4, 4, 3), np.float64)] * 2, RATE, backend="flow")),
     "uint8 or uint16"),
    (lambda: list(stsr.resample([(1, twos(2)[0]), (1, twos(2)[1])], RATE, backend="flow")), "must increase"),
    (lambda: stsr.convert("a.mkv", "b.mkv", colour="red"), "unknown option colour"),
])
def test_bad_input_is_refused_in_one_line(call, message: str) -> None:
    with pytest.raises(InputError) as raised:
        call()
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_convert_and_analyze(make_clip, tmp_path: Path) -> None:
    source = make_clip(frames=24)
    result = stsr.convert(source, tmp_path / "out.mp4", backend="flow", device="cpu", schedule="pairs")
    assert result.frames == 60 and result.output.exists()
    analysis = stsr.analyze(source, against=result.output)
    assert analysis.against is not None
    assert analysis.video.held_fraction > 0.3 > analysis.against.held_fraction


@pytest.mark.slow
def test_the_wheel_holds_every_module(tmp_path: Path) -> None:
    """Build the wheel, install it alone into a fresh venv, import every module; `import core` fails there."""
    # Built from a copy: setuptools leaves build/ and *.egg-info beside the sources it builds.
    source = tmp_path / "source"
    for name in ("core", "plugin"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(source)], check=True, timeout=300, capture_output=True)
    (wheel,) = dist.glob("stsr-*.whl")
    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", target, str(wheel)],
                   check=True, timeout=300, capture_output=True)
    # The dependencies (torch, av, ...) come from this environment's site-packages on PYTHONPATH, which
    # does not run its .pth files: the editable install of stsr there stays invisible.
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    modules = sorted(source_modules())
    check = (
        "import importlib, sys, stsr\n"
        f"assert stsr.__file__.startswith({target!r}), stsr.__file__\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(stsr.__all__)\n"
        "try:\n"
        "    import core\n"
        "except ImportError:\n"
        "    print('no core')\n"
    )
    result = subprocess.run([str(python), "-c", check], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                            env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "'resample'" in result.stdout and "no core" in result.stdout
    example = subprocess.run([str(python), "-c", readme_example()], capture_output=True, text=True, timeout=300,
                             cwd=tmp_path, env=env, check=False)
    assert example.returncode == 0, example.stderr
    entry = subprocess.run([str(python), "-m", "stsr.plugin.cli", "weights", "path"], capture_output=True, text=True,
                           timeout=120, cwd=tmp_path, env=env, check=False)
    assert entry.returncode == 0, entry.stderr
