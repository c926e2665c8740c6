"""The command line: lazy command imports, one-line errors with --debug tracebacks, refused options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import run_stsr

HEAVY_MODULES = ("torch", "cv2", "watchdog", "av", "mpv")


def test_weights_path_loads_no_heavy_library() -> None:
    """Only the command that runs is imported: `stsr weights path` needs none of torch, cv2, watchdog."""
    probe = (
        "import sys\n"
        "from stsr.plugin.cli import main\n"
        "code = main(['weights', 'path'])\n"
        f"print(sorted(name for name in {HEAVY_MODULES!r} if name in sys.modules))\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert Path(lines[0]).name == "weights"
    assert lines[-1] == "[]"


def test_help_lists_every_command_without_loading_them() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from stsr.plugin.cli import main, COMMANDS\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert all(name in out.getvalue() for name in COMMANDS), out.getvalue()\n"
        f"print(sorted(name for name in {HEAVY_MODULES!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_error_is_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.mkv")
    plain = run_stsr("convert", missing, str(tmp_path / "out.mkv"))
    assert plain.returncode == 2
    assert plain.stderr.strip().count("\n") == 0 and plain.stderr.startswith("stsr: error:")
    debug = run_stsr("convert", missing, str(tmp_path / "out.mkv"), "--debug")
    assert debug.returncode == 2
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip()


def test_an_option_the_backend_does_not_take_is_refused(make_clip, tmp_path: Path) -> None:
    source = make_clip()
    result = run_stsr("convert", str(source), str(tmp_path / "out.mp4"), "--backend", "flow", "--model", "wgan")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "stsr: error: --model does not apply to --backend flow; it is an option of gmfss_union "
        "(--model, --weights, --scale) and rife (--weights, --scale)")
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


def test_mode_takes_only_resample_or_naive(make_clip, tmp_path: Path) -> None:
    result = run_stsr("convert", str(make_clip()), str(tmp_path / "out.mp4"), "--mode", "cadence")
    assert result.returncode == 2
    assert "invalid choice: 'cadence'" in result.stderr and result.stderr.count("\n") == 1
