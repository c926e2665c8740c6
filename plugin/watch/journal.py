"""The watch folder's memory: one SQLite row per input file version, in OUTBOX.

Every state change is committed before the work it describes starts or right
after it ends (WAL, ``synchronous=FULL``), so a crash, a ``kill -9`` or a power
cut leaves a journal that says exactly what to redo: ``running`` rows become
``interrupted`` and run again, ``done`` rows are never redone, ``failed`` rows are
retried until ``max_attempts``.

A file version is identified by its path relative to INBOX, its size, and a hash
of its first and last MiB (cheap even for large episodes); the modification time
is stored too so a periodic rescan can recognise known files without hashing.
Paths are stored as bytes, so names that are not valid UTF-8 survive.

On a cluster (``stsr watch --cluster``) each file's chunks have rows too (plan,
state, attempts, chunk file, checksum), written by the same rules: ``running`` is
committed before a chunk is handed out, ``done`` only after its file and record
were renamed into place. A restart turns ``running`` chunks back into ``queued``;
a ``done`` chunk is reused only when its record in the shared folder still agrees
(the file system is the proof, the journal says what to look for), so nothing
finished is rendered twice and nothing half-written is ever joined.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

JOURNAL_NAME = ".stsr-watch.db"
#: seconds the watcher waits after the journal could not be written (full disk) before trying again
JOURNAL_ERROR_PAUSE = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    retry_at REAL,
    output BLOB,
    seq INTEGER NOT NULL,
    queued_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    frames INTEGER,
    fps REAL,
    seconds REAL,
    UNIQUE (path, size, content_hash)
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
CREATE INDEX IF NOT EXISTS jobs_by_stat ON jobs (path, size, mtime_ns);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    job_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    plan TEXT NOT NULL,
    first INTEGER NOT NULL,
    stop INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    output BLOB,
    checksum TEXT,
    worker TEXT,
    seconds REAL,
    PRIMARY KEY (job_id, number)
);
"""


class ChunkState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True)
class ChunkRow:
    """One chunk of a file converted on a cluster."""

    job_id: int
    number: int
    plan: str
    first: int
    stop: int
    state: ChunkState
    attempts: int
    #: the chunk file (absolute path in the shared folder), once done
    output: str | None
    #: SHA-256 of the chunk's frames as handed to the encoder, once done
    checksum: str | None
    worker: str | None
    seconds: float | None


_CHUNK_COLUMNS = "job_id, number, plan, first, stop, state, attempts, output, checksum, worker, seconds"


def _chunk(row: tuple) -> ChunkRow:
    job_id, number, plan, first, stop, state, attempts, output, checksum, worker, seconds = row
    return ChunkRow(job_id, number, plan, first, stop, ChunkState(state), attempts, _from_blob(output), checksum,
                    worker, seconds)


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Job:
    """One row of the journal."""

    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str
    state: JobState
    attempts: int
    error: str | None
    #: None for a failure that must not be retried (file vanished or changed)
    retry_at: float | None
    output: str | None
    queued_at: float
    started_at: float | None
    finished_at: float | None
    frames: int | None
    fps: float | None
    seconds: float | None

    def gave_up(self, max_attempts: int) -> bool:
        """A failed job that will not be tried again (until the file changes)."""
        return self.state is JobState.FAILED and (self.retry_at is None or self.attempts >= max_attempts)


_COLUMNS = ("id, path, size, mtime_ns, content_hash, state, attempts, error, retry_at, output, queued_at, "
            "started_at, finished_at, frames, fps, seconds")


