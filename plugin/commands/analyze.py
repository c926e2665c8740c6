"""``stsr analyze``: the picture of stutter for your own file (and for its conversion)."""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

from stsr.engine import silence_library_logs
from stsr.errors import InputError
from stsr.eval.analysis import MotionProfile, drawing_fidelity, judder, plot_motion, video_motion


def _seconds(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"bad number of seconds {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("seconds must not be negative")
    return value


def run(args: argparse.Namespace) -> int:
    silence_library_logs()
    videos = [Path(args.video)] + ([Path(args.against)] if args.against else [])
    profiles: list[MotionProfile] = []
    for video in videos:
        profiles.append(video_motion(video, analysis_height=args.analysis_height, start=args.start,
                                     duration=args.duration))
    for profile in profiles:
        if profile.motion.size == 0:
            raise InputError(f"{profile.path}: fewer than 2 frames in the analysed part; nothing to measure")
        print(profile.summary())
        measured = judder(profile.path, analysis_height=min(args.analysis_height, 144), start=args.start,
                          duration=args.duration)
        print(f"  {measured.summary()}")
    if len(profiles) == 2:
        fidelity = drawing_fidelity(videos[0], videos[1], start=args.start, duration=args.duration)
        print(f"drawing-time fidelity of {videos[1].name} at {videos[0].name}'s new drawings: {fidelity:.1f} dB "
              "(changed pixels only)")
    if len(profiles) == 2 and profiles[0].moving and profiles[1].moving:
        before, after = profiles
        print(f"held frames {before.held_fraction:.0%} -> {after.held_fraction:.0%}, "
              f"stutter index {before.stutter_index:.2f} -> {after.stutter_index:.2f}")
    plot = Path(args.plot) if args.plot else Path(f"{Path(args.video).stem}.motion.png")
    if not plot.parent.is_dir():
        raise InputError(f"{plot.parent}: folder does not exist")
    plot_motion(profiles, plot)
    print(f"plot: {plot}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze", help="measure stutter: per-frame motion of a video (and of its conversion)",
        description="Measure how evenly a video moves: per-frame motion (mean optical flow), the share of "
                    "held frames and the stutter index std/mean of the motion (0 = even); per 16-pixel block, "
                    "the judder index (std/mean of each moving block's flow over 5-frame windows, "
                    "motion-weighted, cuts left out), the share of moving blocks' steps that stop dead and the "
                    "frozen share of motion. With --against, the same for a converted output, side by side in "
                    "one plot, and its drawing-time fidelity: PSNR at the source's new drawings, changed "
                    "pixels only.")
    parser.add_argument("video", help="the video to analyse (e.g. the source)")
    parser.add_argument("--against", metavar="OUTPUT", default=None,
                        help="a converted version to compare with (e.g. stsr convert's output)")
    parser.add_argument("--plot", metavar="PNG", default=None,
                        help="where to write the plot (default: VIDEO-NAME.motion.png in the current folder)")
    parser.add_argument("--start", type=_seconds, default=None, metavar="SECONDS", help="analyse from here")
    parser.add_argument("--duration", type=_seconds, default=None, metavar="SECONDS",
                        help="analyse this many seconds (default: to the end)")
    parser.add_argument("--analysis-height", type=int, default=180, metavar="H",
                        help="height the motion is measured at (default 180; lower is faster)")
    parser.set_defaults(func=run)
