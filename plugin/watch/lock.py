"""One watcher per OUTBOX: an exclusive ``flock`` that the kernel drops when the process dies."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import WatchError

LOCK_NAME = ".stsr-watch.lock"


class OutboxLock:
    """An exclusive ``flock`` on OUTBOX/.stsr-watch.lock, held for the life of the watcher.

    The kernel drops it when the process dies (even by ``kill -9``), so a stale
    lock never blocks a restart.
    """

    def __init__(self, outbox: Path) -> None:
        self.path = outbox / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise WatchError(f"{self.path.parent}: cannot create the lock file ({error.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise WatchError(f"{self.path.parent} is already being watched by another stsr watch (pid {holder}); "
                             "stop that one first") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def watcher_running(outbox: Path) -> bool:
    """Whether a watcher holds OUTBOX's lock (a shared lock probe, released at once)."""
    path = outbox / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
