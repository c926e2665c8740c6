"""Real releases in, everything kept out: streams, metadata, fonts, chapters, 10 bits, colour, size, timing."""

from __future__ import annotations

import os
import resource
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import run_stsr
from release_fixture import FONT_BYTES, write_release

from stsr.engine import ConvertOptions, convert
from stsr.errors import InputError
from stsr.io.encode import _hardware_usable
from stsr.io.video import ColorDescription, VideoWriter, choose_settings, decode, probe

FLOW = ConvertOptions(backend="flow", device="cpu")


def _first_times(path: Path) -> dict[int, Fraction]:
    """Each stream's first packet time in seconds (the start the player lines up)."""
    firsts: dict[int, Fraction] = {}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.stream_index not in firsts:
                firsts[packet.stream_index] = Fraction(packet.pts) * packet.time_base
    return firsts


def _subtitle_events(path: Path) -> list[tuple[Fraction, Fraction, bytes]]:
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        return [(Fraction(p.pts) * p.time_base, Fraction(p.duration) * p.time_base, bytes(p))
                for p in container.demux(stream) if p.pts is not None]


def _other_streams(path: Path) -> list[tuple[object, ...]]:
    with av.open(str(path)) as container:
        return [(s.type, s.codec_context.name if s.codec_context else None, s.metadata.get("language"),
                 s.metadata.get("title"), int(s.disposition)) for s in container.streams
                if s.type in ("audio", "subtitle")]


def _attachments(path: Path) -> list[tuple[str, str, bytes]]:
    with av.open(str(path)) as container:
        return [(s.name, s.mimetype, bytes(s.data)) for s in container.streams if s.type == "attachment"]


def _chapters(path: Path) -> list[tuple[Fraction, Fraction, str]]:
    with av.open(str(path)) as container:
        return [(c["start"] * c["time_base"], c["end"] * c["time_base"], c["metadata"].get("title", ""))
                for c in container.chapters()]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_release(tmp_path_factory.mktemp("release") / "release.mkv")


def test_release_fixture_is_what_it_claims(release: Path) -> None:
    """Guards the fixture itself: a comparison against an empty or 8-bit file would prove nothing."""
    info = probe(release)
    assert (info.bit_depth, info.color) == (10, ColorDescription(1, 1, 1, 1))
    assert len(_other_streams(release)) == 3 and _attachments(release)[0][2] == FONT_BYTES
    assert len(_chapters(release)) == 2 and len(_subtitle_events(release)) == 2
    firsts = _first_times(release)
    assert firsts[0] - min(firsts[1], firsts[2]) > Fraction(5, 100)  # the video starts after the audio


