"""``stsr watch``: convert every video that lands in a folder, unattended, and never lose one."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from stsr.engine import silence_library_logs
from stsr.errors import StsrError

from ..cluster.cli import add_cluster_arguments, cluster_options_from_args, wants_cluster
from ..watch.intake import DEFAULT_PATTERNS, parse_patterns
from ..watch.logs import PACKAGE_LOGGER
from ..watch.service import WatchService, WatchSettings
from ..watch.status import status_text
from .convert import add_encoder_arguments, add_engine_arguments, options_from_args

__all__ = ["register", "run", "status_text"]


def run(args: argparse.Namespace) -> int:
    folders = [folder for folder in (args.inbox, args.outbox) if folder is not None]
    if args.status:
        if not folders:
            raise StsrError("--status needs OUTBOX: stsr watch --status OUTBOX")
        print(status_text(Path(folders[-1]), show_done=args.show_done))
        return 0
    if len(folders) != 2:
        raise StsrError("need INBOX and OUTBOX: stsr watch INBOX OUTBOX (or stsr watch --status OUTBOX)")
    if args.settle < 0 or args.retry_delay < 0:
        raise StsrError("--settle and --retry-delay must not be negative")
    silence_library_logs()
    logging.getLogger(PACKAGE_LOGGER).propagate = False  # the watch log (and stderr) has every line once
    logging.raiseExceptions = False  # a log line that cannot be written (full disk) must not stop the watcher
    settings = WatchSettings(
        inbox=Path(args.inbox), outbox=Path(args.outbox), options=options_from_args(args), recursive=args.recursive,
        patterns=parse_patterns(args.pattern), settle=args.settle, once=args.once, max_attempts=args.max_attempts,
        retry_delay=args.retry_delay, progress_step=args.progress_every, rescan_interval=args.rescan,
        cluster=cluster_options_from_args(args) if wants_cluster(args) else None,  # None: in this process
    )
    service = WatchService(settings)
    service.install_signal_handlers()
    code = service.run()
    if service.abandoned_worker:
        # A model call that does not return is still running in a thread; leave without waiting for it.
        sys.stderr.flush()
        os._exit(code)
    return code


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "watch", help="convert every new video in a folder (resumes after crashes)",
        usage="stsr watch INBOX OUTBOX [options]\n       stsr watch --status OUTBOX",
        description="Watch INBOX and write a smooth version of every complete video to OUTBOX "
                    "(name.stsr60.mkv, same sub-folders). INBOX is never modified. A journal in OUTBOX "
                    "remembers every file, so a restart after a crash resumes where it stopped. With "
                    "--workers/--cluster files are split into chunks rendered on Ray workers, all kept busy "
                    "across files; the journal remembers finished chunks too.",
    )
    parser.add_argument("inbox", nargs="?", metavar="INBOX", help="folder to watch")
    parser.add_argument("outbox", nargs="?", metavar="OUTBOX", help="folder for outputs, journal and log")
    parser.add_argument("--status", action="store_true",
                        help="show the journal of OUTBOX (works while a watcher runs) and exit")
    parser.add_argument("--show-done", type=int, default=20, metavar="N",
                        help="with --status: list the last N done files (default 20)")
    parser.add_argument("--recursive", action="store_true", help="watch sub-folders too (mirrored in OUTBOX)")
    parser.add_argument("--pattern", default=None, metavar="GLOBS",
                        help="comma-separated file name patterns (default: " + ",".join(DEFAULT_PATTERNS) + ")")
    parser.add_argument("--once", action="store_true",
                        help="convert what is in INBOX now, then exit (for cron); exit status 1 if any failed")
    parser.add_argument("--settle", type=float, default=5.0, metavar="SECONDS",
                        help="a file is taken once its size and times have not changed for this long (default 5)")
    parser.add_argument("--max-attempts", type=int, default=3, metavar="N",
                        help="tries per file before giving up (default 3)")
    parser.add_argument("--retry-delay", type=float, default=600.0, metavar="SECONDS",
                        help="wait before retrying a failed file while running (default 600; "
                             "every start retries at once)")
    parser.add_argument("--progress-every", type=int, default=10, metavar="PERCENT",
                        help="log a progress line every PERCENT %% of a file (default 10)")
    parser.add_argument("--rescan", type=float, default=300.0, metavar="SECONDS",
                        help="full rescan of INBOX this often, in case the OS missed an event (default 300)")
    add_engine_arguments(parser)
    add_encoder_arguments(parser)
    add_cluster_arguments(parser)
    parser.set_defaults(func=run)
