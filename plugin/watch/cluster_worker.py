"""The watch folder on Ray workers: every file planned into chunks, all workers kept busy across files.

A :class:`ClusterWorker` replaces the in-process :class:`.worker.Worker` when
``stsr watch`` is given ``--cluster`` or ``--workers``; everything else (intake,
journal, lock, log, signals) is unchanged. It does no conversion work of its own:
the coordinator's pieces do (:func:`check_file`, :func:`plan_file`, one
:class:`ChunkPool` for all files, :func:`join_file`), so the output is the same as
``stsr convert --workers``, frame for frame.

One thread, one loop: while the workers have room the next queued file is planned and
its chunks queued behind the current file's (so the next file's chunks start while
the last ones of the previous file render); finished chunks are journalled; a file
whose chunks are all done is joined, encoded once and renamed into place.

The journal's rules hold per file *and* per chunk: a file is ``running`` from its
planning to its rename; a chunk is ``running`` (its attempt counted) before each
hand-out and ``done`` only after its worker renamed its file and record into place.
After a SIGKILL, the restart finds the finished chunks by their records and renders
only the others; a worker that dies is restarted by Ray and its chunk retried there
(the retried render renames its own complete file: no frame twice).
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stsr.engine import Progress
from stsr.errors import Cancelled

from .journal import JOURNAL_ERROR_PAUSE, ChunkState, Job, Journal
from .logs import log
from .messages import display, rate_text
from .naming import free_output_path, temporary_path
from .worker import IDLE_POLL, Worker, _fsync_file_and_folder

if TYPE_CHECKING:
    from stsr.engine.chunks import Chunk
    from stsr.plugin.cluster.coordinator import ChunkOutcome, ChunkPool, ClusterOptions, PlannedFile

    from .service import WatchSettings

#: the shared folder for chunk files when not told (``--chunk-dir``), one sub-folder per journal row
CHUNKS_FOLDER = ".stsr-chunks"


@dataclass
class _OpenFile:
    """A file between its planning and its rename."""

    job: Job
    planned: PlannedFile
    attempt: str
    started: float
    #: chunk numbers not rendered yet
    pending: set[int]
    done_frames: int
    report: Callable[[Progress], None]
    failed: bool = False
    reused: int = 0
    rendered: list[int] = field(default_factory=list)


class ClusterWorker(Worker):
    """Converts queued files on Ray actors; the same life cycle as :class:`Worker` (start, cancel, join)."""

    def __init__(self, settings: WatchSettings, inbox: Path, outbox: Path, journal: Journal,
                 stop: threading.Event, wake: threading.Event, recheck: queue.SimpleQueue[Path],
                 stop_reason: Callable[[], str], cluster: ClusterOptions, actors: list[Any] | None = None) -> None:
        """``actors``: already started workers to use (tests, a library user); else started by :meth:`connect`."""
        super().__init__(settings, inbox, outbox, journal, None, stop, wake, recheck, stop_reason)
        self.cluster = cluster
        self.chunk_root = cluster.chunk_dir or outbox / CHUNKS_FOLDER
        self._given_actors = actors
        self._actors: list[Any] = list(actors or [])
        self._ray: Any = None
        self._owns_ray = False
        self._open: dict[int, _OpenFile] = {}
        self._pool: ChunkPool | None = None

    # -- lifetime -----------------------------------------------------------------------

    def connect(self) -> str:
        """Start or join Ray, start the actors and wait for their models; what they run (for the log)."""
        from stsr.plugin.cluster.coordinator import ChunkPool, connect, ray_module, start_workers, wait_for_workers

        options = self.settings.options
        self._ray = ray = ray_module()
        self._owns_ray = connect(ray, self.cluster.address, self.cluster.workers)
        if not self._actors:
            self._actors = start_workers(ray, options, self.cluster)
        backend = wait_for_workers(ray, self._actors)
        self._pool = ChunkPool(ray, self._actors, self.cluster.crash_chunk, self._handed_out)
        return f"{backend} on {len(self._actors)} Ray workers"

    def close(self) -> None:
        """After the thread ended: stop the actors this worker started, and Ray if it started it."""
        ray = self._ray
        if ray is None:
            return
        for actor in self._actors if not self._given_actors else []:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        if self._owns_ray:
            ray.shutdown()
        self._ray = None

    def idle(self) -> bool:
        """No file being planned or open, none queued (a claimed file counts from its claim)."""
        with self._lock:
            return self._current is None and not self._open and self.journal.next_queued() is None

    def remove_current_temporary(self) -> None:
        with self._lock:
            targets = [self.outbox / item.job.output for item in self._open.values() if item.job.output]
        for target in targets:
            with contextlib.suppress(OSError):
                temporary_path(target).unlink()

    def abandon(self) -> None:
        """The thread did not stop in time (a join or a planning still running): record its files interrupted."""
        self.remove_current_temporary()
        with self._lock:
            jobs = [item.job for item in self._open.values()]
        for job in jobs:
            with contextlib.suppress(Exception):
                self.journal.interrupt(job.id, self._stop_reason(), refund_attempt=True)
            log.info("interrupted %s (%s); the worker did not stop within %gs", display(job.path),
                     self._stop_reason(), self.settings.stop_grace)

    # -- the thread ---------------------------------------------------------------------

    def _main(self) -> None:
        pool = self._pool
        assert pool is not None, "connect() first"
        try:
            while not self._stop.is_set():
                try:
                    self._open_files_while_there_is_room(pool)
                    for outcome in pool.poll(IDLE_POLL):
                        self._chunk_ended(outcome)
                    for item in [item for item in list(self._open.values()) if not item.pending]:
                        self._join(item)
                    if not pool.busy and not self._open:
                        self._wake.wait(IDLE_POLL)
                        self._wake.clear()
                except sqlite3.Error as error:
                    # The journal cannot be written (a full disk): wait, then go on; the next start settles the rows.
                    log.info("journal error: %s; pausing %gs", error, JOURNAL_ERROR_PAUSE)
                    self._stop.wait(JOURNAL_ERROR_PAUSE)
            self._interrupt_open_files(pool)
        except BaseException as error:  # a bug: stop the watcher and say why
            self.error = error
            log.error("worker error: %s", error, exc_info=error)
            self._stop.set()
            with contextlib.suppress(Exception):
                self._interrupt_open_files(pool)

    def _open_files_while_there_is_room(self, pool: ChunkPool) -> None:
        """Plan queued files while the workers would otherwise run out of chunks (at most one per worker ahead)."""
        while pool.spare() > 0 and len(self._open) <= len(self._actors) and not self._stop.is_set():
            job = self._claim_next()
            if job is None:
                return
            try:
                self._open_file(job, pool)
            finally:
                with self._lock:
                    self._current = None
                    self._job_stop = None

    def _open_file(self, job: Job, pool: ChunkPool) -> None:
        from stsr.engine import target_rate
        from stsr.io.video import probe
        from stsr.plugin.cluster.coordinator import check_file, plan_file

        source = self.inbox / job.path
        if not self._still_the_queued_version(job, source):
            return
        job = self.journal.start(job.id)
        attempt = f"attempt {job.attempts}/{self.settings.max_attempts}"
        started = time.monotonic()
        try:
            options = self.settings.options
            rate = target_rate(probe(source).frame_rate, options.fps, options.times)
            relative_output = free_output_path(self.outbox, job.path, rate)
            target = self.outbox / relative_output
            target.parent.mkdir(parents=True, exist_ok=True)
            self.journal.set_output(job.id, relative_output)
            job = self.journal.get(job.id) or job
            checked = check_file(source, target, options)
            planned = plan_file(checked, self.cluster, self.chunk_root / f"job-{job.id}")
        except sqlite3.Error:
            raise
        except Exception as error:
            if self._stop.is_set():
                self._record_interrupted(job)
            else:
                self._record_failure(job, attempt, error)
            return
        pending = self._settle_chunk_rows(job, planned)
        plan = planned.plan
        item = _OpenFile(job, planned, attempt, started, pending,
                         sum(chunk.count for chunk in plan.chunks if chunk.number not in pending),
                         self._progress_logger(job), reused=len(plan.chunks) - len(pending))
        with self._lock:
            self._open[job.id] = item
        log.info("started %s -> %s (%s): %d chunks of about %d frames, %d already done", display(job.path),
                 display(relative_output), attempt, len(plan.chunks), self.cluster.chunk_frames, item.reused)
        pool.add(planned, [chunk for chunk in plan.chunks if chunk.number in pending])

    def _settle_chunk_rows(self, job: Job, planned: PlannedFile) -> set[int]:
        """Journal the plan's chunks; the ones whose records show them finished are done; the rest to render."""
        from stsr.plugin.cluster.render import chunk_path, load_record

        plan = planned.plan
        rows = {row.number: row for row in self.journal.plan_chunks(
            job.id, planned.plan_id, [(chunk.first, chunk.stop) for chunk in plan.chunks])}
        finished = {chunk.number for chunk in planned.finished}
        for number in finished:
            record = load_record(planned.folder, number) or {}
            row = rows[number]
            if row.state is not ChunkState.DONE or row.checksum != record.get("sha256"):
                self.journal.chunk_done(job.id, number, str(chunk_path(planned.folder, number)),
                                        str(record.get("sha256")), record.get("worker"), record.get("seconds"))
        for number, row in rows.items():
            if number not in finished and row.state is not ChunkState.QUEUED:
                self.journal.chunk_queued(job.id, number)  # journalled done, but its file is gone or wrong
        return {chunk.number for chunk in plan.chunks if chunk.number not in finished}

    def _handed_out(self, planned: PlannedFile, chunk: Chunk) -> None:
        item = self._item_of(planned)
        if item is not None:
            self.journal.chunk_started(item.job.id, chunk.number)

    def _item_of(self, planned: PlannedFile) -> _OpenFile | None:
        return next((item for item in self._open.values() if item.planned is planned), None)

    def _chunk_ended(self, outcome: ChunkOutcome) -> None:
        item = self._item_of(outcome.planned)
        if item is None or item.failed:
            return  # a render of a file already failed or stopped
        if outcome.error is not None:
            self._fail(item, outcome.error)
            return
        result = outcome.result
        assert result is not None
        self.journal.chunk_done(item.job.id, outcome.chunk.number, result.path, result.sha256, result.worker,
                                result.seconds)
        item.pending.discard(outcome.chunk.number)
        item.rendered.append(outcome.chunk.number)
        item.done_frames += result.frames
        item.report(Progress(item.done_frames, item.planned.plan.total, time.monotonic() - item.started))

    def _join(self, item: _OpenFile) -> None:
        from stsr.plugin.cluster.coordinator import join_file

        job, planned = item.job, item.planned
        try:
            written = join_file(planned, lambda chunk: self._render_again(item, chunk), self._stop)
            _fsync_file_and_folder(planned.target)
        except sqlite3.Error:
            raise
        except Exception as error:
            if self._stop.is_set():
                return  # left open: interrupted with the others
            self._fail(item, error)
            return
        with self._lock:
            del self._open[job.id]
        seconds = time.monotonic() - item.started
        self.journal.finish(job.id, written, written / seconds if seconds > 0 else 0.0, seconds)
        if not self.cluster.keep_chunks:
            shutil.rmtree(planned.folder, ignore_errors=True)
        log.info("done %s -> %s: %d frames at %s fps, %d chunks (%d rendered, %d reused), %.1f s", display(job.path),
                 display(str(planned.target.relative_to(self.outbox))), written, rate_text(planned.plan.rate),
                 len(planned.plan.chunks), len(item.rendered), item.reused, seconds)

    def _render_again(self, item: _OpenFile, chunk: Chunk) -> None:
        """A chunk whose file failed the join's checks: render it once more, other files' chunks going on."""
        pool = self._pool
        assert pool is not None
        self.journal.chunk_queued(item.job.id, chunk.number)
        item.pending.add(chunk.number)
        pool.add(item.planned, [chunk])
        while chunk.number in item.pending and not item.failed:
            if self._stop.is_set():
                raise Cancelled(f"{item.planned.source}: conversion cancelled")  # recorded as interrupted
            for outcome in pool.poll(IDLE_POLL):
                self._chunk_ended(outcome)
        if item.failed:
            raise RuntimeError(f"chunk {chunk.number} failed again")

    def _fail(self, item: _OpenFile, error: BaseException) -> None:
        assert self._pool is not None
        item.failed = True
        self._pool.drop(item.planned)
        self._requeue_unfinished_chunks(item)
        with self._lock:
            self._open.pop(item.job.id, None)
        self._record_failure(item.job, item.attempt, error if isinstance(error, Exception) else RuntimeError(error))

    def _requeue_unfinished_chunks(self, item: _OpenFile) -> None:
        for row in self.journal.chunks(item.job.id):
            if row.state is ChunkState.RUNNING:
                self.journal.chunk_queued(item.job.id, row.number)

    def _interrupt_open_files(self, pool: ChunkPool) -> None:
        """A stop: cancel the renders, put the files back (no attempt lost) and their unfinished chunks."""
        pool.cancel()
        with self._lock:
            items = list(self._open.values())
            self._open.clear()
        for item in items:
            self._requeue_unfinished_chunks(item)
            self._record_interrupted(item.job)