def test_release_mkv_keeps_every_stream(release: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.mkv"
    convert(release, target, FLOW)
    assert _other_streams(target) == _other_streams(release)
    assert _attachments(target) == _attachments(release)
    assert _chapters(target) == _chapters(release)
    with av.open(str(release)) as before, av.open(str(target)) as after:
        assert after.metadata.get("title") == before.metadata["title"]
        old, new = before.streams.video[0], after.streams.video[0]
        assert new.metadata.get("language") == "jpn" and new.disposition == old.disposition
        assert (new.codec_context.width, new.codec_context.height) == (old.codec_context.width,
                                                                       old.codec_context.height)
    info = probe(target)
    assert info.bit_depth == 10 and info.pix_fmt == "yuv420p10le"
    assert info.color == probe(release).color
    # Timing: the video start and its offset to every other stream, to the millisecond.
    firsts_in, firsts_out = _first_times(release), _first_times(target)
    assert abs(firsts_out[0] - firsts_in[0]) <= Fraction(1, 1000)
    for index in (1, 2, 3):
        assert abs((firsts_out[index] - firsts_out[0]) - (firsts_in[index] - firsts_in[0])) <= Fraction(1, 1000)
    for (start_in, length_in, text_in), (start_out, length_out, text_out) in zip(
            _subtitle_events(release), _subtitle_events(target), strict=True):
        assert abs(start_out - start_in) <= Fraction(1, 1000) and abs(length_out - length_in) <= Fraction(1, 1000)
        assert text_out == text_in


def test_ten_bit_precision_survives(release: Path, tmp_path: Path) -> None:
    """The gradient keeps more than 256 levels: no 8-bit step between decode and encode."""
    target = tmp_path / "deep.mkv"
    convert(release, target, ConvertOptions(backend="flow", device="cpu", codec="ffv1"))
    frame = next(decode(target, deep=True))
    assert frame.rgb.dtype == np.uint16
    red_row = frame.rgb[60, :, 0]
    assert len(np.unique(red_row // 64)) > 2 * len(np.unique(red_row // 256))  # 10-bit steps between 8-bit ones


def test_mp4_with_ass_converts_subtitles_to_mov_text_and_says_so(release: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    result = run_stsr("convert", str(release), str(target), "--backend", "flow", "--quiet")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert any("subtitle stream 3" in line and "converted to mov_text" in line for line in lines)
    assert any("FixtureSans.ttf" in line and "left out" in line for line in lines)
    with av.open(str(target)) as container:
        subtitles = container.streams.subtitles[0]
        assert subtitles.codec_context.name == "mov_text"
        assert subtitles.metadata.get("language") == "eng"
        assert subtitles.disposition == av.stream.Disposition.default | av.stream.Disposition.forced
        languages = [s.metadata.get("language") for s in container.streams.audio]
        assert languages == ["jpn", "eng"]
    events = [(start, text) for start, _, text in _subtitle_events(target) if len(text) > 2]
    assert events[0][0] == Fraction(150, 1000)
    assert b"Hello" in events[0][1] and b"World" in events[1][1]
    assert _chapters(target) == _chapters(release)
    firsts_in, firsts_out = _first_times(release), _first_times(target)
    assert abs((firsts_out[1] - firsts_out[0]) - (firsts_in[1] - firsts_in[0])) <= Fraction(1, 1000)


def test_webm_with_ass_is_refused_in_one_line_before_work(release: Path, tmp_path: Path) -> None:
    result = run_stsr("convert", str(release), str(tmp_path / "out.webm"), "--backend", "flow", "--quiet")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "subtitle stream 3" in lines[0] and ".mkv" in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def _unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:
        return Path("/sys")  # read-only even for root
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


@pytest.mark.parametrize("case", ["missing_folder", "unwritable_folder", "output_is_input", "unknown_extension",
                                  "webm_h264", "bad_encoder_opt", "unknown_encoder_opt", "disk_full"])
def test_output_side_errors_are_one_line_exit_2_nothing_left(make_clip, tmp_path: Path, case: str) -> None:
    source = make_clip("in.mkv", frames=8)
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    extra: list[str] = []
    limit = None
    expected = {"missing_folder": "does not exist", "unwritable_folder": "not writable",
                "output_is_input": "overwrite the input", "unknown_extension": "unknown output type",
                "webm_h264": "cannot hold h264", "bad_encoder_opt": "KEY=VALUE",
                "unknown_encoder_opt": "libx264 has no such option", "disk_full": "disk full"}[case]
    target = outputs / "out.mkv"
    if case == "missing_folder":
        target = outputs / "nowhere" / "out.mkv"
    elif case == "unwritable_folder":
        target = _unwritable_folder(tmp_path) / "out.mkv"
    elif case == "output_is_input":
        target = source
    elif case == "unknown_extension":
        target = outputs / "out.avi"
    elif case == "webm_h264":
        target, extra = outputs / "out.webm", ["--codec", "h264"]
    elif case == "bad_encoder_opt":
        extra = ["--encoder-opt", "tune"]
    elif case == "unknown_encoder_opt":
        extra = ["--encoder-opt", "no-such-option=1"]
    elif case == "disk_full":
        limit = 2048  # bytes: the writes past it fail like a full disk (EFBIG)
    before = sorted(source.parent.iterdir())

    def file_size_limit() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = run_stsr("convert", str(source), str(target), "--backend", "flow", "--quiet", *extra,
                      preexec_fn=file_size_limit)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert list(outputs.iterdir()) == []
    assert sorted(source.parent.iterdir()) == before


def test_unusable_hardware_encoder_is_one_line(tmp_path: Path) -> None:
    if _hardware_usable("hevc_nvenc") is None:
        pytest.skip("an NVIDIA encoder works here")
    with pytest.raises(InputError, match=r"hardware encoder not usable here.*--codec h265"):
        choose_settings(tmp_path / "out.mkv", "hevc_nvenc", 10, 64, 64)


def test_odd_size_is_kept_exactly(tmp_path: Path) -> None:
    source = tmp_path / "odd.mkv"
    writer = VideoWriter(source, Fraction(24), 161, 91, "ffv1")
    for index in range(6):
        picture = np.full((91, 161, 3), 90, np.uint8)
        picture[30:50, 10 + 8 * (index // 2):30 + 8 * (index // 2)] = (230, 40, 40)
        writer.write(picture, Fraction(index, 24))
    writer.close()
    target = tmp_path / "out.mkv"
    convert(source, target, FLOW)
    info = probe(target)
    assert (info.width, info.height) == (161, 91)
    assert info.pix_fmt == "yuv444p"


@pytest.mark.parametrize(("width", "height", "deep", "color"), [
    (320, 240, False, ColorDescription()), (1280, 720, False, ColorDescription()),
    (1280, 720, True, ColorDescription()), (320, 240, False, ColorDescription(6, 6, 6, 2)),
    (320, 240, True, ColorDescription(1, 1, 1, 2))])
def test_colour_round_trip_has_no_shift(tmp_path: Path, width: int, height: int, deep: bool,
                                        color: ColorDescription) -> None:
    """Untagged SD uses BT.601, untagged HD BT.709, tagged files their own matrix and range, on the way in
    and out: a colour chart comes back unshifted."""
    chart = np.zeros((height, width, 3), np.uint16 if deep else np.uint8)
    top = 65535 if deep else 255
    colours = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0, 1), (0.75, 0.75, 0.75), (0.2, 0.4, 0.6)]
    band = width // len(colours)
    for number, colour in enumerate(colours):
        chart[:, number * band:(number + 1) * band] = np.array(colour) * top * 0.9
    path = tmp_path / "chart.mkv"
    settings = choose_settings(path, "ffv1", 10 if deep else 8, width, height)
    writer = VideoWriter(path, Fraction(24), width, height, settings, color=color)
    writer.write(chart, Fraction(0))
    writer.write(chart, Fraction(1, 24))
    writer.close()
    assert probe(path).color.range == (color.range or 0)
    back = next(decode(path, deep=deep)).rgb.astype(np.float64)
    scale = 257.0 if deep else 1.0
    interior = np.concatenate([np.arange(n * band + 4, (n + 1) * band - 4) for n in range(len(colours))])
    shift = (back[:, interior] - chart[:, interior]).mean(axis=(0, 1)) / scale
    assert np.abs(shift).max() < 0.5, shift  # in 8-bit code values; a wrong matrix shifts by several
    assert np.abs(back[:, interior] - chart[:, interior]).mean() / scale < 1.0


@pytest.mark.parametrize(("matrix", "swscale"), [("bt601", 5), ("bt709", 1), ("bt2020", 9)])
def test_tensor_to_i420_matrix_matches_the_decoder(matrix: str, swscale: int) -> None:
    """The player's float -> I420 path, read back with the same matrix by swscale, gives the colour back."""
    import torch

    from stsr.io.color import tensor_to_i420
    from stsr.io.decode import ACCURATE

    colour = torch.tensor([0.8, 0.3, 0.1]).view(3, 1, 1).expand(3, 16, 32).contiguous()
    planes = tensor_to_i420(colour, matrix=matrix).reshape(24, 32)
    frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    back = frame.reformat(format="rgb48le", src_colorspace=swscale, src_color_range=1,
                          interpolation=ACCURATE).to_ndarray().astype(np.float64) / 65535
    assert np.abs(back.mean(axis=(0, 1)) - [0.8, 0.3, 0.1]).max() < 1.5 / 255


def test_hdr10_metadata_and_tags_are_kept(tmp_path: Path) -> None:
    from release_fixture import write_hdr_clip

    from stsr.io.probe import hdr_metadata

    source = write_hdr_clip(tmp_path / "hdr.mkv")
    before = hdr_metadata(source)
    assert before is not None and before.max_cll == 1000 and before.max_luminance == 1000
    target = tmp_path / "out.mkv"
    convert(source, target, FLOW)
    assert probe(target).color == probe(source).color == ColorDescription(9, 16, 9, 1)
    assert probe(target).bit_depth == 10
    assert hdr_metadata(target) == before
