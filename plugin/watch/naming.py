"""Output names: ``sub/Episode 01.mkv`` -> ``sub/Episode 01.stsr60.mkv``, never overwriting anything.

Names are measured in bytes (the file system's NAME_MAX is 255 bytes, and a
Japanese title takes three per character). The budget leaves room for the
temporary name that :class:`stsr.io.video.AtomicOutput` writes first
(``.<stem>.stsr-tmp-<pid><ext>``); a stem that does not fit is cut at a character
boundary and gets a short hash of the full stem, so two long titles that share a
beginning still get different names.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from fractions import Fraction
from pathlib import Path, PurePosixPath

NAME_MAX = 255
#: "." + ".stsr-tmp-" + the longest pid (pid_max is at most 2**22, 7 digits; keep 10)
_TEMPORARY_OVERHEAD = 1 + len(".stsr-tmp-") + 10
NAME_BUDGET = NAME_MAX - _TEMPORARY_OVERHEAD

#: containers the writer fills with h264/h265/ffv1 and copied audio; anything else becomes .mkv
KEPT_EXTENSIONS = {".mkv", ".mp4", ".m4v", ".mov"}

_OUTPUT_NAME = re.compile(r"\.stsr\d+(?: \(\d+\))?\.[A-Za-z0-9]+$")
_TEMPORARY = re.compile(r"^\..*\.stsr-tmp-(?P<pid>\d+)(?:\.[^.]*)?$", re.DOTALL)


def rate_label(rate: Fraction) -> str:
    """``60000/1001`` -> ``stsr60``; ``120`` -> ``stsr120``."""
    return f"stsr{max(1, round(rate))}"


def output_extension(input_name: str) -> str:
    suffix = PurePosixPath(input_name).suffix
    return suffix if suffix.lower() in KEPT_EXTENSIONS else ".mkv"


def looks_like_output(name: str) -> bool:
    """True for names this watcher produces (so an OUTBOX inside INBOX is not fed back in)."""
    return bool(_OUTPUT_NAME.search(name))


def _byte_length(text: str) -> int:
    return len(os.fsencode(text))


def fit_stem(stem: str, budget: int) -> str:
    """``stem`` if it fits in ``budget`` bytes, else its longest prefix that fits plus ``~<hash>``."""
    if _byte_length(stem) <= budget:
        return stem
    tag = "~" + hashlib.sha1(os.fsencode(stem)).hexdigest()[:8]
    room = budget - len(tag)
    prefix: list[str] = []
    used = 0
    for character in stem:
        size = _byte_length(character)
        if used + size > room:
            break
        prefix.append(character)
        used += size
    return "".join(prefix).rstrip(" .") + tag


def output_name(input_name: str, rate: Fraction, copy: int = 1) -> str:
    """The file name (no folder) for ``input_name``; ``copy`` > 1 adds `` (2)`` etc."""
    pure = PurePosixPath(input_name)
    extension = output_extension(pure.name)
    stem = pure.name[: -len(pure.suffix)] if pure.suffix else pure.name
    tail = f".{rate_label(rate)}{f' ({copy})' if copy > 1 else ''}{extension}"
    return fit_stem(stem, NAME_BUDGET - _byte_length(tail)) + tail


def free_output_path(outbox: Path, relative_input: str, rate: Fraction) -> str:
    """The first output path (relative to OUTBOX) that does not exist yet."""
    parent = PurePosixPath(relative_input).parent
    copy = 1
    while True:
        relative = (parent / output_name(relative_input, rate, copy)).as_posix()
        if not os.path.lexists(outbox / relative):
            return relative
        copy += 1


def temporary_path(target: Path, pid: int | None = None) -> Path:
    """Where :class:`stsr.io.video.AtomicOutput` writes ``target`` before the rename."""
    return target.with_name(f".{target.stem}.stsr-tmp-{pid or os.getpid()}{target.suffix}")


def _process_holds(pid: int, path: Path) -> bool:
    """Whether ``pid`` is alive and has ``path`` open (unknown -> assume it does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fd_folder = f"/proc/{pid}/fd"
    try:
        descriptors = os.listdir(fd_folder)
    except OSError:
        return True  # alive but not ours to inspect: leave its file alone
    real = os.path.realpath(path)
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            if os.readlink(f"{fd_folder}/{descriptor}") == real:
                return True
    return False


def leftover_temporaries(outbox: Path, skip: Path | None = None) -> list[Path]:
    """Temporary outputs of killed runs under ``outbox`` (those no live process is writing)."""
    found: list[Path] = []
    stack = [outbox]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if skip is None or path.resolve() != skip:
                    stack.append(path)
                continue
            match = _TEMPORARY.match(entry.name)
            if match and entry.is_file(follow_symlinks=False) and not _process_holds(int(match["pid"]), path):
                found.append(path)
    return sorted(found)
