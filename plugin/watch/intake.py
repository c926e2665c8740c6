"""Which files in INBOX are candidates, and when a candidate is complete enough to take.

A file is taken only when all of these hold:

* its name matches the patterns and is not a temporary name (``*.part``,
  ``*.!qB``, ``~*``, ``.*``, ...), and it lies inside INBOX (a symlink pointing
  outside is ignored; symlinked folders are never entered);
* it is not empty and its size, modification time and change time have not
  moved for the settle period (``ctime`` catches writers that reset ``mtime``);
* no process we can see holds it open for writing (Linux ``/proc``; a copy that
  stalls longer than the settle period is still caught this way);
* it opens and probes as a video. A file that does not gets one more settle
  period (its header may still be missing) and is then queued anyway, so the
  worker records it as failed with the probe's reason instead of ignoring it.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATTERNS = ("*.mkv", "*.mp4", "*.m4v", "*.mov", "*.avi", "*.webm", "*.ts", "*.m2ts", "*.mts", "*.flv",
                    "*.wmv", "*.mpg", "*.mpeg", "*.ogv")

#: name endings of downloads and copies in progress (compared in lower case)
TEMPORARY_SUFFIXES = (".part", ".partial", ".!qb", ".!ut", ".!bt", ".crdownload", ".download", ".tmp", ".temp",
                      ".opdownload", ".aria2", ".filepart", ".swp")

#: how much of each end of a file goes into its content hash
HASH_CHUNK = 1 << 20


def parse_patterns(text: str | None) -> tuple[str, ...]:
    """``"*.mkv, *.mp4"`` -> ``("*.mkv", "*.mp4")`` (matched case-insensitively)."""
    if not text:
        return DEFAULT_PATTERNS
    patterns = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    return patterns or DEFAULT_PATTERNS


def is_temporary_name(name: str) -> bool:
    """Hidden files, editor/office lock files and download-in-progress names."""
    lowered = name.lower()
    return (name.startswith((".", "~")) or lowered.endswith(TEMPORARY_SUFFIXES) or ".stsr-tmp-" in lowered)


@dataclass(frozen=True)
class Signature:
    """What must stay still for a file to count as complete."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


