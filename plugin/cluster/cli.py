"""``stsr convert --workers N`` / ``--cluster auto|ADDRESS``: the command-line side of the cluster.

Importing this module loads neither Ray nor the coordinator; both come in only when
one of the options is given. Without Ray installed the conversion runs in-process,
exactly as without the options, after a one-line warning.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from stsr.engine import ConvertOptions

if TYPE_CHECKING:
    from .coordinator import ClusterOptions


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a conversion spread over Ray workers (convert, watch)."""
    group = parser.add_argument_group("many GPUs (Ray; pip install 'stsr[cluster]')")
    group.add_argument("--workers", type=positive_int, default=None, metavar="N",
                       help="render on N Ray workers (one per GPU; on CPUs one per --worker-threads threads); "
                            "without --cluster a local Ray is started")
    group.add_argument("--cluster", default=None, metavar="ADDRESS",
                       help="join a running Ray cluster: auto or host:port (see 'ray start --head')")
    group.add_argument("--chunk-frames", type=positive_int, default=None, metavar="N",
                       help="output frames per chunk (default 600; boundaries move to scene cuts nearby)")
    group.add_argument("--chunk-dir", type=Path, default=None, metavar="DIR",
                       help="shared folder for the chunk files, the same path on every node "
                            "(default: a hidden folder beside OUTPUT)")
    group.add_argument("--worker-threads", type=positive_int, default=None, metavar="N",
                       help="CPU threads per worker on nodes without a GPU (default 4)")
    group.add_argument("--keep-chunks", action="store_true", help="keep the chunk files after the join")


def wants_cluster(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "workers", None) or getattr(args, "cluster", None))


def cluster_options_from_args(args: argparse.Namespace) -> ClusterOptions | None:
    """The cluster options given on the command line; None (after a one-line warning) when Ray is missing,
    so the caller runs in this process as without the options."""
    from .coordinator import DEFAULT_CHUNK_FRAMES, ClusterOptions, ClusterUnavailable, ray_module

    try:
        ray_module()
    except ClusterUnavailable as error:
        print(f"stsr: warning: {error}; converting in this process", file=sys.stderr)
        return None
    return ClusterOptions(workers=args.workers, address=args.cluster,
                          chunk_frames=args.chunk_frames or DEFAULT_CHUNK_FRAMES, chunk_dir=args.chunk_dir,
                          worker_threads=args.worker_threads, keep_chunks=args.keep_chunks)


def run_on_cluster(args: argparse.Namespace, options: ConvertOptions, stop: threading.Event) -> int:
    """Convert on Ray workers with a progress bar over all chunks and per-worker status lines."""
    from tqdm import tqdm

    from stsr.engine import Progress, convert

    from ..progress import ProgressBar
    from .coordinator import (
        DEFAULT_CHUNK_FRAMES,
        ClusterOptions,
        ClusterProgress,
        ClusterUnavailable,
        convert_on_cluster,
        describe_rate,
        ray_module,
    )

    try:
        ray_module()
    except ClusterUnavailable as error:
        print(f"stsr: warning: {error}; converting in this process", file=sys.stderr)
        with ProgressBar("converting", unit="frame", enabled=not args.quiet) as bar:
            def on_local_progress(progress: Progress) -> None:
                bar.update(progress.done, progress.total)
            single = convert(args.input, args.output, options, progress=on_local_progress, stop=stop)
        print(f"wrote {single.output}: {single.frames} frames at {describe_rate(single.rate)} fps, "
              f"{single.width}x{single.height}, {single.backend}, {single.seconds:.1f} s", file=sys.stderr)
        return 0
    cluster = ClusterOptions(workers=args.workers, address=args.cluster,
                             chunk_frames=args.chunk_frames or DEFAULT_CHUNK_FRAMES, chunk_dir=args.chunk_dir,
                             worker_threads=args.worker_threads, keep_chunks=args.keep_chunks)
    with ProgressBar("converting", unit="frame", enabled=not args.quiet) as bar:
        def on_progress(progress: ClusterProgress) -> None:
            if progress.event and not args.quiet:
                tqdm.write(progress.event, file=sys.stderr)
            bar.update(progress.done, progress.total)
        result = convert_on_cluster(args.input, args.output, options, cluster, progress=on_progress, stop=stop)
    total = result.seconds or 1.0
    print(f"wrote {result.output}: {result.frames} frames at {describe_rate(result.rate)} fps "
          f"({float(result.rate):.3f}), {result.width}x{result.height}, {result.backend}, {result.seconds:.1f} s, "
          f"{result.fps:.1f} frames/s on {result.workers} workers; {result.chunks} chunks "
          f"({result.rendered} rendered, {result.reused} reused); "
          f"Ray start {result.startup_seconds:.1f} s, planning {result.planning_seconds:.1f} s "
          f"({result.planning_seconds / total:.0%}), joining {result.joining_seconds:.1f} s "
          f"({result.joining_seconds / total:.0%})", file=sys.stderr)
    return 0
