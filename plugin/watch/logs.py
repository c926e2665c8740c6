"""The watcher's log: stderr plus OUTBOX/stsr-watch.log (rotated), the engine's warnings included.

Lines are ``time message``; warnings and errors say their level (``time ERROR
message``) and carry their traceback, so a bug in a conversion is findable in
the log file after the fact.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from pathlib import Path

LOG_NAME = "stsr-watch.log"
#: the package's logger: the engine's modules log under it, and so does the watcher (``stsr.watch``)
PACKAGE_LOGGER = "stsr"
_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

log = logging.getLogger("stsr.watch")


class WatchLogFormatter(logging.Formatter):
    """``time message`` for the everyday lines, ``time LEVEL message`` from warnings up."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(message)s", _DATE_FORMAT)
        self._with_level = logging.Formatter("%(asctime)s %(levelname)s %(message)s", _DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.WARNING:
            return self._with_level.format(record)
        return super().format(record)


class WatchLog:
    """Attaches the watcher's handlers to the package logger for one run, and removes them after."""

    def __init__(self, outbox: Path) -> None:
        self.path = outbox / LOG_NAME
        self._handlers: list[logging.Handler] = []

    def open(self) -> None:
        log.setLevel(logging.INFO)
        formatter = WatchLogFormatter()
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(formatter)
        handlers: list[logging.Handler] = [console]
        try:
            file_handler = logging.handlers.RotatingFileHandler(self.path, maxBytes=5 << 20, backupCount=3,
                                                                encoding="utf-8")
            file_handler.setFormatter(formatter)
            handlers.append(file_handler)
        except OSError as error:
            print(f"stsr: warning: cannot write {self.path}: {error.strerror}", file=sys.stderr)
        # On the package logger: the watcher's lines and the engine's own warnings (e.g. a subtitle
        # stream that cannot be copied) reach the same handlers, each once.
        package = logging.getLogger(PACKAGE_LOGGER)
        for handler in handlers:
            package.addHandler(handler)
        self._handlers = handlers

    def close(self) -> None:
        package = logging.getLogger(PACKAGE_LOGGER)
        for handler in self._handlers:
            package.removeHandler(handler)
            with contextlib.suppress(Exception):
                handler.flush()
                handler.close()
        self._handlers = []
