"""The status report (``stsr watch --status OUTBOX``): read from the journal, so it works while a watcher runs."""

from __future__ import annotations

import datetime
from pathlib import Path

from stsr.errors import StsrError

from .journal import JOURNAL_NAME, Job, JobState, Journal
from .lock import watcher_running
from .messages import display


def _clock(timestamp: float | None) -> str:
    if timestamp is None:
        return "?"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def status_line(job: Job, max_attempts: int, chunks: tuple[int, int] | None = None) -> str:
    """One job: its state, its file, and what happens next; ``chunks`` (done, planned) on a cluster."""
    attempts = f"attempt {job.attempts}/{max_attempts}"
    progress = f"chunks {chunks[0]}/{chunks[1]} done; " if chunks is not None else ""
    if chunks is not None and job.state is JobState.RUNNING:
        attempts += f", {progress.rstrip('; ')}"
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
        return f"interrupted  {display(job.path)}  ({job.error or 'stopped'}; {progress}starts again when the " \
               "watcher restarts)"
    return f"queued       {display(job.path)}  (since {_clock(job.queued_at)})"


def status_text(outbox: Path, show_done: int = 20) -> str:
    """What ``stsr watch --status OUTBOX`` prints: counts, then every file that is not done."""
    if not (outbox / JOURNAL_NAME).is_file():
        raise StsrError(f"{outbox}: no watch journal here (was `stsr watch INBOX {outbox}` ever run?)")
    journal = Journal(outbox / JOURNAL_NAME)
    try:
        max_attempts = int(journal.meta("max_attempts", "3") or 3)
        jobs = journal.jobs()
        chunks = journal.chunk_progress()
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
        lines.extend(status_line(job, max_attempts, chunks.get(job.id)) for job in jobs if job.state is state)
    done = [job for job in jobs if job.state is JobState.DONE]
    done.sort(key=lambda job: job.finished_at or 0)
    if len(done) > show_done:
        lines.append(f"... {len(done) - show_done} more done")
    lines.extend(status_line(job, max_attempts) for job in done[-show_done:] if show_done)
    return "\n".join(lines)
