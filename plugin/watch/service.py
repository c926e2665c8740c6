"""The watcher: wires the lock, the log, the journal, the observer, the intake loop and the worker together.

Threads, each joined before :meth:`WatchService.run` returns:

* the watchdog observer only reports paths (:mod:`.events`);
* the calling thread runs the intake loop (:mod:`.intake_loop`) and handles signals;
* one worker converts queued files one at a time (:mod:`.worker`); with ``settings.cluster``
  it is a :mod:`.cluster_worker` instead, which spreads the files' chunks over Ray workers. On a stop, the
  running conversion is cancelled and waited for (``stop_grace``); only a model
  call that never returns is left behind, recorded as interrupted.

Nothing in INBOX is ever written; outputs, journal, lock and log live in OUTBOX.
"""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchdog.observers import Observer

from stsr.engine import ConvertOptions, make_interpolator
from stsr.interpolators import Interpolator

from .errors import WatchError
from .events import EventQueue, start_observer
from .intake import DEFAULT_PATTERNS, Inbox
from .intake_loop import Clock, IntakeLoop
from .journal import JOURNAL_NAME, Journal
from .lock import LOCK_NAME, OutboxLock, watcher_running
from .logs import LOG_NAME, WatchLog, log
from .messages import describe_failure, display
from .naming import leftover_temporaries, looks_like_output
from .worker import Worker

if TYPE_CHECKING:
    from stsr.plugin.cluster.coordinator import ClusterOptions

__all__ = ["LOCK_NAME", "LOG_NAME", "OutboxLock", "WatchError", "WatchService", "WatchSettings",
           "describe_failure", "display", "watcher_running"]

#: seconds to wait for the observer thread after asking it to stop
OBSERVER_JOIN_TIMEOUT = 10.0


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
    #: convert on Ray workers (``--cluster``/``--workers``); None: in this process, one file at a time
    cluster: ClusterOptions | None = None


