"""How the watcher words things in its log, its journal and ``--status``: one line each."""

from __future__ import annotations

import errno
from fractions import Fraction

from stsr.errors import StsrError


def display(text: str) -> str:
    """A path for a one-line log: control characters (even newlines in names) escaped."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


_DISK_FULL = {
    errno.ENOSPC: "no space left on device (OUTBOX's disk is full; the partial output was removed)",
    errno.EDQUOT: "disk quota exceeded (the partial output was removed)",
    errno.EFBIG: "file too large for the output file system (EFBIG; the partial output was removed)",
}


def _disk_full(error: BaseException) -> str | None:
    """The plain description of a full disk (or quota, or file size limit) anywhere in the error's chain."""
    current: BaseException | None = error
    while current is not None:
        description = _DISK_FULL.get(getattr(current, "errno", None))  # type: ignore[arg-type]
        if description is not None:
            return description
        current = current.__cause__ or current.__context__
    return None


def is_expected_failure(error: BaseException) -> bool:
    """Whether the one-line reason says it all (bad input, full disk, no memory); anything else is a bug."""
    return isinstance(error, (StsrError, MemoryError)) or _disk_full(error) is not None


def describe_failure(error: BaseException) -> str:
    """One line for the journal and the log; disk-full errors named plainly."""
    disk_full = _disk_full(error)
    if disk_full is not None:
        return disk_full
    if isinstance(error, MemoryError):
        return "out of memory"
    if isinstance(error, StsrError):
        return str(error)
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def size_text(size: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def rate_text(rate: Fraction) -> str:
    """``60`` or ``"60000/1001 (59.940)"``."""
    return str(rate.numerator) if rate.denominator == 1 else f"{rate} ({float(rate):.3f})"
