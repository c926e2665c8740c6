"""``stsr install-mpv-script``: put the hand-over script into the user's mpv.

In everyday mpv the script's key (default ``b``, the same key that toggles smoothing
inside ``stsr play``) opens the current file at the current position in ``stsr play``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from stsr.errors import InputError

SCRIPT = Path(__file__).resolve().parents[1] / "mpv" / "stsr-handoff.lua"


def mpv_config_dir() -> Path:
    """mpv's own rule: $MPV_HOME, else $XDG_CONFIG_HOME/mpv, else ~/.config/mpv."""
    if os.environ.get("MPV_HOME"):
        return Path(os.environ["MPV_HOME"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mpv"


def stsr_command() -> str:
    """The absolute path of this stsr (a virtualenv's stsr is usually not on mpv's PATH)."""
    candidate = Path(sys.argv[0])
    if candidate.name == "stsr" and candidate.exists():
        return str(candidate.resolve())
    return shutil.which("stsr") or str(Path(sys.executable).with_name("stsr"))


def install(config_dir: Path, key: str, stsr: str, extra: str = "") -> tuple[Path, Path]:
    if not SCRIPT.is_file():
        raise InputError(f"{SCRIPT}: the mpv script is missing from this installation")
    if any(c.isspace() for c in key) or not key:
        raise InputError(f"--key {key!r}: expected one mpv key name, e.g. b or Ctrl+b")
    scripts = config_dir / "scripts"
    script_opts = config_dir / "script-opts"
    try:
        scripts.mkdir(parents=True, exist_ok=True)
        script_opts.mkdir(parents=True, exist_ok=True)
        target = scripts / SCRIPT.name
        shutil.copyfile(SCRIPT, target)
        conf = script_opts / "stsr-handoff.conf"
        conf.write_text(f"# written by stsr install-mpv-script\nstsr={stsr}\nkey={key}\nextra={extra}\n")
    except OSError as error:
        raise InputError(f"cannot install into {config_dir}: {error.strerror or error}") from None
    return target, conf


def run(args: argparse.Namespace) -> int:
    config_dir = Path(args.config_dir) if args.config_dir else mpv_config_dir()
    target, conf = install(config_dir, args.key, args.stsr or stsr_command(), args.extra)
    print(f"installed {target} and {conf}; in mpv, press {args.key} to continue in stsr play")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "install-mpv-script", help="add a hand-over key to your everyday mpv",
        description="Copy stsr-handoff.lua into mpv's scripts folder: in mpv, the key hands the current file "
                    "and position over to `stsr play`.")
    parser.add_argument("--config-dir", default=None, metavar="DIR",
                        help="mpv config folder (default: $MPV_HOME, else ~/.config/mpv)")
    parser.add_argument("--key", default="b", help="hand-over key in mpv (default b)")
    parser.add_argument("--stsr", default=None, metavar="PATH", help="stsr command to run (default: this one)")
    parser.add_argument("--extra", default="", metavar="ARGS",
                        help='more arguments for stsr play, e.g. --extra="--height 360"')
    parser.set_defaults(func=run)
