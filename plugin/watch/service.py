"""The watcher: intake on the main thread, one conversion worker, a lock, a log, clean stops.

Threads:

* the watchdog observer only reports paths (into a queue);
* the main thread owns intake: it scans, tracks stability, records new files in
  the journal (which is also the queue), re-queues failed files when their retry
  time comes, and handles signals;
* one worker converts queued files one at a time, oldest first, with a single
  interpolator (one job per device).

Nothing in INBOX is ever written: outputs go to OUTBOX under a temporary name
and are renamed when complete (:func:`stsr.engine.convert`), then fsynced before
the journal says "done".
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import logging.handlers
import os
import queue
import signal
import sqlite3
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from stsr.engine import ConvertOptions, Progress, convert, make_interpolator, target_rate
from stsr.errors import StsrError
from stsr.interpolators import Interpolator
from stsr.io.video import probe

from .intake import (
    DEFAULT_PATTERNS,
    Inbox,
    StabilityTracker,
    content_hash,
    files_open_for_writing,
    signature,
)
from .journal import JOURNAL_NAME, Job, Journal
from .naming import free_output_path, leftover_temporaries, looks_like_output, temporary_path

LOCK_NAME = ".stsr-watch.lock"
LOG_NAME = "stsr-watch.log"
#: seconds to wait after the journal could not be written (full disk) before trying again
JOURNAL_ERROR_PAUSE = 30.0

log = logging.getLogger("stsr.watch")


class WatchError(StsrError):
    """A watch folder problem the user must fix (missing INBOX, OUTBOX already watched...)."""


@dataclass
class WatchSettings:
    inbox: Path
    outbox: Path
    options: ConvertOptions = field(default_factory=ConvertOptions)
    recursive: bool = False
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    #: seconds a file's size and times must stay unchanged before it is taken
    settle: float = 5.0
    #: process what is in INBOX now, then exit
    once: bool = False
    max_attempts: int = 3
    #: seconds before a failed file is tried again (while running; every start retries too)
    retry_delay: float = 600.0
    #: log a progress line every this many percent
    progress_step: int = 10
    #: seconds between full rescans of INBOX (catches events the OS did not deliver)
    rescan_interval: float = 300.0
    #: seconds the worker gets to clean up after a stop request before the process leaves anyway
    stop_grace: float = 5.0


def display(text: str) -> str:
    """A path for a one-line log: control characters (even newlines in names) escaped."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


def describe_failure(error: BaseException) -> str:
    """One line for the journal and the log; disk-full errors named plainly."""
    current: BaseException | None = error
    while current is not None:
        code = getattr(current, "errno", None)
        if code == errno.ENOSPC:
            return "no space left on device (OUTBOX's disk is full; the partial output was removed)"
        if code == errno.EDQUOT:
            return "disk quota exceeded (the partial output was removed)"
        if code == errno.EFBIG:
            return "file too large for the output file system (EFBIG; the partial output was removed)"
        current = current.__cause__ or current.__context__
    if isinstance(error, MemoryError):
        return "out of memory"
    if isinstance(error, StsrError):
        return str(error)
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class OutboxLock:
    """An exclusive ``flock`` on OUTBOX/.stsr-watch.lock, held for the life of the watcher.

    The kernel drops it when the process dies (even by ``kill -9``), so a stale
    lock never blocks a restart.
    """

    def __init__(self, outbox: Path) -> None:
        self.path = outbox / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise WatchError(f"{self.path.parent}: cannot create the lock file ({error.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise WatchError(f"{self.path.parent} is already being watched by another stsr watch (pid {holder}); "
                             "stop that one first") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def watcher_running(outbox: Path) -> bool:
    """Whether a watcher holds OUTBOX's lock (a shared lock probe, released at once)."""
    path = outbox / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class _EventHandler(FileSystemEventHandler):
    """Forwards interesting paths to the main thread; all decisions are made there."""

    def __init__(self, paths: queue.SimpleQueue[tuple[str, Path]]) -> None:
        self._paths = paths

    def on_any_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, (FileMovedEvent, DirMovedEvent)):
            self._paths.put(("dir" if event.is_directory else "file", Path(os.fsdecode(event.dest_path))))
            if not event.is_directory:
                self._paths.put(("file", Path(os.fsdecode(event.src_path))))
        elif isinstance(event, DirCreatedEvent):
            self._paths.put(("dir", Path(os.fsdecode(event.src_path))))
        elif not event.is_directory:
            self._paths.put(("file", Path(os.fsdecode(event.src_path))))


