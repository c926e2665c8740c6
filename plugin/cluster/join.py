"""Join: check every chunk against the plan, encode the final file once, copy the source's streams once.

The final encode is a single :class:`~stsr.io.video.VideoWriter` fed the chunks'
frames (already in the encoder's format, made by the same :class:`~stsr.io.encode.EncoderInput`
a single run uses) at the plan's exact times, with ``copy_from=source``: the
same writer, encode settings, colour description and stream copying as a
single-process ``stsr convert`` (:func:`output_settings` makes the same choices as
:func:`stsr.engine.convert` before any work), so the two files differ only if the
frames differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from stsr.engine.chunks import Chunk, ChunkPlan
from stsr.engine.convert import ConvertOptions
from stsr.io.probe import hdr_metadata
from stsr.io.video import EncodeSettings, VideoInfo, VideoWriter, check_copies, choose_settings, processing_size

from .render import CHUNK_PIXELS, ChunkError, chunk_path, load_record, read_chunk


@dataclass(frozen=True)
class OutputSettings:
    """The final file's encode, decided before any work exactly as a single-process convert decides it."""

    info: VideoInfo
    settings: EncodeSettings
    #: decode (and so plan and render) at 16 bits: a deep input or a deep output
    deep: bool
    #: one line each: streams converted or left out on the way into the target's container
    notes: tuple[str, ...]


def output_settings(source: Path, target: Path, info: VideoInfo, options: ConvertOptions) -> OutputSettings:
    notes = check_copies(source, target)
    width, height = processing_size(info.width, info.height, options.height, even=False)
    settings = choose_settings(target, options.codec, info.bit_depth, width, height, options.crf, options.preset,
                               options.pix_fmt, options.encoder_options, hdr_metadata(source))
    return OutputSettings(info, settings, info.bit_depth > 8 or settings.bit_depth > 8, tuple(notes))


def check_record(plan: ChunkPlan, plan_id: str, folder: Path, chunk: Chunk) -> bool:
    """True when a finished chunk of this plan is in ``folder`` (its record and file both present)."""
    record = load_record(folder, chunk.number)
    return (record is not None and record.get("plan") == plan_id and record.get("first") == chunk.first
            and record.get("stop") == chunk.stop and record.get("frames") == chunk.count
            and chunk_path(folder, chunk.number).is_file())


def join_chunks(plan: ChunkPlan, plan_id: str, folder: Path, temporary: Path, target: Path, output: OutputSettings,
                source: Path, on_frame: Callable[[int], None] | None = None) -> int:
    """Encode all chunks in order into ``temporary`` (becoming ``target``); raises :class:`ChunkError` naming
    the first bad chunk."""
    writer = VideoWriter(temporary, plan.rate, plan.scan.frame_width, plan.scan.frame_height, output.settings,
                         copy_from=source, color=output.info.color, target=target)
    written = 0
    half_frame = 1 / (2 * plan.rate)
    try:
        for chunk in plan.chunks:
            record = load_record(folder, chunk.number)
            if record is None or record.get("plan") != plan_id:
                raise ChunkError(f"chunk {chunk.number}: no finished record for this plan", chunk.number)
            digest = hashlib.sha256()
            count = 0
            pixels = str(record.get("pixels", CHUNK_PIXELS))
            for stamp, stored in read_chunk(chunk_path(folder, chunk.number), pixels):
                index = chunk.first + count
                if index >= chunk.stop:
                    raise ChunkError(f"chunk {chunk.number}: more than its {chunk.count} frames", chunk.number)
                if abs(stamp - Fraction(index) / plan.rate) > half_frame:
                    raise ChunkError(f"chunk {chunk.number}: frame at {float(stamp):.4f} s where output {index} "
                                     f"({float(Fraction(index) / plan.rate):.4f} s) was due", chunk.number)
                # the encoder's own frame as a single run builds it (EncoderInput), or the float RGB it starts from
                frame = writer.input.from_planes(stored) if pixels != CHUNK_PIXELS else None
                width, height = (frame.width, frame.height) if frame is not None else (stored.shape[1],
                                                                                        stored.shape[0])
                if (width, height) != (plan.scan.frame_width, plan.scan.frame_height):
                    raise ChunkError(f"chunk {chunk.number}: frame size {width}x{height}", chunk.number)
                digest.update(stored.tobytes())
                if frame is not None:
                    writer.write_frame(frame, plan.time_of(index))
                else:
                    writer.write(stored, plan.time_of(index))
                count += 1
                written += 1
                if on_frame is not None:
                    on_frame(written)
            if count != chunk.count:
                raise ChunkError(f"chunk {chunk.number}: {count} frames, the plan has {chunk.count}", chunk.number)
            if digest.hexdigest() != record.get("sha256"):
                raise ChunkError(f"chunk {chunk.number}: checksum differs from its record", chunk.number)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return written
