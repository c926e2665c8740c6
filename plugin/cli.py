"""The ``stsr`` command line: a thin shell over :mod:`core` and the integrations."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from typing import NoReturn

from stsr.errors import StsrError

from . import commands


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage errors as one line (``stsr: error: ...``) and exit 2, like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"stsr: error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="stsr",
        description="Stutter-free frame interpolation for anime drawn on twos and threes.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("stsr: interrupted", file=sys.stderr)
        return 130
    except StsrError as error:
        print(f"stsr: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
