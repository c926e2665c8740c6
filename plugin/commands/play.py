"""``stsr play``: watch a file smoothed live in mpv, with a hotkey that toggles the smoothing."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from stsr.engine import silence_library_logs, target_rate
from stsr.errors import InputError
from stsr.io.video import probe

from ..player.player import (
    DEFAULT_PLAY_SCHEDULE,
    DEFAULT_STATUS_KEY,
    DEFAULT_TOGGLE_KEY,
    PlayOptions,
    parse_mpv_options,
)
from .convert import add_engine_arguments, options_from_args


def play_options_from_args(args: argparse.Namespace) -> PlayOptions:
    engine = options_from_args(args)
    fps = engine.fps
    if engine.times is not None:
        fps = target_rate(probe(args.input).frame_rate, None, engine.times)
    if args.start < 0:
        raise InputError("--start must be 0 or more seconds")
    return PlayOptions(
        backend=engine.backend, backend_options=engine.backend_options, height=engine.height, fps=fps,
        device=engine.device, start=args.start, schedule=engine.schedule, scene_detect=engine.scene_detect,
        mpv_options=parse_mpv_options(args.mpv), toggle_key=args.toggle_key, status_key=args.status_key,
        adaptive=args.adaptive, smoothing=not args.off,
        audio_languages=args.alang, subtitle_languages=args.slang,
    )


def run(args: argparse.Namespace) -> int:
    silence_library_logs()
    from ..player.player import Player  # deferred: loads libmpv

    player = Player(args.input, play_options_from_args(args))
    stop_requested = threading.Event()

    def on_terminate(signum: int, frame: object) -> None:
        stop_requested.set()
        player.quit()

    signal.signal(signal.SIGTERM, on_terminate)
    result = player.run()
    if not args.quiet:
        rate = float(result.rate)
        width, height = result.stream_size
        print(f"stsr play: {result.frames_produced} frames made at {width}x{height}, {rate:.3f} fps; "
              f"{result.frames_late} late, {result.step_downs} step-downs", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "play", help="watch a video smoothed live in mpv (hotkey toggles smoothing)",
        description="Play INPUT in mpv with stsr smoothing made live: the source's audio and subtitles, "
                    f"seeking, and hotkeys: {DEFAULT_TOGGLE_KEY} toggles smoothing, {DEFAULT_STATUS_KEY} shows "
                    "the status. The processing height defaults to 540 on a CPU and 720-1080 on CUDA (never "
                    "above the source). When the machine cannot keep up, stsr steps down (lower size, faster "
                    "backend, source frames) and back up when it can. The schedule defaults to pairs here "
                    "(--schedule cadence costs about twice as much per frame: too slow for real time on a CPU). "
                    "ASS subtitles use the fonts attached to INPUT.",
        epilog="examples: stsr play episode.mkv | stsr play ep.mkv --backend flow --height 360 | "
               "stsr play ep.mkv --mpv vo=null --mpv ao=null --mpv o=out.mkv --mpv ovc=ffv1 (record what mpv shows)")
    parser.add_argument("input", help="video file")
    add_engine_arguments(parser)
    parser.set_defaults(schedule=DEFAULT_PLAY_SCHEDULE)
    parser.add_argument("--start", type=float, default=0.0, metavar="SECONDS", help="start position")
    parser.add_argument("--mpv", action="append", default=[], metavar="KEY=VALUE",
                        help="any mpv option, repeatable (e.g. --mpv fs=yes, --mpv vo=null --mpv ao=null)")
    parser.add_argument("--alang", metavar="LANGS",
                        help="preferred audio languages of the source, as mpv's --alang (e.g. jpn,ja)")
    parser.add_argument("--slang", metavar="LANGS",
                        help="preferred subtitle languages of the source, as mpv's --slang (e.g. eng,en)")
    parser.add_argument("--toggle-key", default=DEFAULT_TOGGLE_KEY, metavar="KEY",
                        help=f"key that toggles smoothing (default {DEFAULT_TOGGLE_KEY})")
    parser.add_argument("--status-key", default=DEFAULT_STATUS_KEY, metavar="KEY",
                        help=f"key that shows/hides the status overlay (default {DEFAULT_STATUS_KEY})")
    parser.add_argument("--no-adaptive", dest="adaptive", action="store_false",
                        help="never step the quality down or up")
    parser.add_argument("--off", action="store_true", help="start with smoothing off")
    parser.add_argument("--quiet", action="store_true", help="no summary line at the end")
    parser.set_defaults(func=run)