def signature(path: Path) -> Signature | None:
    """The file's signature, or None when it is gone or not a regular file."""
    try:
        info = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return Signature(info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def content_hash(path: Path, size: int) -> str:
    """SHA-256 of the size and the first and last MiB: cheap, and changes whenever a copy changes."""
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as file:
        digest.update(file.read(HASH_CHUNK))
        if size > HASH_CHUNK:
            file.seek(max(HASH_CHUNK, size - HASH_CHUNK))
            digest.update(file.read(HASH_CHUNK))
    return digest.hexdigest()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class Inbox:
    """INBOX's rules: patterns, recursion, symlinks, and the folders that are ours (OUTBOX)."""

    def __init__(self, root: Path, recursive: bool, patterns: Iterable[str],
                 excluded_folders: Iterable[Path] = (), is_own_output: Callable[[str], bool] | None = None) -> None:
        self.root = root.resolve()
        self.recursive = recursive
        self.patterns = tuple(pattern.lower() for pattern in patterns)
        self.excluded = tuple(folder.resolve() for folder in excluded_folders)
        self._is_own_output = is_own_output

    def relative(self, path: Path) -> str | None:
        """``path`` relative to INBOX (posix style) when it is a candidate by name and place, else None."""
        path = Path(os.path.abspath(path))
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return None
        parts = relative.parts
        if not parts or (len(parts) > 1 and not self.recursive):
            return None
        if any(is_temporary_name(part) for part in parts):  # hidden folders too
            return None
        if not any(fnmatch.fnmatchcase(parts[-1].lower(), pattern) for pattern in self.patterns):
            return None
        if any(_inside(path, folder) for folder in self.excluded):
            return None
        # Folders on the way must be real folders inside INBOX, and a symlinked file must stay inside.
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if len(parts) > 1 and self._through_symlinked_folder(relative):
            return None
        if not _inside(real, self.root) or any(_inside(real, folder) for folder in self.excluded):
            return None
        name = relative.as_posix()
        if self._is_own_output is not None and self._is_own_output(name):
            return None
        return name

    def _through_symlinked_folder(self, relative: Path) -> bool:
        current = self.root
        for part in relative.parts[:-1]:
            current = current / part
            if current.is_symlink():
                return True
        return False

    def scan(self, folder: Path | None = None) -> list[Path]:
        """Candidate files under ``folder`` (default INBOX), oldest first: the order they arrived."""
        found: list[tuple[int, str, Path]] = []
        for path in self._walk(folder or self.root):
            if self.relative(path) is None:
                continue
            with contextlib.suppress(OSError):
                found.append((path.stat().st_mtime_ns, str(path), path))
        return [path for _, _, path in sorted(found)]

    def _walk(self, folder: Path) -> Iterator[Path]:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if self.recursive and not is_temporary_name(entry.name):
                        yield from self._walk(path)
                elif entry.is_file(follow_symlinks=True):
                    yield path
            except OSError:
                continue


def files_open_for_writing(paths: Iterable[Path]) -> set[Path]:
    """Those of ``paths`` that some process we can inspect has open for writing (Linux /proc)."""
    wanted = {os.path.realpath(path): Path(path) for path in paths}
    if not wanted or not os.path.isdir("/proc/self/fd"):
        return set()
    writing: set[Path] = set()
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return set()
    for pid in pids:
        fd_folder = f"/proc/{pid}/fd"
        try:
            descriptors = os.listdir(fd_folder)
        except OSError:
            continue  # gone, or not ours to see
        for descriptor in descriptors:
            try:
                target = os.readlink(f"{fd_folder}/{descriptor}")
            except OSError:
                continue
            if target not in wanted:
                continue
            if _opened_for_writing(f"/proc/{pid}/fdinfo/{descriptor}"):
                writing.add(wanted[target])
    return writing


def _opened_for_writing(fdinfo: str) -> bool:
    try:
        with open(fdinfo) as file:
            for line in file:
                if line.startswith("flags:"):
                    flags = int(line.split()[1], 8)
                    return (flags & os.O_ACCMODE) in (os.O_WRONLY, os.O_RDWR)
    except (OSError, ValueError, IndexError):
        pass
    return False


@dataclass
class _Pending:
    signature: Signature | None
    since: float
    probe_failures: int = 0
    reported_busy: bool = False


class StabilityTracker:
    """Files seen but not yet taken, each with the time its signature last changed."""

    def __init__(self, settle: float, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock``: monotonic seconds, for the calls that are not given ``now`` (tests pass a fake one)."""
        self.settle = settle
        self.clock = clock
        self._pending: dict[Path, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, path: object) -> bool:
        return path in self._pending

    def notice(self, path: Path, now: float | None = None) -> None:
        """Start (or keep) watching ``path``; changes are found by :meth:`ready`."""
        if path not in self._pending:
            now = self.clock() if now is None else now
            self._pending[path] = _Pending(signature(path), now)

    def forget(self, path: Path) -> None:
        self._pending.pop(path, None)

    def paths(self) -> list[Path]:
        return list(self._pending)

    def defer(self, path: Path, now: float | None = None, probe_failed: bool = False) -> int:
        """Wait one more settle period; returns how many probes have failed so far."""
        entry = self._pending.get(path)
        if entry is None:
            return 0
        entry.since = self.clock() if now is None else now
        if probe_failed:
            entry.probe_failures += 1
        return entry.probe_failures

    def probe_failures(self, path: Path) -> int:
        entry = self._pending.get(path)
        return entry.probe_failures if entry else 0

    def first_busy_report(self, path: Path) -> bool:
        """True once per file, so "still open for writing" is logged once, not every poll."""
        entry = self._pending.get(path)
        if entry is None or entry.reported_busy:
            return False
        entry.reported_busy = True
        return True

    def ready(self, now: float | None = None) -> list[Path]:
        """Files whose signature has not changed for the settle period, in the order they were noticed.

        Files that vanished are dropped; a changed signature restarts the clock.
        """
        now = self.clock() if now is None else now
        ready: list[Path] = []
        for path, entry in list(self._pending.items()):
            current = signature(path)
            if current is None:
                del self._pending[path]
                continue
            if current != entry.signature:
                entry.signature = current
                entry.since = now
                entry.probe_failures = 0
                continue
            if current.size > 0 and now - entry.since >= self.settle:
                ready.append(path)
        return ready
