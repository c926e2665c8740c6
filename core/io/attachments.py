"""A file's attachment streams (Matroska fonts, cover images) read with PyAV.

ASS subtitles in anime releases usually name fonts that only exist as attachments
of the file. mpv loads the attachments of its main file only, so a player that
feeds mpv another main stream (``stsr play``) extracts them to a folder and points
``sub-fonts-dir`` at it; a converter that writes a new file copies them over.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from ..errors import InputError

#: what an attachment's file name may keep: a name from the file must never leave the folder
_UNSAFE = re.compile(r"[^\w.\- ]")


@dataclass(frozen=True)
class Attachment:
    """One attachment stream: its file name, MIME type (may be empty) and payload."""

    filename: str
    mimetype: str
    data: bytes


def read_attachments(path: str | os.PathLike[str]) -> list[Attachment]:
    """Every attachment stream of ``path`` with a payload, in stream order (an empty list for most files).

    (FFmpeg shows Matroska *image* attachments as cover-art video streams, not attachments: they are not here.)"""
    try:
        with av.open(str(path)) as container:
            attachments = []
            for stream in container.streams:
                if stream.type != "attachment":
                    continue
                data = bytes(stream.data or b"")
                if not data:
                    continue
                name = stream.name or stream.metadata.get("filename") or f"attachment-{stream.index}"
                mimetype = stream.mimetype or stream.metadata.get("mimetype") or ""
                attachments.append(Attachment(str(name), str(mimetype), data))
            return attachments
    except (av.error.FileNotFoundError, FileNotFoundError):
        raise InputError(f"{path}: no such file") from None
    except av.error.FFmpegError as error:
        raise InputError(f"{path}: cannot read attachments ({error})") from None


def safe_filename(name: str, index: int) -> str:
    """``name`` without folders or odd characters (attachment names come from the file, not from us)."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(". ")
    return base or f"attachment-{index}"


def extract_attachments(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> list[Path]:
    """Write ``path``'s attachments into ``folder`` (created if needed); returns the files written.

    Names are made safe and unique (a second ``a.ttf`` becomes ``1-a.ttf``), so two
    attachments never overwrite each other and none lands outside ``folder``.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for index, attachment in enumerate(read_attachments(path)):
        name = safe_filename(attachment.filename, index)
        if name.lower() in used:
            name = f"{index}-{name}"
        used.add(name.lower())
        destination = target / name
        destination.write_bytes(attachment.data)
        written.append(destination)
    return written
