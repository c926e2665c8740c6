"""``stsr convert``: the offline converter."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from fractions import Fraction

from stsr.engine import ConvertOptions, Progress, convert, parse_rate, silence_library_logs
from stsr.errors import InputError
from stsr.io.video import CODEC_NAMES, parse_encoder_options
from stsr.schedules import DEFAULT_SCHEDULE, SCHEDULES
from stsr.weights import MODELS

from ..cluster.cli import add_cluster_arguments, run_on_cluster, wants_cluster
from ..progress import ProgressBar


def rate_argument(text: str) -> Fraction:
    """argparse type for --fps: the engine's own one-line message on bad input."""
    try:
        return parse_rate(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that runs the engine (convert, pipe, watch, play)."""
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--fps", type=rate_argument, default=None, metavar="RATE",
                      help="output frame rate, e.g. 60000/1001 (default), 59.94, 120, 144")
    rate.add_argument("--times", type=int, default=None, metavar="N",
                      help="output rate = input rate / 2 * N (the published method's setting)")
    parser.add_argument("--backend", default="auto", metavar="NAME",
                        help="interpolator: auto (gmfss_union if its weights are present, else flow), "
                             "flow, rife, gmfss_union")
    parser.add_argument("--height", type=int, default=None, metavar="H",
                        help="processing (and output) height; default: the input's")
    parser.add_argument("--mode", choices=("resample", "naive"), default="resample",
                        help="resample: stsr resampling with --schedule (default); naive: plain interpolation "
                             "between frames, for comparison")
    parser.add_argument("--schedule", choices=sorted(name for name in SCHEDULES if name != "naive"),
                        default=DEFAULT_SCHEDULE,
                        help=f"resampling schedule (default {DEFAULT_SCHEDULE}): cadence puts every layer back on its "
                             "own drawing times (twos, threes, fours, 2-3, mixed rhythms); pairs is the published "
                             "pair-midpoint method at uniform times")
    parser.add_argument("--no-scene-detect", dest="scene_detect", action="store_false",
                        help="do not look for scene cuts")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    parser.add_argument("--model", choices=MODELS, default=None,
                        help=f"gmfss_union weights variant (default {MODELS[0]})")
    parser.add_argument("--weights", default=None, metavar="DIR",
                        help="folder with flownet.pkl, rife.pkl, metric.pkl, fusionnet.pkl")
    parser.add_argument("--scale", type=float, default=None,
                        help="gmfss_union flow scale 0.25-1.0 (lower for large inputs)")


#: backend keyword options set from the command line: option name -> flag
BACKEND_FLAGS = {"model": "--model", "weights_dir": "--weights", "scale": "--scale"}


def schedule_from_args(args: argparse.Namespace) -> str:
    """``--mode naive`` wins over ``--schedule``."""
    if getattr(args, "mode", "resample") == "naive":
        return "naive"
    return getattr(args, "schedule", DEFAULT_SCHEDULE)


def backend_options_from_args(args: argparse.Namespace) -> dict[str, object]:
    """``--model``/``--weights``/``--scale`` as backend options; a flag the backend does not take is refused."""
    from stsr.interpolators import backend_options, default_backend_name

    given = {option: getattr(args, flag.lstrip("-"), None) for option, flag in BACKEND_FLAGS.items()}
    given = {option: value for option, value in given.items() if value is not None}
    if given:
        takes = backend_options(args.backend)
        refused = [BACKEND_FLAGS[option] for option in given if option not in takes]
        if refused:
            backend = args.backend if args.backend != "auto" else f"auto (here: {default_backend_name()})"
            raise InputError(f"{', '.join(refused)} does not apply to --backend {backend}; it is an option of "
                             "gmfss_union (--model, --weights, --scale) and rife (--weights, --scale)")
    return given


def options_from_args(args: argparse.Namespace) -> ConvertOptions:
    backend_options = backend_options_from_args(args)
    return ConvertOptions(
        fps=args.fps, times=args.times, backend=args.backend, backend_options=backend_options,
        height=args.height, schedule=schedule_from_args(args), scene_detect=args.scene_detect, device=args.device,
        codec=getattr(args, "codec", None), overwrite=getattr(args, "overwrite", False),
        crf=getattr(args, "crf", None), preset=getattr(args, "preset", None), pix_fmt=getattr(args, "pix_fmt", None),
        encoder_options=parse_encoder_options(getattr(args, "encoder_opt", None) or []),
    )


def add_encoder_arguments(parser: argparse.ArgumentParser) -> None:
    """--codec, --crf, --preset, --pix-fmt, --encoder-opt: the encoder control ffmpeg users expect."""
    parser.add_argument("--codec", choices=CODEC_NAMES, default=None,
                        help="video codec (default: h265 10-bit for 10-bit inputs, h264 for 8-bit, vp9 for .webm; "
                             "h264_nvenc/hevc_nvenc need an NVIDIA GPU)")
    parser.add_argument("--crf", type=int, default=None, metavar="N",
                        help="constant quality (default: h264/h265 18, av1/vp9 28, nvenc cq 19)")
    parser.add_argument("--preset", default=None, metavar="NAME",
                        help="encoder preset (x264/x265: medium; svt-av1: 8; vp9: cpu-used 4; nvenc: p5)")
    parser.add_argument("--pix-fmt", dest="pix_fmt", default=None, metavar="FMT",
                        help="output pixel format (default: the input's bit depth, e.g. yuv420p10le for 10-bit)")
    parser.add_argument("--encoder-opt", dest="encoder_opt", action="append", default=[], metavar="KEY=VALUE",
                        help="option passed to the encoder as it is (repeatable), e.g. tune=animation")


def install_stop_handlers(stop: threading.Event) -> None:
    """SIGTERM and a first Ctrl-C ask the engine to stop; it cleans up and exits."""
    def handler(signum: int, frame: object) -> None:
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(args: argparse.Namespace) -> int:
    silence_library_logs()
    options = options_from_args(args)
    stop = threading.Event()
    install_stop_handlers(stop)
    if wants_cluster(args):
        return run_on_cluster(args, options, stop)
    with ProgressBar("converting", unit="frame", enabled=not args.quiet) as bar:
        def on_progress(progress: Progress) -> None:
            bar.update(progress.done, progress.total)
        result = convert(args.input, args.output, options, progress=on_progress, stop=stop)
    rate = result.rate
    rate_text = str(rate) if rate.denominator != 1 else str(rate.numerator)
    print(f"wrote {result.output}: {result.frames} frames at {rate_text} fps ({float(rate):.3f}), "
          f"{result.width}x{result.height}, {result.encoder}, {result.backend}, {result.seconds:.1f} s, "
          f"{result.fps:.1f} frames/s", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("convert", help="convert a video to a smooth higher frame rate",
                                   description="Resample INPUT to a uniform higher frame rate without stutter.")
    parser.add_argument("input", help="input video")
    parser.add_argument("output", help="output video (.mkv keeps every stream; .mp4, .mov, .webm)")
    add_engine_arguments(parser)
    add_encoder_arguments(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)

