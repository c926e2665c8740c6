"""The intake loop: find new files in INBOX, wait until each is complete, record it in the journal.

It runs on the service's main thread and owns every intake decision: the
observer only reports paths, the worker only converts what the journal holds.
Each pass drains the reported paths, takes the files that have settled, re-queues
failed files whose retry time has come and rescans INBOX now and then (for events
the OS did not deliver). Time comes from an injected clock (monotonic seconds),
so tests can move it instead of sleeping past the settle period, and every
finished pass is announced (:meth:`IntakeLoop.wait_for_pass`), so they can wait
for the loop to have looked instead of guessing how long that takes.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stsr.errors import StsrError
from stsr.io.video import probe

from .events import EventQueue
from .intake import Inbox, StabilityTracker, content_hash, files_open_for_writing, signature
from .journal import JOURNAL_ERROR_PAUSE, Journal
from .logs import log
from .messages import display, size_text
from .worker import Worker

if TYPE_CHECKING:
    from .service import WatchSettings

Clock = Callable[[], float]


class IntakeLoop:
    """One watcher's intake; :meth:`run` returns when ``stop`` is set, the worker dies, or (``once``) all is done."""

    def __init__(self, settings: WatchSettings, inbox: Inbox, journal: Journal, worker: Worker,
                 stop: threading.Event, wake: threading.Event, events: EventQueue,
                 recheck: queue.SimpleQueue[Path], clock: Clock = time.monotonic) -> None:
        """``wake`` is set for the worker whenever something is queued; ``events`` and ``recheck`` feed paths in."""
        self.settings = settings
        self.inbox = inbox
        self.journal = journal
        self.worker = worker
        self.clock = clock
        self._stop = stop
        self._wake = wake
        self._events = events
        self._recheck = recheck
        self.tracker = StabilityTracker(settings.settle, clock)
        #: real seconds between passes (how often to look, not how long files must settle)
        self.poll = min(0.5, max(0.05, settings.settle / 4))
        self._passes = 0
        self._pending: list[Path] = []
        self._pass_done = threading.Condition()

    # -- watching it from another thread ---------------------------------------------------

    def wait_for_pass(self, timeout: float = 60.0) -> bool:
        """Wait until a whole pass has run that began after this call; False on timeout (an upper bound only)."""
        with self._pass_done:
            # The pass running now may have begun before the call: wait for the one after it.
            wanted = self._passes + 2
            return self._pass_done.wait_for(lambda: self._passes >= wanted, timeout)

    def pending(self) -> list[Path]:
        """Files seen but not yet taken, as of the last finished pass."""
        with self._pass_done:
            return list(self._pending)

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> None:
        settings = self.settings
        started = self.clock()
        # In --once mode, a file still changing after three settle periods is left for the next run.
        self._once_deadline = started + 3 * settings.settle + 2 * self.poll + 1.0
        for path in self.inbox.scan():
            self._notice(path)
        self._next_rescan = started + settings.rescan_interval
        while not self._stop.is_set():
            finished = self._one_pass()
            with self._pass_done:
                self._passes += 1
                self._pending = self.tracker.paths()
                self._pass_done.notify_all()
            if finished:
                break
            self._stop.wait(self.poll)

    def _one_pass(self) -> bool:
        """Look once; True when the loop should end."""
        settings = self.settings
        now = self.clock()
        try:
            self._drain_paths()
            ready = self.tracker.ready(now)
            if ready:
                busy = files_open_for_writing(ready)
                for path in ready:
                    self._take(path, path in busy, now)
            if not settings.once:
                for job in self.journal.requeue_due(time.time(), settings.max_attempts):
                    log.info("retrying %s (attempt %d/%d)", display(job.path), job.attempts + 1,
                             settings.max_attempts)
                    self._wake.set()
                if now >= self._next_rescan:
                    for path in self.inbox.scan():
                        self._notice(path)
                    self._next_rescan = now + settings.rescan_interval
        except sqlite3.Error as error:
            # A file whose row could not be written is found again by the next rescan.
            log.info("journal error: %s; pausing %gs", error, JOURNAL_ERROR_PAUSE)
            self._next_rescan = now + JOURNAL_ERROR_PAUSE
            self._stop.wait(JOURNAL_ERROR_PAUSE)
            return False
        if settings.once:
            if now > self._once_deadline:
                for path in self.tracker.paths():
                    log.info("skipped %s: still being written; left for the next run",
                             display(self.inbox.relative(path) or str(path)))
                    self.tracker.forget(path)
            # Idle first: a finished job may just have asked for a file to be looked at again.
            if self.worker.idle() and self._recheck.empty() and len(self.tracker) == 0:
                return True
        return not self.worker.is_alive()

    def _drain_paths(self) -> None:
        while True:
            try:
                kind, path = self._events.get_nowait()
            except queue.Empty:
                break
            if kind == "dir":
                for found in self.inbox.scan(path):
                    self._notice(found)
            else:
                self._notice(path)
        while True:
            try:
                path = self._recheck.get_nowait()
            except queue.Empty:
                break
            self._notice(path)

    def _notice(self, path: Path) -> None:
        """Track a candidate unless the journal already knows this exact version (no hashing)."""
        if path in self.tracker:
            return
        relative = self.inbox.relative(path)
        current = signature(path)
        if relative is None or current is None:
            return
        if self.journal.find_by_stat(relative, current.size, current.mtime_ns) is not None:
            return
        self.tracker.notice(path)

    def _take(self, path: Path, busy: bool, now: float) -> None:
        """A settled file: queue it if it is new and looks complete."""
        journal, tracker = self.journal, self.tracker
        relative = self.inbox.relative(path)
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
        log.info("queued %s (%s)", display(relative), size_text(current.size))
        self._wake.set()