_EVENT_TYPES = [FileCreatedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent, FileDeletedEvent,
                DirCreatedEvent, DirMovedEvent]


class WatchService:
    """One watcher run; :meth:`run` returns the exit code."""

    def __init__(self, settings: WatchSettings, interpolator: Interpolator | None = None) -> None:
        """``interpolator``: use this one instead of creating ``settings.options.backend``."""
        self.settings = settings
        self.inbox_path = Path(settings.inbox).resolve()
        self.outbox_path = Path(os.path.abspath(settings.outbox))
        self._stop = threading.Event()
        self._stop_reason = ""
        self._wake = threading.Event()
        self._job_lock = threading.Lock()
        self._current: Job | None = None
        self._current_target: Path | None = None
        self._job_stop: threading.Event | None = None
        self._events: queue.SimpleQueue[tuple[str, Path]] = queue.SimpleQueue()
        self._recheck: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self._failures_this_run = 0
        self._log_handlers: list[logging.Handler] = []
        self._interpolator: Interpolator | None = interpolator
        self._worker: threading.Thread | None = None
        self._worker_error: BaseException | None = None
        self.journal: Journal | None = None
        #: True when the worker did not stop within the grace period (the caller should exit hard)
        self.abandoned_worker = False

    # -- control ------------------------------------------------------------------------

    def request_stop(self, reason: str = "stop requested") -> None:
        """Stop soon: the running job is abandoned (temporary removed) and recorded as interrupted."""
        if not self._stop.is_set():
            self._stop_reason = reason
        self._stop.set()
        with self._job_lock:
            if self._job_stop is not None:
                self._job_stop.set()
        self._wake.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop cleanly; a second one leaves at once (after removing the temporary)."""
        def handler(signum: int, frame: object) -> None:
            name = signal.Signals(signum).name
            if self._stop.is_set():
                self._remove_current_temporary()
                os._exit(128 + signum)
            self.request_stop(f"{name} received")
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    # -- setup --------------------------------------------------------------------------

    def _check_folders(self) -> None:
        inbox, outbox = self.inbox_path, self.outbox_path
        if not inbox.is_dir():
            raise WatchError(f"{self.settings.inbox}: INBOX is not a folder")
        if outbox.exists() and not outbox.is_dir():
            raise WatchError(f"{self.settings.outbox}: OUTBOX is not a folder")
        try:
            outbox.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WatchError(f"{self.settings.outbox}: cannot create OUTBOX ({error.strerror})") from None
        self.outbox_path = outbox.resolve()
        if self.settings.max_attempts < 1:
            raise WatchError("--max-attempts must be at least 1")
        if self.settings.settle < 0:
            raise WatchError("--settle must not be negative")

    def _setup_logging(self) -> None:
        log.setLevel(logging.INFO)
        log.propagate = False
        formatter = logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S")
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(formatter)
        handlers: list[logging.Handler] = [console]
        try:
            file_handler = logging.handlers.RotatingFileHandler(self.outbox_path / LOG_NAME, maxBytes=5 << 20,
                                                                backupCount=3, encoding="utf-8")
            file_handler.setFormatter(formatter)
            handlers.append(file_handler)
        except OSError as error:
            print(f"stsr: warning: cannot write {self.outbox_path / LOG_NAME}: {error.strerror}", file=sys.stderr)
        for handler in handlers:
            log.addHandler(handler)
            # The engine's own warnings (e.g. a subtitle stream that cannot be copied) belong in the log too.
            logging.getLogger("core").addHandler(handler)
        self._log_handlers = handlers

    def _teardown_logging(self) -> None:
        for handler in self._log_handlers:
            log.removeHandler(handler)
            logging.getLogger("core").removeHandler(handler)
            with contextlib.suppress(Exception):
                handler.flush()
                handler.close()
        self._log_handlers = []

    def _make_inbox(self) -> Inbox:
        inbox, outbox = self.inbox_path, self.outbox_path
        excluded = [outbox] if outbox != inbox and inbox in outbox.parents else []
        own_outputs = (lambda name: looks_like_output(name)) if outbox == inbox else None
        return Inbox(inbox, self.settings.recursive, self.settings.patterns, excluded, own_outputs)

    def _clean_leftovers(self) -> None:
        skip = self.inbox_path if self.inbox_path != self.outbox_path and self.outbox_path in \
            self.inbox_path.parents else None
        for path in leftover_temporaries(self.outbox_path, skip):
            try:
                path.unlink()
                log.info("removed leftover temporary file %s", display(str(path.relative_to(self.outbox_path))))
            except OSError as error:
                log.info("could not remove leftover temporary file %s: %s", display(str(path)), error.strerror)

    # -- the run ------------------------------------------------------------------------

    def run(self) -> int:
        self._check_folders()
        lock = OutboxLock(self.outbox_path)
        lock.acquire()
        self._setup_logging()
        try:
            return self._run_locked()
        except sqlite3.Error as error:
            raise WatchError(f"{self.outbox_path / JOURNAL_NAME}: journal error ({error})") from None
        finally:
            if self.journal is not None and not self.abandoned_worker:
                self.journal.close()
            self._teardown_logging()
            lock.release()

    def _run_locked(self) -> int:
        settings = self.settings
        try:
            self.journal = Journal(self.outbox_path / JOURNAL_NAME)
        except Exception as error:
            raise WatchError(f"{self.outbox_path / JOURNAL_NAME}: cannot open the journal ({error})") from None
        journal = self.journal
        journal.set_meta("max_attempts", str(settings.max_attempts))
        journal.set_meta("inbox", str(self.inbox_path))
        self._clean_leftovers()
        for job in journal.recover(self.outbox_path, settings.max_attempts):
            log.info("resuming %s (was %s)", display(job.path), job.state.value)
        options = settings.options
        if self._interpolator is None:
            self._interpolator = make_interpolator(options.backend, options.device, options.backend_options)
        inbox = self._make_inbox()
        log.info("watching %s -> %s (%s, settle %gs%s)", display(str(self.inbox_path)), display(str(self.outbox_path)),
                 self._interpolator.describe(), settings.settle, ", once" if settings.once else "")

        self._worker = threading.Thread(target=self._worker_main, name="stsr-watch-worker", daemon=True)
        self._worker.start()
        observer = None if settings.once else self._start_observer()
        try:
            self._intake_loop(inbox)
        finally:
            if observer is not None:
                observer.stop()
            self.request_stop(self._stop_reason or "finished")
            self._worker.join(settings.stop_grace)
            if self._worker.is_alive():
                self._abandon_current_job()
            if observer is not None:
                observer.join(2)
        if self._worker_error is not None:
            raise WatchError(f"the worker stopped: {describe_failure(self._worker_error)}")
        if settings.once:
            log.info("processed INBOX%s", f"; {self._failures_this_run} failed" if self._failures_this_run else "")
            return 1 if self._failures_this_run else 0
        log.info("stopped (%s)", self._stop_reason or "finished")
        return 0

    def _start_observer(self) -> Observer | None:
        observer = Observer()
        try:
            observer.schedule(_EventHandler(self._events), str(self.inbox_path), recursive=self.settings.recursive,
                              event_filter=_EVENT_TYPES)
            observer.start()
        except OSError as error:
            # e.g. inotify watch limit reached: polling by rescans still finds everything.
            fallback = max(2.0, self.settings.settle)
            log.info("file system events unavailable (%s); rescanning every %gs instead", error, fallback)
            self.settings.rescan_interval = min(self.settings.rescan_interval, fallback)
            return None
        return observer

    def _intake_loop(self, inbox: Inbox) -> None:
        settings = self.settings
        journal = self.journal
        assert journal is not None
        tracker = StabilityTracker(settings.settle)
        poll = min(0.5, max(0.05, settings.settle / 4))
        started = time.monotonic()
        # In --once mode, a file still changing after three settle periods is left for the next run.
        once_deadline = started + 3 * settings.settle + 2 * poll + 1.0
        for path in inbox.scan():
            self._notice(inbox, tracker, path)
        next_rescan = started + settings.rescan_interval
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                self._drain_events(inbox, tracker)
                ready = tracker.ready(now)
                if ready:
                    busy = files_open_for_writing(ready)
                    for path in ready:
                        self._take(inbox, tracker, path, path in busy, now)
                if not settings.once:
                    for job in journal.requeue_due(time.time(), settings.max_attempts):
                        log.info("retrying %s (attempt %d/%d)", display(job.path), job.attempts + 1,
                                 settings.max_attempts)
                        self._wake.set()
                    if now >= next_rescan:
                        for path in inbox.scan():
                            self._notice(inbox, tracker, path)
                        next_rescan = now + settings.rescan_interval
            except sqlite3.Error as error:
                # A file whose row could not be written is found again by the next rescan.
                log.info("journal error: %s; pausing %gs", error, JOURNAL_ERROR_PAUSE)
                next_rescan = now + JOURNAL_ERROR_PAUSE
                self._stop.wait(JOURNAL_ERROR_PAUSE)
                continue
            if settings.once:
                if now > once_deadline:
                    for path in tracker.paths():
                        log.info("skipped %s: still being written; left for the next run",
                                 display(inbox.relative(path) or str(path)))
                        tracker.forget(path)
                # Idle first: a finished job may just have asked for a file to be looked at again.
                if self._idle() and self._recheck.empty() and len(tracker) == 0:
                    break
            if self._worker is not None and not self._worker.is_alive():
                break
            self._stop.wait(poll)

    def _drain_events(self, inbox: Inbox, tracker: StabilityTracker) -> None:
        while True:
            try:
                kind, path = self._events.get_nowait()
            except queue.Empty:
                break
            if kind == "dir":
                for found in inbox.scan(path):
                    self._notice(inbox, tracker, found)
            else:
                self._notice(inbox, tracker, path)
        while True:
            try:
                path = self._recheck.get_nowait()
            except queue.Empty:
                break
            self._notice(inbox, tracker, path)

    def _notice(self, inbox: Inbox, tracker: StabilityTracker, path: Path) -> None:
        """Track a candidate unless the journal already knows this exact version (no hashing)."""
        if path in tracker:
            return
        relative = inbox.relative(path)
        current = signature(path)
        if relative is None or current is None:
            return
        assert self.journal is not None
        if self.journal.find_by_stat(relative, current.size, current.mtime_ns) is not None:
            return
        tracker.notice(path)

    def _take(self, inbox: Inbox, tracker: StabilityTracker, path: Path, busy: bool, now: float) -> None:
        """A settled file: queue it if it is new and looks complete."""
        journal = self.journal
        assert journal is not None
        relative = inbox.relative(path)
        current = signature(path)
        if relative is None or current is None:
            tracker.forget(path)
            return
        if busy:
            if tracker.first_busy_report(path):
                log.info("waiting for %s: another program still has it open for writing", display(relative))
            tracker.defer(path, now)
            return
        if journal.find_by_stat(relative, current.size, current.mtime_ns) is not None:
            tracker.forget(path)
            return
        try:
            digest = content_hash(path, current.size)
        except OSError as error:
            digest = f"unreadable-{current.mtime_ns}-{error.errno}"
        known = journal.find_by_content(relative, current.size, digest)
        if known is not None:
            journal.touch(known.id, current.mtime_ns)  # same content, new mtime
            tracker.forget(path)
            return
        if tracker.probe_failures(path) == 0:
            try:
                probe(path)
            except StsrError:
                tracker.defer(path, now, probe_failed=True)  # maybe its header is still missing
                return
            except Exception:  # a crashing probe is the worker's to report
                pass
        journal.add(relative, current.size, current.mtime_ns, digest)
        tracker.forget(path)
        log.info("queued %s (%s)", display(relative), _size_text(current.size))
        self._wake.set()

    def _idle(self) -> bool:
        assert self.journal is not None
        with self._job_lock:
            return self._current is None and self.journal.next_queued() is None

    # -- the worker ---------------------------------------------------------------------

    def _worker_main(self) -> None:
        journal = self.journal
        assert journal is not None
        try:
            while not self._stop.is_set():
                with self._job_lock:
                    job = journal.next_queued()
                    self._current = job
                    if job is not None:
                        self._job_stop = threading.Event()
                        if self._stop.is_set():  # a stop that came just before this job
                            self._job_stop.set()
                if job is None:
                    self._wake.wait(0.5)
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
                    with self._job_lock:
                        self._current = None
                        self._current_target = None
                        self._job_stop = None
        except BaseException as error:  # a bug: stop the watcher and say why
            self._worker_error = error
            log.info("worker error: %s", describe_failure(error))
            log.debug("%s", traceback.format_exc())
            self._stop.set()

    def _run_job(self, job: Job) -> None:
        settings, journal = self.settings, self.journal
        assert journal is not None and self._job_stop is not None
        source = self.inbox_path / job.path
        current = signature(source)
        if current is None:
            journal.forget(job.id)  # removed by the user: nothing to convert, nothing failed
            log.info("skipped %s: it disappeared from INBOX before its turn", display(job.path))
            return
        if (current.size, current.mtime_ns) != (job.size, job.mtime_ns):
            same = False
            with contextlib.suppress(OSError):
                same = current.size == job.size and content_hash(source, current.size) == job.content_hash
            if not same:
                journal.forget(job.id)  # that version no longer exists; the new one is queued when it settles
                log.info("skipped %s: it changed after it was queued (the new version will be queued)",
                         display(job.path))
                self._recheck.put(source)
                return
            journal.touch(job.id, current.mtime_ns)

        job = journal.start(job.id)
        attempt = f"attempt {job.attempts}/{settings.max_attempts}"
        target: Path | None = None
        started = time.monotonic()
        try:
            info = probe(source)
            rate = target_rate(info.frame_rate, settings.options.fps, settings.options.times)
            relative_output = free_output_path(self.outbox_path, job.path, rate)
            target = self.outbox_path / relative_output
            target.parent.mkdir(parents=True, exist_ok=True)
            journal.set_output(job.id, relative_output)
            with self._job_lock:
                self._current_target = target
            log.info("started %s -> %s (%s)", display(job.path), display(relative_output), attempt)
            result = convert(source, target, settings.options, progress=self._progress_logger(job),
                             stop=self._job_stop, interpolator=self._interpolator)
            _fsync_file_and_folder(target)
        except KeyboardInterrupt:
            if self._stop.is_set():
                journal.interrupt(job.id, self._stop_reason, refund_attempt=True)
                log.info("interrupted %s (%s); it starts again on the next run", display(job.path), self._stop_reason)
                return
            raise
        except sqlite3.Error:
            raise
        except Exception as error:
            reason = describe_failure(error)
            if target is not None:
                with contextlib.suppress(OSError):
                    temporary_path(target).unlink()
            if self._stop.is_set():
                # The stop cut the job short (e.g. before two frames were decoded): not the file's fault.
                journal.interrupt(job.id, self._stop_reason, refund_attempt=True)
                log.info("interrupted %s (%s); it starts again on the next run", display(job.path), self._stop_reason)
                return
            final = job.attempts >= settings.max_attempts
            journal.fail(job.id, reason, time.time() + settings.retry_delay)
            self._failures_this_run += 1
            if final:
                log.info("failed %s (%s, giving up): %s", display(job.path), attempt, reason)
            else:
                log.info("failed %s (%s, will retry): %s", display(job.path), attempt, reason)
            if not isinstance(error, StsrError):
                log.debug("%s", traceback.format_exc())
            return
        journal.finish(job.id, result.frames, result.fps, time.monotonic() - started)
        log.info("done %s -> %s: %d frames at %s fps, %.1f frames/s, %.1f s", display(job.path),
                 display(str(target.relative_to(self.outbox_path))), result.frames, _rate_text(result.rate),
                 result.fps, time.monotonic() - started)

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

    # -- leaving with a stuck worker ------------------------------------------------------

    def _remove_current_temporary(self) -> None:
        target = self._current_target
        if target is not None:
            with contextlib.suppress(OSError):
                temporary_path(target).unlink()

    def _abandon_current_job(self) -> None:
        """The worker did not finish cleaning up in time: record and clean up for it."""
        self.abandoned_worker = True
        job = self._current
        self._remove_current_temporary()
        if job is not None and self.journal is not None:
            with contextlib.suppress(Exception):
                self.journal.interrupt(job.id, self._stop_reason, refund_attempt=True)
            log.info("interrupted %s (%s); the worker did not stop within %gs", display(job.path),
                     self._stop_reason, self.settings.stop_grace)


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


def _size_text(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def _rate_text(rate: Fraction) -> str:
    return str(rate.numerator) if rate.denominator == 1 else f"{rate} ({float(rate):.3f})"