def _to_blob(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def _from_blob(blob: bytes | str | None) -> str | None:
    if blob is None:
        return None
    return blob if isinstance(blob, str) else os.fsdecode(bytes(blob))


def _job(row: tuple) -> Job:
    (job_id, path, size, mtime_ns, content_hash, state, attempts, error, retry_at, output, queued_at,
     started_at, finished_at, frames, fps, seconds) = row
    return Job(job_id, _from_blob(path) or "", size, mtime_ns, content_hash, JobState(state), attempts, error,
               retry_at, _from_blob(output), queued_at, started_at, finished_at, frames, fps, seconds)


class Journal:
    """Thread-safe access to the journal database (one connection behind a lock)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a "done" that was reported is on disk, so a power cut never causes a redo.
        self._db.execute("PRAGMA synchronous=FULL")
        # Keep the WAL file small: the journal sees a few writes per converted file.
        self._db.execute("PRAGMA wal_autocheckpoint=64")
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_folder(cls, outbox: str | os.PathLike[str]) -> Journal:
        return cls(Path(outbox) / JOURNAL_NAME)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, parameters: tuple = ()) -> Job | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs {sql}", parameters).fetchone()
        return _job(row) if row else None

    def _all(self, sql: str = "", parameters: tuple = ()) -> list[Job]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM jobs {sql}", parameters).fetchall()
        return [_job(row) for row in rows]

    # -- settings shown by ``--status`` -------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    # -- lookups ------------------------------------------------------------------------

    def get(self, job_id: int) -> Job | None:
        return self._one("WHERE id = ?", (job_id,))

    def find_by_stat(self, path: str, size: int, mtime_ns: int) -> Job | None:
        """The version of ``path`` with this size and mtime (no hashing needed)."""
        return self._one("WHERE path = ? AND size = ? AND mtime_ns = ? ORDER BY id DESC LIMIT 1",
                         (_to_blob(path), size, mtime_ns))

    def find_by_content(self, path: str, size: int, content_hash: str) -> Job | None:
        return self._one("WHERE path = ? AND size = ? AND content_hash = ?", (_to_blob(path), size, content_hash))

    def jobs(self) -> list[Job]:
        return self._all("ORDER BY seq, id")

    def in_state(self, state: JobState) -> list[Job]:
        return self._all("WHERE state = ? ORDER BY seq, id", (state.value,))

    def next_queued(self) -> Job | None:
        """The oldest queued job: arrival order."""
        return self._one("WHERE state = ? ORDER BY seq, id LIMIT 1", (JobState.QUEUED.value,))

    def outputs(self) -> set[str]:
        with self._lock:
            rows = self._db.execute("SELECT output FROM jobs WHERE output IS NOT NULL").fetchall()
        return {_from_blob(row[0]) or "" for row in rows}

    def counts(self) -> dict[JobState, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        counts = dict.fromkeys(JobState, 0)
        for state, count in rows:
            counts[JobState(state)] = count
        return counts

    # -- state changes ------------------------------------------------------------------

    def _next_seq(self, db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0])

    def add(self, path: str, size: int, mtime_ns: int, content_hash: str) -> Job:
        """Queue a new file version (at the back)."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO jobs (path, size, mtime_ns, content_hash, state, seq, queued_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_to_blob(path), size, mtime_ns, content_hash, JobState.QUEUED.value, self._next_seq(db), time.time()),
            )
            job_id = cursor.lastrowid
        job = self.get(int(job_id or 0))
        assert job is not None
        return job

    def touch(self, job_id: int, mtime_ns: int) -> None:
        """Same content, new modification time (``touch``): remember it to skip hashing next time."""
        with self._lock:
            self._db.execute("UPDATE jobs SET mtime_ns = ? WHERE id = ?", (mtime_ns, job_id))

    def start(self, job_id: int) -> Job:
        """Mark running and count the attempt *before* the work, so a crash counts too."""
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, attempts = attempts + 1, output = NULL, started_at = ?, error = NULL "
                "WHERE id = ?",
                (JobState.RUNNING.value, time.time(), job_id),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def set_output(self, job_id: int, output: str) -> None:
        """The output path (relative to OUTBOX), recorded before anything is written."""
        with self._lock:
            self._db.execute("UPDATE jobs SET output = ? WHERE id = ?", (_to_blob(output), job_id))

    def finish(self, job_id: int, frames: int, fps: float, seconds: float, note: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, finished_at = ?, frames = ?, fps = ?, seconds = ?, error = ? WHERE id = ?",
                (JobState.DONE.value, time.time(), frames, fps, seconds, note, job_id),
            )

    def fail(self, job_id: int, error: str, retry_at: float | None) -> None:
        """Record a failure; ``retry_at=None`` means never retry this version."""
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, finished_at = ?, error = ?, retry_at = ? WHERE id = ?",
                (JobState.FAILED.value, time.time(), error, retry_at, job_id),
            )

    def interrupt(self, job_id: int, reason: str, refund_attempt: bool) -> None:
        """A stop request (not the file's fault) gives the attempt back; a crash does not. Only for a running job."""
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, error = ?, attempts = MAX(0, attempts - ?) WHERE id = ? AND state = ?",
                (JobState.INTERRUPTED.value, reason, 1 if refund_attempt else 0, job_id, JobState.RUNNING.value),
            )

    def recover(self, outbox: str | os.PathLike[str], max_attempts: int) -> list[Job]:
        """After a start: settle what the previous run left behind; return the jobs that changed.

        * ``running``: the process died mid-job. If its output exists, the rename
          (the last step, done only for a complete file) happened before the
          crash, so the job is done; otherwise it is ``interrupted``.
        * ``interrupted`` -> ``queued`` in its old place (it arrived first).
        * ``failed`` with attempts left -> ``queued`` at the back (each start is a retry).
        """
        outbox = Path(outbox)
        changed: list[Job] = []
        with self._transaction() as db:
            for job in self.in_state(JobState.RUNNING):
                if job.output and (outbox / job.output).is_file():
                    db.execute("UPDATE jobs SET state = ?, finished_at = ?, error = ? WHERE id = ?",
                               (JobState.DONE.value, time.time(), "output found complete after a restart", job.id))
                else:
                    db.execute("UPDATE jobs SET state = ?, error = ? WHERE id = ?",
                               (JobState.INTERRUPTED.value, "the previous run stopped during this job", job.id))
                changed.append(job)
            for job in self.in_state(JobState.INTERRUPTED):
                db.execute("UPDATE jobs SET state = ? WHERE id = ?", (JobState.QUEUED.value, job.id))
                changed.append(job)
            for job in self.in_state(JobState.FAILED):
                if job.retry_at is not None and job.attempts < max_attempts:
                    db.execute("UPDATE jobs SET state = ?, seq = ? WHERE id = ?",
                               (JobState.QUEUED.value, self._next_seq(db), job.id))
                    changed.append(job)
            db.execute("UPDATE chunks SET state = ? WHERE state = ?", (ChunkState.QUEUED.value,
                                                                        ChunkState.RUNNING.value))
        return changed

    def forget(self, job_id: int) -> None:
        """Drop a queued row whose file vanished or changed before its turn (a new version gets its own row)."""
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ? AND state = ?", (job_id, JobState.QUEUED.value))

    def requeue_due(self, now: float, max_attempts: int) -> list[Job]:
        """Failed jobs whose retry time has come go to the back of the queue."""
        due = [job for job in self.in_state(JobState.FAILED)
               if job.retry_at is not None and job.retry_at <= now and job.attempts < max_attempts]
        with self._transaction() as db:
            for job in due:
                db.execute("UPDATE jobs SET state = ?, seq = ? WHERE id = ? AND state = ?",
                           (JobState.QUEUED.value, self._next_seq(db), job.id, JobState.FAILED.value))
        return due

    def next_retry_time(self, max_attempts: int) -> float | None:
        times = [job.retry_at for job in self.in_state(JobState.FAILED)
                 if job.retry_at is not None and job.attempts < max_attempts]
        return min(times) if times else None

    # -- chunks (``stsr watch --cluster``) ------------------------------------------------

    def chunks(self, job_id: int) -> list[ChunkRow]:
        with self._lock:
            rows = self._db.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE job_id = ? ORDER BY number",
                                    (job_id,)).fetchall()
        return [_chunk(row) for row in rows]

    def chunk_progress(self) -> dict[int, tuple[int, int]]:
        """(chunks done, chunks planned) of every file that has chunk rows."""
        with self._lock:
            rows = self._db.execute("SELECT job_id, SUM(state = ?), COUNT(*) FROM chunks GROUP BY job_id",
                                    (ChunkState.DONE.value,)).fetchall()
        return {job_id: (int(done), int(total)) for job_id, done, total in rows}

    def plan_chunks(self, job_id: int, plan: str, spans: list[tuple[int, int]]) -> list[ChunkRow]:
        """Record a file's chunks (``(first, stop)`` output frames each). Rows of the same plan are kept as
        they are (a restart); rows of another plan (the options changed) are replaced."""
        with self._transaction() as db:
            kept = db.execute("SELECT COUNT(*) FROM chunks WHERE job_id = ? AND plan = ?",
                              (job_id, plan)).fetchone()[0]
            if kept != len(spans):
                db.execute("DELETE FROM chunks WHERE job_id = ?", (job_id,))
                db.executemany("INSERT INTO chunks (job_id, number, plan, first, stop, state) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
                               [(job_id, number, plan, first, stop, ChunkState.QUEUED.value)
                                for number, (first, stop) in enumerate(spans)])
        return self.chunks(job_id)

    def chunk_started(self, job_id: int, number: int) -> None:
        """Mark a chunk running and count the attempt before it is handed to a worker."""
        with self._lock:
            self._db.execute("UPDATE chunks SET state = ?, attempts = attempts + 1 WHERE job_id = ? AND number = ?",
                             (ChunkState.RUNNING.value, job_id, number))

    def chunk_done(self, job_id: int, number: int, output: str, checksum: str, worker: str | None,
                   seconds: float | None) -> None:
        """A chunk whose file and record are in place (renamed by its worker, or found by a restart)."""
        with self._lock:
            self._db.execute("UPDATE chunks SET state = ?, output = ?, checksum = ?, worker = ?, seconds = ? "
                             "WHERE job_id = ? AND number = ?",
                             (ChunkState.DONE.value, _to_blob(output), checksum, worker, seconds, job_id, number))

    def chunk_queued(self, job_id: int, number: int) -> None:
        """Back to the queue: its render was cut short (a stop) or its file failed the join's checks."""
        with self._lock:
            self._db.execute("UPDATE chunks SET state = ?, output = NULL, checksum = NULL WHERE job_id = ? "
                             "AND number = ?", (ChunkState.QUEUED.value, job_id, number))