class WatchService:
    """One watcher run; :meth:`run` returns the exit code."""

    def __init__(self, settings: WatchSettings, interpolator: Interpolator | None = None,
                 clock: Clock = time.monotonic, actors: list[Any] | None = None) -> None:
        """``interpolator``: use this one instead of creating ``settings.options.backend``.

        ``actors``: with ``settings.cluster``, already started Ray workers to use instead of starting some.

        ``clock``: monotonic seconds for the settle logic (tests pass a fake clock they move by hand).
        """
        self.settings = settings
        self.inbox_path = Path(settings.inbox).resolve()
        self.outbox_path = Path(os.path.abspath(settings.outbox))
        self.clock = clock
        self._stop = threading.Event()
        self._stop_reason = ""
        self._wake = threading.Event()
        self._events: EventQueue = queue.SimpleQueue()
        self._recheck: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self._interpolator: Interpolator | None = interpolator
        self._actors = actors
        self.journal: Journal | None = None
        self.worker: Worker | None = None
        #: the intake loop, once :meth:`run` has started it (tests wait on its passes)
        self.intake: IntakeLoop | None = None
        #: set once the watcher is running (journal open, worker started, observer watching)
        self.started = threading.Event()
        #: True when the worker did not stop within the grace period (the caller should exit hard)
        self.abandoned_worker = False

    # -- control ------------------------------------------------------------------------

    def request_stop(self, reason: str = "stop requested") -> None:
        """Stop soon: the running job is abandoned (temporary removed) and recorded as interrupted."""
        if not self._stop.is_set():
            self._stop_reason = reason
        self._stop.set()
        if self.worker is not None:
            self.worker.cancel()
        self._wake.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop cleanly; a second one leaves at once (after removing the temporary)."""
        def handler(signum: int, frame: object) -> None:
            name = signal.Signals(signum).name
            if self._stop.is_set():
                if self.worker is not None:
                    self.worker.remove_current_temporary()
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

    def _open_journal(self) -> Journal:
        try:
            journal = Journal(self.outbox_path / JOURNAL_NAME)
        except Exception as error:
            raise WatchError(f"{self.outbox_path / JOURNAL_NAME}: cannot open the journal ({error})") from None
        journal.set_meta("max_attempts", str(self.settings.max_attempts))
        journal.set_meta("inbox", str(self.inbox_path))
        return journal

    def _start_observer(self) -> Observer | None:
        try:
            return start_observer(self.inbox_path, self.settings.recursive, self._events)
        except OSError as error:
            # e.g. inotify watch limit reached: polling by rescans still finds everything.
            fallback = max(2.0, self.settings.settle)
            log.info("file system events unavailable (%s); rescanning every %gs instead", error, fallback)
            self.settings.rescan_interval = min(self.settings.rescan_interval, fallback)
            return None

    # -- the run ------------------------------------------------------------------------

    def run(self) -> int:
        self._check_folders()
        lock = OutboxLock(self.outbox_path)
        lock.acquire()
        watch_log = WatchLog(self.outbox_path)
        watch_log.open()
        try:
            return self._run_locked()
        except sqlite3.Error as error:
            raise WatchError(f"{self.outbox_path / JOURNAL_NAME}: journal error ({error})") from None
        finally:
            if self.journal is not None and not self.abandoned_worker:
                self.journal.close()
            watch_log.close()
            lock.release()

    def _run_locked(self) -> int:
        settings = self.settings
        self.journal = journal = self._open_journal()
        self._clean_leftovers()
        for job in journal.recover(self.outbox_path, settings.max_attempts):
            log.info("resuming %s (was %s)", display(job.path), job.state.value)
        worker = self._make_worker(journal)
        try:
            return self._watch(worker)
        finally:
            worker.close()

    def _make_worker(self, journal: Journal) -> Worker:
        """The in-process worker, or (``settings.cluster``) the one that spreads files over Ray workers."""
        settings, options = self.settings, self.settings.options
        if settings.cluster is not None:
            from .cluster_worker import ClusterWorker

            cluster_worker = ClusterWorker(settings, self.inbox_path, self.outbox_path, journal, self._stop,
                                           self._wake, self._recheck, lambda: self._stop_reason, settings.cluster,
                                           self._actors)
            self.worker = cluster_worker
            handlers = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
            try:
                description = cluster_worker.connect()
            except BaseException:
                cluster_worker.close()
                raise
            finally:
                # ray.init installs its own SIGTERM handler (it kills the process at once): put ours back
                if threading.current_thread() is threading.main_thread():
                    for number, handler in handlers.items():
                        if handler is not None:
                            signal.signal(number, handler)
        else:
            if self._interpolator is None:
                self._interpolator = make_interpolator(options.backend, options.device, options.backend_options)
            description = self._interpolator.describe()
            self.worker = Worker(settings, self.inbox_path, self.outbox_path, journal, self._interpolator,
                                 self._stop, self._wake, self._recheck, lambda: self._stop_reason)
        log.info("watching %s -> %s (%s, settle %gs%s)", display(str(self.inbox_path)), display(str(self.outbox_path)),
                 description, settings.settle, ", once" if settings.once else "")
        return self.worker

    def _watch(self, worker: Worker) -> int:
        settings, journal = self.settings, self.journal
        assert journal is not None
        self.intake = IntakeLoop(settings, self._make_inbox(), journal, worker, self._stop, self._wake,
                                 self._events, self._recheck, self.clock)
        worker.start()
        observer = None if settings.once else self._start_observer()
        self.started.set()
        try:
            self.intake.run()
        finally:
            self._stop_threads(worker, observer)
        if worker.error is not None:
            raise WatchError(f"the worker stopped: {describe_failure(worker.error)}")
        if settings.once:
            log.info("processed INBOX%s", f"; {worker.failures} failed" if worker.failures else "")
            return 1 if worker.failures else 0
        log.info("stopped (%s)", self._stop_reason or "finished")
        return 0

    def _stop_threads(self, worker: Worker, observer: Observer | None) -> None:
        """Cancel the running conversion and wait for it; join the observer."""
        if observer is not None:
            observer.stop()
        self.request_stop(self._stop_reason or "finished")
        if not worker.join(self.settings.stop_grace):
            self.abandoned_worker = True
            worker.abandon()
        if observer is not None:
            observer.join(OBSERVER_JOIN_TIMEOUT)
            if observer.is_alive():
                log.warning("the file system observer did not stop within %gs", OBSERVER_JOIN_TIMEOUT)
