"""``stsr pipe``: the engine as an ffmpeg filter host (YUV4MPEG2 on stdin and stdout)."""

from __future__ import annotations

import argparse
import sys

from stsr.engine import silence_library_logs
from stsr.engine.streams import pipe

from .convert import add_engine_arguments, options_from_args


def run(args: argparse.Namespace) -> int:
    silence_library_logs()
    if sys.stdin.isatty():
        print("stsr: error: stsr pipe reads YUV4MPEG2 on stdin, e.g. "
              "ffmpeg -i in.mkv -f yuv4mpegpipe - | stsr pipe | ffmpeg -i - out.mp4", file=sys.stderr)
        return 2
    options = options_from_args(args)
    try:
        written = pipe(sys.stdin.buffer, sys.stdout.buffer, fps=options.fps, times=options.times,
                       backend=options.backend, device=options.device, schedule=options.schedule,
                       scene_detect=options.scene_detect, backend_options=options.backend_options)
    except BrokenPipeError:
        return 1
    print(f"stsr pipe: wrote {written} frames", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipe", help="filter YUV4MPEG2 from stdin to stdout (for ffmpeg pipelines)",
        description="ffmpeg -i IN -f yuv4mpegpipe -pix_fmt yuv420p - | stsr pipe --fps 60000/1001 | "
                    "ffmpeg -i - OUT")
    add_engine_arguments(parser)
    parser.set_defaults(func=run)
