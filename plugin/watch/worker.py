"""The conversion worker: one thread, one job at a time, oldest first, one interpolator (one job per device).

The journal is the queue. Outputs go to OUTBOX under a temporary name, are
renamed when complete (:func:`stsr.engine.convert`), then fsynced before the
journal says "done". A failure is recorded with its reason; one that the reason
does not explain (not bad input, a full disk or a lack of memory: a bug) is
logged at ERROR with its traceback. A stop is recorded as "interrupted" and
costs the file no attempt.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stsr.engine import Progress, convert, target_rate
from stsr.interpolators import Interpolator
from stsr.io.video import probe

from .intake import content_hash, signature
from .journal import JOURNAL_ERROR_PAUSE, Job, Journal
from .logs import log
from .messages import describe_failure, display, is_expected_failure, rate_text
from .naming import free_output_path, temporary_path

if TYPE_CHECKING:
    from .service import WatchSettings

#: seconds an idle worker sleeps between looks at the queue when nobody wakes it
IDLE_POLL = 0.5


class Worker:
    """Runs queued jobs on its own thread until ``stop`` is set; :meth:`cancel` cuts the current one short."""

    def __init__(self, settings: WatchSettings, inbox: Path, outbox: Path, journal: Journal,
                 interpolator: Interpolator | None, stop: threading.Event, wake: threading.Event,
                 recheck: queue.SimpleQueue[Path], stop_reason: Callable[[], str]) -> None:
        """``wake``: set when something was queued; ``recheck``: paths the intake loop must look at again."""
        self.settings = settings
        self.inbox = inbox
        self.outbox = outbox
        self.journal = journal
        self.interpolator = interpolator
        self._stop = stop
        self._wake = wake
        self._recheck = recheck
        self._stop_reason = stop_reason
        self._lock = threading.Lock()
        self._current: Job | None = None
        self._current_target: Path | None = None
        self._job_stop: threading.Event | None = None
        self._thread = threading.Thread(target=self._main, name="stsr-watch-worker", daemon=True)
        #: files that failed during this run
        self.failures = 0
        #: the exception that stopped the worker (a bug), if any
        self.error: BaseException | None = None

    # -- lifetime -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None) -> bool:
        """Wait for the thread; True when it ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        """After the thread ended: release what the worker holds beyond it (nothing in-process)."""

    def idle(self) -> bool:
        """No job running and none queued."""
        with self._lock:
            return self._current is None and self.journal.next_queued() is None

    def cancel(self) -> None:
        """Ask the running conversion to stop (the caller has set ``stop`` first)."""
        with self._lock:
            if self._job_stop is not None:
                self._job_stop.set()

    def remove_current_temporary(self) -> None:
        target = self._current_target
        if target is not None:
            with contextlib.suppress(OSError):
                temporary_path(target).unlink()

    def abandon(self) -> None:
        """The thread did not finish cleaning up in time (a model call that does not return): do it for it."""
        job = self._current
        self.remove_current_temporary()
        if job is not None:
            with contextlib.suppress(Exception):
                self.journal.interrupt(job.id, self._stop_reason(), refund_attempt=True)
            log.info("interrupted %s (%s); the worker did not stop within %gs", display(job.path),
                     self._stop_reason(), self.settings.stop_grace)

    # -- the thread ---------------------------------------------------------------------

    def _main(self) -> None:
        try:
            while not self._stop.is_set():
                job = self._claim_next()
                if job is None:
                    self._wake.wait(IDLE_POLL)
                    self._wake.clear()
                    continue
                try:
                    self._run_job(job)
                except sqlite3.Error as error:
                    # The journal cannot be written (e.g. its disk is full): wait, then go on. The job's
                    # row is settled by the next start's recovery at the latest.
                    log.info("journal error during %s: %s; pausing %gs", display(job.path), error,
                             JOURNAL_ERROR_PAUSE)
                    self._stop.wait(JOURNAL_ERROR_PAUSE)
                finally:
                    with self._lock:
                        self._current = None
                        self._current_target = None
                        self._job_stop = None
        except BaseException as error:  # a bug: stop the watcher and say why
            self.error = error
            log.error("worker error: %s", describe_failure(error), exc_info=error)
            self._stop.set()

    def _claim_next(self) -> Job | None:
        with self._lock:
            job = self.journal.next_queued()
            self._current = job
            if job is not None:
                self._job_stop = threading.Event()
                if self._stop.is_set():  # a stop that came just before this job
                    self._job_stop.set()
        return job

    def _still_the_queued_version(self, job: Job, source: Path) -> bool:
        """False (and the job dropped) when the file vanished or changed since it was queued."""
        current = signature(source)
        if current is None:
            self.journal.forget(job.id)  # removed by the user: nothing to convert, nothing failed
            log.info("skipped %s: it disappeared from INBOX before its turn", display(job.path))
            return False
        if (current.size, current.mtime_ns) != (job.size, job.mtime_ns):
            same = False
            with contextlib.suppress(OSError):
                same = current.size == job.size and content_hash(source, current.size) == job.content_hash
            if not same:
                self.journal.forget(job.id)  # that version no longer exists; the new one is queued when it settles
                log.info("skipped %s: it changed after it was queued (the new version will be queued)",
                         display(job.path))
                self._recheck.put(source)
                return False
            self.journal.touch(job.id, current.mtime_ns)
        return True

    def _run_job(self, job: Job) -> None:
        settings, journal = self.settings, self.journal
        assert self._job_stop is not None
        source = self.inbox / job.path
        if not self._still_the_queued_version(job, source):
            return
        job = journal.start(job.id)
        attempt = f"attempt {job.attempts}/{settings.max_attempts}"
        target: Path | None = None
        started = time.monotonic()
        try:
            info = probe(source)
            rate = target_rate(info.frame_rate, settings.options.fps, settings.options.times)
            relative_output = free_output_path(self.outbox, job.path, rate)
            target = self.outbox / relative_output
            target.parent.mkdir(parents=True, exist_ok=True)
            journal.set_output(job.id, relative_output)
            with self._lock:
                self._current_target = target
            log.info("started %s -> %s (%s)", display(job.path), display(relative_output), attempt)
            assert self.interpolator is not None
            result = convert(source, target, settings.options, progress=self._progress_logger(job),
                             stop=self._job_stop, interpolator=self.interpolator)
            _fsync_file_and_folder(target)
        except KeyboardInterrupt:
            if self._stop.is_set():
                self._record_interrupted(job)
                return
            raise
        except sqlite3.Error:
            raise
        except Exception as error:
            if target is not None:
                with contextlib.suppress(OSError):
                    temporary_path(target).unlink()
            if self._stop.is_set():
                # The stop cut the job short (e.g. before two frames were decoded): not the file's fault.
                self._record_interrupted(job)
                return
            self._record_failure(job, attempt, error)
            return
        seconds = time.monotonic() - started
        journal.finish(job.id, result.frames, result.fps, seconds)
        log.info("done %s -> %s: %d frames at %s fps, %.1f frames/s, %.1f s", display(job.path),
                 display(str(target.relative_to(self.outbox))), result.frames, rate_text(result.rate),
                 result.fps, seconds)

    def _record_interrupted(self, job: Job) -> None:
        reason = self._stop_reason()
        self.journal.interrupt(job.id, reason, refund_attempt=True)
        log.info("interrupted %s (%s); it starts again on the next run", display(job.path), reason)

    def _record_failure(self, job: Job, attempt: str, error: Exception) -> None:
        """Journal the failure; an expected one is one line, anything else is a bug: ERROR with its traceback."""
        settings = self.settings
        reason = describe_failure(error)
        final = job.attempts >= settings.max_attempts
        self.journal.fail(job.id, reason, time.time() + settings.retry_delay)
        self.failures += 1
        outcome = "giving up" if final else "will retry"
        if is_expected_failure(error):
            log.info("failed %s (%s, %s): %s", display(job.path), attempt, outcome, reason)
        else:
            log.error("failed %s (%s, %s): %s", display(job.path), attempt, outcome, reason, exc_info=error)

    def _progress_logger(self, job: Job) -> Callable[[Progress], None]:
        step = max(1, self.settings.progress_step)
        next_percent = [step]

        def report(progress: Progress) -> None:
            if progress.total <= 0:
                return
            percent = progress.done * 100 // progress.total
            if percent >= next_percent[0] and percent < 100:
                log.info("progress %s %d%% (%d/%d frames, %.1f frames/s)", display(job.path), percent,
                         progress.done, progress.total, progress.fps)
                next_percent[0] = (percent // step + 1) * step

        return report


def _fsync_file_and_folder(path: Path) -> None:
    """The rename is durable before the journal says done (so a power cut cannot lose a 'done')."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
