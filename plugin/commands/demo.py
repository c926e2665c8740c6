"""``stsr demo``: the main job on a sample the project makes itself."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stsr.engine import ConvertOptions, Progress, convert, silence_library_logs
from stsr.eval.sample import make_sample

from ..progress import ProgressBar

DEFAULT_FOLDER = Path("samples")


def run(args: argparse.Namespace) -> int:
    silence_library_logs()
    folder = Path(args.folder)
    source = folder / "sample_twos.mp4"
    target = folder / "sample_twos.stsr60.mp4"
    print(f"making {source} (anime-like, drawn on twos, 23.976 fps, {args.seconds:g} s at {args.height}p, with sound)",
          file=sys.stderr)
    make_sample(source, width=args.height * 16 // 9 // 2 * 2, height=args.height, seconds=args.seconds)
    options = ConvertOptions(backend=args.backend, device=args.device, overwrite=True)
    with ProgressBar(f"converting with {args.backend}", enabled=not args.quiet) as bar:
        def on_progress(progress: Progress) -> None:
            bar.update(progress.done, progress.total)
        result = convert(source, target, options, progress=on_progress)
    print(f"wrote {target}: {result.frames} frames at 60000/1001 fps, {result.backend}, "
          f"{result.seconds:.1f} s ({result.fps:.1f} frames/s)", file=sys.stderr)
    print(target)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="make a sample clip on twos and convert it to 59.94 fps")
    parser.add_argument("--folder", default=str(DEFAULT_FOLDER), help="where to write (default: ./samples)")
    # Small by default: the default backend (gmfss_union) runs at about 1-2 output frames/s on a 2-core CPU.
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the sample clip (default 3)")
    parser.add_argument("--height", type=int, default=180, help="height of the sample clip (default 180)")
    parser.add_argument("--backend", default="auto", help="interpolator (default: auto)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
