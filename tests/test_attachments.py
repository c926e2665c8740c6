"""Attachment streams (fonts) read back from a real Matroska file made with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from stsr.errors import InputError
from stsr.io.attachments import extract_attachments, read_attachments

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


def write_mkv_with_attachments(path: Path, attachments: list[tuple[str, str, bytes]]) -> Path:
    """Three tiny ffv1 frames plus ``attachments`` (name, mimetype, data)."""
    with av.open(str(path), "w") as container:
        for name, mimetype, data in attachments:
            container.add_attachment(name, mimetype, data)
        video = container.add_stream("ffv1", rate=24)
        video.width, video.height, video.pix_fmt = 64, 32, "yuv420p"
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 64, 3), np.uint8), format="rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
    return path


def font_bytes() -> bytes:
    return FONT.read_bytes() if FONT.is_file() else b"\x00\x01\x00\x00" + bytes(range(256)) * 8


def test_attachments_come_back_with_name_mimetype_and_bytes(tmp_path: Path) -> None:
    font = font_bytes()
    path = write_mkv_with_attachments(tmp_path / "fonts.mkv", [("Sub Font.ttf", "font/ttf", font),
                                                               ("Other Font.otf", "font/otf", b"OTTO-not-really")])
    attachments = read_attachments(path)
    assert [(a.filename, a.mimetype) for a in attachments] == [("Sub Font.ttf", "font/ttf"),
                                                                ("Other Font.otf", "font/otf")]
    assert attachments[0].data == font


def test_extract_writes_each_attachment_once_and_never_outside_the_folder(tmp_path: Path) -> None:
    path = write_mkv_with_attachments(tmp_path / "tricky.mkv", [("../escape/A.ttf", "font/ttf", b"first"),
                                                                ("A.ttf", "font/ttf", b"second")])
    folder = tmp_path / "fonts"
    written = extract_attachments(path, folder)
    assert [file.name for file in written] == ["A.ttf", "1-A.ttf"]
    assert sorted(file.name for file in folder.iterdir()) == ["1-A.ttf", "A.ttf"]
    assert (folder / "A.ttf").read_bytes() == b"first" and (folder / "1-A.ttf").read_bytes() == b"second"
    assert not (tmp_path / "escape").exists()


def test_a_file_without_attachments_gives_none(tmp_path: Path) -> None:
    path = write_mkv_with_attachments(tmp_path / "plain.mkv", [])
    assert read_attachments(path) == []
    assert extract_attachments(path, tmp_path / "fonts") == []


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_attachments(tmp_path / "missing.mkv")
