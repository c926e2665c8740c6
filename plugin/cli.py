"""The ``stsr`` command line: a thin shell over :mod:`stsr` and the integrations.

Only the module of the command that runs is imported (``stsr weights path`` loads
neither torch nor OpenCV nor watchdog); the others appear in ``stsr --help`` from
the table below. Errors are one line; ``--debug`` (anywhere on the line) shows the
traceback behind it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from stsr import __version__
from stsr.errors import Cancelled, StsrError

#: command -> (module in stsr.plugin.commands, one-line help for ``stsr --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("convert", "convert a video to a smooth higher frame rate"),
    "pipe": ("pipe", "Y4M in on stdin, resampled Y4M out on stdout (as an ffmpeg filter)"),
    "play": ("play", "play a video smoothed live in mpv, with a toggle key"),
    "watch": ("watch", "convert every video dropped into a folder, crash-safe"),
    "analyze": ("analyze", "motion, held share and stutter of a video (optionally against its conversion)"),
    "demo": ("demo", "make a sample clip on twos and convert it to 59.94 fps"),
    "interpolate": ("interpolate", "make one in-between image from two images"),
    "weights": ("weights", "fetch, verify or locate the GMFSS_union weights"),
    "install-mpv-script": ("install_mpv_script", "add a key to your everyday mpv that continues in stsr play"),
}


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage errors as one line (``stsr: error: ...``) and exit 2, like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"stsr: error: {message} (see: {self.prog} --help)\n")


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The first word that names a command (options before it are the top level's)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the full options of ``command`` only (``None``: every command, for docs)."""
    parser = OneLineErrorParser(
        prog="stsr",
        description="Stutter-free frame interpolation for anime drawn on twos and threes.",
    )
    parser.add_argument("--version", action="version", version=f"stsr {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback behind an error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser)
    subparsers.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        if command is None or name == command:
            module = importlib.import_module(f"stsr.plugin.commands.{module_name}")
            module.register(subparsers)
        else:
            subparsers.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    arguments = [word for word in arguments if word != "--debug"]
    command = _chosen_command(arguments)
    parser = build_parser(command) if command is not None else build_parser("")
    args = parser.parse_args(arguments)
    try:
        return int(args.func(args) or 0)
    except (KeyboardInterrupt, Cancelled):
        if debug:
            traceback.print_exc()
        print("stsr: interrupted", file=sys.stderr)
        return 130
    except StsrError as error:
        if debug:
            traceback.print_exc()
        print(f"stsr: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a bug, not the user's input: one line, the traceback on request
        if debug:
            traceback.print_exc()
        print(f"stsr: internal error: {type(error).__name__}: {error} (run again with --debug for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
