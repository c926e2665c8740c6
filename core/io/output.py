"""Output paths: checked before any work, written under a temporary name, renamed when complete."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from ..errors import InputError, StsrError

#: output extension -> FFmpeg muxer
CONTAINERS = {".mkv": "matroska", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".webm": "webm"}


class OutputError(StsrError):
    """The output cannot be written: folder missing or read-only, disk full, unknown extension."""


def container_for(target: Path) -> str:
    """The muxer for ``target``'s extension; an unknown one is a one-line error naming the known ones."""
    suffix = target.suffix.lower()
    if suffix not in CONTAINERS:
        known = ", ".join(sorted({".mkv", ".mp4", ".mov", ".webm"}))
        shown = suffix or "no extension"
        raise OutputError(f"{target}: unknown output type ({shown}); use one of {known} (.mkv keeps every stream)")
    return CONTAINERS[suffix]


def write_failure(target: Path, error: BaseException) -> OutputError:
    """An OS or FFmpeg write error as one line that says what to do."""
    number = getattr(error, "errno", None)
    if number in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return OutputError(f"{target}: disk full (or file size limit reached) while writing; free space and retry")
    if number in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{target.parent}: output folder is not writable")
    reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return OutputError(f"{target}: cannot write ({str(reason).splitlines()[0]})")


class AtomicOutput:
    """A temporary path beside ``target`` that becomes ``target`` only on :meth:`commit`.

    Used as a context manager: leaving it without a commit (exception, Ctrl-C)
    deletes the temporary file, so a half-written file never appears under the
    target name. The constructor tries the temporary name once (and removes it), so an
    output folder that is missing or read-only fails before any work.
    """

    def __init__(self, target: str | os.PathLike[str], overwrite: bool = False) -> None:
        self.target = Path(target)
        if self.target.is_dir():
            raise OutputError(f"{self.target}: is a folder; give an output file name")
        if self.target.exists() and not overwrite:
            raise InputError(f"{self.target}: already exists (use --overwrite to replace it)")
        if not self.target.parent.is_dir():
            what = "is not a folder" if self.target.parent.exists() else "does not exist"
            raise OutputError(f"{self.target.parent}: output folder {what}")
        self.temporary = self.target.with_name(f".{self.target.stem}.stsr-tmp-{os.getpid()}{self.target.suffix}")
        try:  # a folder that cannot be written fails here, before any work; nothing is left behind
            with open(self.temporary, "xb"):
                pass
            self.temporary.unlink()
        except FileExistsError:
            pass  # a leftover of this process id: the writer replaces it
        except OSError as error:
            raise write_failure(self.target, error) from None

    def __enter__(self) -> AtomicOutput:
        return self

    def commit(self) -> None:
        try:
            os.replace(self.temporary, self.target)
        except OSError as error:
            raise write_failure(self.target, error) from None

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.temporary.unlink()

    def __exit__(self, *exc_info: object) -> None:
        self.discard()
