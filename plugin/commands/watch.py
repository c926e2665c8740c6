"""``stsr watch``: convert every video that lands in a folder, unattended, and never lose one."""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import sys
from pathlib import Path

from stsr.engine import silence_library_logs
from stsr.errors import StsrError

from ..watch.intake import DEFAULT_PATTERNS, parse_patterns
from ..watch.journal import JOURNAL_NAME, Job, JobState, Journal
from ..watch.service import WatchService, WatchSettings, display, watcher_running
from .convert import add_engine_arguments, options_from_args


def _clock(timestamp: float | None) -> str:
    if timestamp is None:
        return "?"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _status_line(job: Job, max_attempts: int) -> str:
    attempts = f"attempt {job.attempts}/{max_attempts}"
    if job.state is JobState.DONE:
        details = f"-> {display(job.output or '?')}"
        if job.frames is not None:
            details += f"  {job.frames} frames, {job.fps or 0:.1f} frames/s, {job.seconds or 0:.1f} s"
        return f"done         {display(job.path)}  {details}"
    if job.state is JobState.FAILED:
        if job.gave_up(max_attempts):
            when = "gave up" if job.retry_at is not None else "not retried"
        else:
            when = f"retried at the next start, or after {_clock(job.retry_at)} by a running watcher"
        return f"failed       {display(job.path)}  ({attempts}, {when}): {job.error}"
    if job.state is JobState.RUNNING:
        return f"running      {display(job.path)}  -> {display(job.output or '?')} ({attempts}, since " \
               f"{_clock(job.started_at)})"
    if job.state is JobState.INTERRUPTED:
        return f"interrupted  {display(job.path)}  ({job.error or 'stopped'}; starts again when the watcher restarts)"
    return f"queued       {display(job.path)}  (since {_clock(job.queued_at)})"


def status_text(outbox: Path, show_done: int = 20) -> str:
    """What ``stsr watch --status OUTBOX`` prints: counts, then every file that is not done."""
    if not (outbox / JOURNAL_NAME).is_file():
        raise StsrError(f"{outbox}: no watch journal here (was `stsr watch INBOX {outbox}` ever run?)")
    journal = Journal(outbox / JOURNAL_NAME)
    try:
        max_attempts = int(journal.meta("max_attempts", "3") or 3)
        jobs = journal.jobs()
        inbox = journal.meta("inbox", "?")
    finally:
        journal.close()
    counts = {state: sum(1 for job in jobs if job.state is state) for state in JobState}
    gave_up = sum(1 for job in jobs if job.gave_up(max_attempts))
    running = "a watcher is running" if watcher_running(outbox) else "no watcher running"
    summary = [f"{counts[state]} {state.value}" + (f" ({gave_up} given up)" if state is JobState.FAILED and gave_up
                                                  else "") for state in JobState]
    lines = [f"{display(str(inbox))} -> {display(str(outbox))} ({running})", ", ".join(summary)]
    order = (JobState.RUNNING, JobState.INTERRUPTED, JobState.QUEUED, JobState.FAILED)
    for state in order:
        lines.extend(_status_line(job, max_attempts) for job in jobs if job.state is state)
    done = [job for job in jobs if job.state is JobState.DONE]
    done.sort(key=lambda job: job.finished_at or 0)
    if len(done) > show_done:
        lines.append(f"... {len(done) - show_done} more done")
    lines.extend(_status_line(job, max_attempts) for job in done[-show_done:] if show_done)
    return "\n".join(lines)


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
    logging.getLogger("core").propagate = False  # its warnings go to the watch log (and stderr) once
    logging.raiseExceptions = False  # a log line that cannot be written (full disk) must not stop the watcher
    settings = WatchSettings(
        inbox=Path(args.inbox), outbox=Path(args.outbox), options=options_from_args(args), recursive=args.recursive,
        patterns=parse_patterns(args.pattern), settle=args.settle, once=args.once, max_attempts=args.max_attempts,
        retry_delay=args.retry_delay, progress_step=args.progress_every, rescan_interval=args.rescan,
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
                    "remembers every file, so a restart after a crash resumes where it stopped.",
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
    parser.add_argument("--codec", choices=("h264", "h265", "ffv1"), default="h264", help="video codec")
    parser.set_defaults(func=run)
