"""The coordinator: plan the input into chunks, keep every worker busy, join and encode once.

``convert_on_cluster`` is ``stsr convert`` spread over Ray actors (one per GPU, or
per N CPU threads on a CPU-only cluster). Its pieces serve the watch folder on a
cluster too (:mod:`stsr.plugin.watch.cluster_worker`): :func:`check_file` and
:func:`plan_file` per input, one :class:`ChunkPool` fed the chunks of any number of
files, :func:`join_file` per finished file. Chunks already finished in the shared
folder by an earlier run of the same plan (a killed coordinator) are reused, not
rendered again; a worker that dies is restarted by Ray and its chunk retried there
(see :mod:`.actors`); a chunk whose file fails the join's checks is rendered again
once.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from stsr.engine.chunks import Chunk, ChunkPlan, plan_chunks, scan_source
from stsr.engine.convert import ConvertOptions, ConvertResult
from stsr.engine.rates import target_rate
from stsr.errors import Cancelled, InputError, StsrError
from stsr.io.encode import EncoderInput
from stsr.io.video import AtomicOutput, probe
from stsr.schedules import SCHEDULES

from .actors import remote_worker_class
from .join import OutputSettings, check_record, join_chunks, output_settings
from .render import ChunkError, ChunkJob, ChunkResult, chunk_path, record_path

log = logging.getLogger(__name__)

#: output frames per chunk by default: about 10 s at 59.94 fps, a few seconds of work per GPU
DEFAULT_CHUNK_FRAMES = 600
#: CPU threads per worker on a node without GPUs when not told
DEFAULT_WORKER_THREADS = 4
#: chunks queued on one actor beyond the one it renders (hides the round trip)
QUEUED_PER_WORKER = 1
#: a chunk whose worker kept dying through all of Ray's retries is handed out again this often
COORDINATOR_ATTEMPTS = 2


class ClusterUnavailable(StsrError):
    """Ray is not installed (or the cluster cannot be reached)."""


def ray_module() -> Any:
    """Import Ray on demand: nothing else in stsr imports it."""
    try:
        import ray
    except ImportError:
        raise ClusterUnavailable("Ray is not installed (pip install 'stsr[cluster]')") from None
    return ray


@dataclass
class ClusterOptions:
    """How to spread a conversion: workers, cluster address, chunk size, the shared folder."""

    #: number of workers (actors); None: one per GPU of the cluster, else its CPUs / ``worker_threads``
    workers: int | None = None
    #: None: a local Ray started here; "auto" or "host:port": join that cluster
    address: str | None = None
    chunk_frames: int = DEFAULT_CHUNK_FRAMES
    #: the shared folder for chunk files (every node must see it at this path); default beside the output
    chunk_dir: Path | None = None
    #: CPU threads per worker when workers run on CPUs
    worker_threads: int | None = None
    #: move chunk boundaries to scene cuts within half a chunk
    prefer_cuts: bool = True
    #: keep the chunk files after a successful join (they are removed otherwise)
    keep_chunks: bool = False
    #: tests only: the first render of this chunk kills its worker process once
    crash_chunk: int | None = None


@dataclass
class ClusterProgress:
    """Progress over all chunks, and what just happened (a line for the status display)."""

    done: int
    total: int
    chunks_done: int
    chunks_total: int
    elapsed: float
    event: str = ""

    @property
    def fps(self) -> float:
        """Frames per second over all workers together."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class ClusterResult(ConvertResult):
    """:class:`ConvertResult` plus where the time went."""

    chunks: int = 0
    rendered: int = 0
    reused: int = 0
    workers: int = 0
    #: starting or joining Ray and starting the actors (model loading overlaps the planning)
    startup_seconds: float = 0.0
    planning_seconds: float = 0.0
    #: waiting after the planning for the workers to finish loading their models
    waiting_seconds: float = 0.0
    rendering_seconds: float = 0.0
    joining_seconds: float = 0.0
    worker_status: dict[str, str] = field(default_factory=dict)
    #: the final encode, e.g. "libx264, yuv420p, crf 18, preset medium"
    encode_settings: str = ""
    #: (output frames, seconds) of every chunk rendered by this run, as its worker measured it
    chunk_costs: list[tuple[int, float]] = field(default_factory=list)


def default_chunk_dir(target: Path) -> Path:
    return target.parent / f".{target.name}.stsr-chunks"


def connect(ray: Any, address: str | None, workers: int | None) -> bool:
    """Start or join Ray; True when this call started it (and so must shut it down)."""
    if ray.is_initialized():
        return False
    try:
        if address is None:
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ClusterUnavailable(f"cannot reach the Ray cluster {address or '(local)'}: {error}") from None
    return True


def start_workers(ray: Any, options: ConvertOptions, cluster: ClusterOptions) -> list[Any]:
    """One actor per GPU (device not cpu and the cluster has GPUs), else one per ``worker_threads`` CPUs."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if options.device != "cpu" else 0
    cpus = float(resources.get("CPU", 1))
    worker_class = remote_worker_class(ray)
    if gpus:
        count = cluster.workers or gpus
        actor_options: dict[str, Any] = {"num_gpus": 1 if count <= gpus else gpus / count, "num_cpus": 0}
        threads = None
    else:
        per_worker = cluster.worker_threads or DEFAULT_WORKER_THREADS
        count = cluster.workers or max(1, int(cpus // per_worker))
        share = min(float(per_worker), cpus / count)
        actor_options = {"num_cpus": share if share < 1 else math.floor(share)}
        threads = max(1, math.floor(share))
    return [worker_class.options(**actor_options).remote(options.backend, options.device,  # type: ignore[arg-type]
                                                        dict(options.backend_options), threads)
            for _ in range(count)]


def wait_for_workers(ray: Any, workers: list[Any]) -> str:
    """Block until every worker has loaded its model; the backend's description. A worker that cannot start
    (unknown backend, missing weights) fails here with its own one-line reason."""
    try:
        descriptions = ray.get([worker.backend.remote() for worker in workers])
    except ray.exceptions.RayActorError as error:
        cause = getattr(error, "cause", None) or getattr(error, "error_msg", None) or error
        lines = [line for line in str(cause).splitlines() if line.strip()]
        raise StsrError(f"a worker could not start: {lines[-1] if lines else type(error).__name__}") from None
    return str(descriptions[0])


@dataclass
class PlannedFile:
    """One input planned into chunks, with its final encode decided: what a join needs, whatever dispatched it."""

    source: Path
    target: Path
    options: ConvertOptions
    output: OutputSettings
    plan: ChunkPlan
    plan_id: str
    #: the chunk files' folder (shared by every node)
    folder: Path
    #: chunks already finished in ``folder`` by an earlier run of the same plan (not rendered again)
    finished: list[Chunk]
    #: the final encoder's input conversion: workers store its frames, the join feeds them on unchanged
    encoder: EncoderInput | None = None

    @property
    def to_render(self) -> list[Chunk]:
        done = {chunk.number for chunk in self.finished}
        return [chunk for chunk in self.plan.chunks if chunk.number not in done]

    def job(self, chunk: Chunk, crash_chunk: int | None = None) -> ChunkJob:
        plan = self.plan
        return ChunkJob(str(self.source), plan.scan.height, plan.rate, plan.schedule, plan.origin, self.plan_id,
                        chunk, plan.entries_for(chunk), len(plan.scan.entries), str(self.folder), plan.scan.deep,
                        plan.scan.even, crash_chunk, self.encoder)


@dataclass(frozen=True)
class CheckedFile:
    """An input and output checked before any work (the same refusals as a single-process ``convert``)."""

    source: Path
    target: Path
    options: ConvertOptions
    output: OutputSettings
    rate: Fraction


def check_file(source: str | os.PathLike[str], target: str | os.PathLike[str],
               options: ConvertOptions) -> CheckedFile:
    """Refuse a bad mode, an output over its input, an existing target and every output problem, up front."""
    if options.schedule not in SCHEDULES:
        raise InputError(f"unknown mode {options.schedule!r} (choose from {', '.join(SCHEDULES)})")
    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise InputError(f"{target}: output would overwrite the input")
    AtomicOutput(target, options.overwrite)  # a target that exists or cannot be written fails here
    info = probe(source)
    output = output_settings(source, target, info, options)
    for note in output.notes:
        log.warning("%s", note)
    return CheckedFile(source, target, options, output, target_rate(info.frame_rate, options.fps, options.times))


def plan_file(checked: CheckedFile, cluster: ClusterOptions, folder: Path | None = None) -> PlannedFile:
    """Read the whole input once (times, cuts) and split its output into chunks; find chunks already done."""
    options = checked.options
    scan = scan_source(checked.source, options.height, options.scene_detect, deep=checked.output.deep, even=False)
    plan = plan_chunks(scan, checked.rate, options.schedule, cluster.chunk_frames, cluster.prefer_cuts)
    encoder = EncoderInput(checked.output.settings, checked.output.info.color, plan.scan.frame_width,
                           plan.scan.frame_height)
    plan_id = plan.identity(f"{options.backend}|{sorted(options.backend_options.items())}|{options.device}|"
                            f"{checked.output.settings.describe()}|{encoder.matrix}|{encoder.range}")
    folder = folder or cluster.chunk_dir or default_chunk_dir(checked.target)
    folder.mkdir(parents=True, exist_ok=True)
    finished = [chunk for chunk in plan.chunks if check_record(plan, plan_id, folder, chunk)]
    return PlannedFile(checked.source, checked.target, options, checked.output, plan, plan_id, folder, finished,
                       encoder)


def remove_chunk(folder: Path, number: int) -> None:
    """A chunk's file and record, so that it is rendered again."""
    for path in (chunk_path(folder, number), record_path(folder, number)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_dead_temporaries(folder: Path) -> None:
    """Renders whose worker died before its rename (a retried render renamed its own file)."""
    for leftover in folder.glob(".chunk-*.tmp.*"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def join_file(planned: PlannedFile, render_again: Callable[[Chunk], None], stop: threading.Event) -> int:
    """Check every chunk against the plan, encode the target once and rename it into place; frames written.

    A chunk whose file fails the checks is removed and ``render_again`` (blocking) renders it once more."""
    remove_dead_temporaries(planned.folder)
    for attempt in range(2):
        atomic = AtomicOutput(planned.target, planned.options.overwrite)
        try:
            with atomic:
                written = join_chunks(planned.plan, planned.plan_id, planned.folder, atomic.temporary,
                                      planned.target, planned.output, planned.source)
                if stop.is_set():
                    raise Cancelled(f"{planned.source}: conversion cancelled")
                atomic.commit()
            return written
        except ChunkError as error:
            if error.chunk is None or attempt == 1:
                raise
            log.warning("%s; rendering it again", error)
            remove_chunk(planned.folder, error.chunk)
            render_again(planned.plan.chunks[error.chunk])
    raise AssertionError("unreachable")


def convert_on_cluster(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    options: ConvertOptions | None = None,
    cluster: ClusterOptions | None = None,
    progress: Callable[[ClusterProgress], None] | None = None,
    stop: threading.Event | None = None,
    actors: list[Any] | None = None,
) -> ClusterResult:
    """``convert`` with the model work split into chunks over Ray workers; the same output frames.

    ``actors`` are already started workers (:func:`start_workers`) to use instead of starting
    new ones: a library user (or a watch folder) keeps their models loaded across files."""
    options = options or ConvertOptions()
    cluster = cluster or ClusterOptions()
    checked = check_file(source, target, options)  # every problem refused before any work
    stop = stop or threading.Event()
    ray = ray_module()
    started = time.monotonic()
    owned = connect(ray, cluster.address, cluster.workers)
    workers: list[Any] = list(actors or [])
    try:
        if not workers:  # they load their models while the input is planned
            workers = start_workers(ray, options, cluster)
        connected = time.monotonic()
        planned = plan_file(checked, cluster)
        plan = planned.plan
        planning_done = time.monotonic()
        backend = wait_for_workers(ray, workers)
        ready = time.monotonic()
        finished = planned.finished
        if progress is not None:
            progress(ClusterProgress(sum(c.count for c in finished), plan.total, len(finished), len(plan.chunks),
                                     planning_done - started, f"plan: {len(plan.chunks)} chunks of about "
                                     f"{cluster.chunk_frames} frames, {plan.total} output frames, "
                                     f"{len(workers)} workers, {len(finished)} chunks already done"))
        pool = ChunkPool(ray, workers, cluster.crash_chunk)
        tracker = _FileProgress(planned, progress, started, sum(c.count for c in finished), len(finished))

        def render(chunks: list[Chunk]) -> None:
            pool.add(planned, chunks)
            while pool.busy:
                if stop.is_set():
                    pool.cancel()
                    raise Cancelled(f"{checked.source}: conversion cancelled")
                for outcome in pool.poll(0.5):
                    if outcome.error is not None:
                        raise outcome.error
                    assert outcome.result is not None
                    tracker.finished(outcome.worker, outcome.chunk, outcome.result)

        render(planned.to_render)
        rendered_at = time.monotonic()
        written = join_file(planned, lambda chunk: render([chunk]), stop)
        joined = time.monotonic()
        if not cluster.keep_chunks:
            shutil.rmtree(planned.folder, ignore_errors=True)
        return ClusterResult(
            output=checked.target, frames=written, rate=checked.rate, seconds=joined - started, backend=backend,
            width=plan.scan.frame_width, height=plan.scan.frame_height, chunks=len(plan.chunks),
            rendered=tracker.rendered, reused=len(finished), workers=len(workers),
            startup_seconds=connected - started, planning_seconds=planning_done - connected,
            waiting_seconds=ready - planning_done, rendering_seconds=rendered_at - ready,
            encode_settings=checked.output.settings.describe(), joining_seconds=joined - rendered_at,
            worker_status=dict(tracker.status),
            chunk_costs=list(tracker.costs),
        )
    finally:
        for worker in workers if not actors else []:
            with contextlib.suppress(Exception):
                ray.kill(worker)
        if owned:
            ray.shutdown()


@dataclass(frozen=True)
class ChunkOutcome:
    """A chunk that left the pool: rendered (``result``) or failed for good (``error``)."""

    planned: PlannedFile
    chunk: Chunk
    worker: int
    result: ChunkResult | None = None
    error: StsrError | None = None


class ChunkPool:
    """Hands chunks of any number of files to the workers as they free up, in the order added.

    Each worker holds the chunk it renders plus ``QUEUED_PER_WORKER`` more (hiding the round
    trip); a worker that dies is restarted by Ray and its chunk retried there (see :mod:`.actors`);
    a chunk whose worker died through all of Ray's retries is handed out again, up to
    ``COORDINATOR_ATTEMPTS`` times. Nothing here blocks for longer than :meth:`poll`'s timeout."""

    def __init__(self, ray: Any, workers: list[Any], crash_chunk: int | None = None,
                 on_handout: Callable[[PlannedFile, Chunk], None] | None = None) -> None:
        """``on_handout`` is called before each hand-out of a chunk to a worker (a journal counts attempts)."""
        self.ray, self.workers, self.crash_chunk, self.on_handout = ray, workers, crash_chunk, on_handout
        self._queue: deque[tuple[PlannedFile, Chunk]] = deque()
        self._in_flight: dict[Any, tuple[int, PlannedFile, Chunk]] = {}
        self._load = [0] * len(workers)
        #: hand-outs per (file, chunk number), this pool's lifetime
        self.attempts: dict[tuple[int, int], int] = {}

    @property
    def busy(self) -> bool:
        return bool(self._queue or self._in_flight)

    def spare(self) -> int:
        """Free places on the workers not claimed by queued chunks: > 0 means another file's chunks may start."""
        free = sum(max(0, QUEUED_PER_WORKER + 1 - load) for load in self._load)
        return free - len(self._queue)

    def add(self, planned: PlannedFile, chunks: list[Chunk]) -> None:
        self._queue.extend((planned, chunk) for chunk in chunks)
        self._fill()

    def drop(self, planned: PlannedFile) -> None:
        """Forget a file's queued chunks (its renders in flight finish and are ignored)."""
        self._queue = deque(item for item in self._queue if item[0] is not planned)

    def cancel(self) -> None:
        """Drop everything: queued chunks, and ask Ray to cancel the renders in flight."""
        self._queue.clear()
        for ref in self._in_flight:
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
        self._in_flight.clear()
        self._load = [0] * len(self.workers)

    def _fill(self) -> None:
        for worker in range(len(self.workers)):
            while self._queue and self._load[worker] <= QUEUED_PER_WORKER:
                planned, chunk = self._queue.popleft()
                key = (id(planned), chunk.number)
                self.attempts[key] = self.attempts.get(key, 0) + 1
                if self.on_handout is not None:
                    self.on_handout(planned, chunk)
                ref = self.workers[worker].render.remote(planned.job(chunk, self.crash_chunk))
                self._in_flight[ref] = (worker, planned, chunk)
                self._load[worker] += 1

    def poll(self, timeout: float) -> list[ChunkOutcome]:
        """Wait up to ``timeout`` seconds for renders to end; what ended (chunks retried are not listed)."""
        if not self._in_flight:
            return []
        ray = self.ray
        ready, _ = ray.wait(list(self._in_flight), num_returns=1, timeout=timeout)
        outcomes: list[ChunkOutcome] = []
        for ref in ready:
            worker, planned, chunk = self._in_flight.pop(ref)
            self._load[worker] -= 1
            try:
                result: ChunkResult = ray.get(ref)
            except ray.exceptions.RayTaskError as error:
                cause = error.as_instanceof_cause()
                if not isinstance(cause, StsrError):
                    raise
                outcomes.append(ChunkOutcome(planned, chunk, worker, error=cause))
            except ray.exceptions.RayActorError:
                if self.attempts[(id(planned), chunk.number)] >= COORDINATOR_ATTEMPTS:
                    outcomes.append(ChunkOutcome(planned, chunk, worker, error=StsrError(
                        f"chunk {chunk.number}: its worker died on every attempt")))
                else:
                    self._queue.appendleft((planned, chunk))
            else:
                outcomes.append(ChunkOutcome(planned, chunk, worker, result=result))
        self._fill()
        return outcomes


class _FileProgress:
    """One file's progress over its chunks, per-worker status lines and the measured chunk costs."""

    def __init__(self, planned: PlannedFile, progress: Callable[[ClusterProgress], None] | None, started: float,
                 done: int, chunks_done: int) -> None:
        self.planned, self.progress, self.started = planned, progress, started
        self.done, self.chunks_done = done, chunks_done
        self.rendered = 0
        self.status: dict[str, str] = {}
        self.costs: list[tuple[int, float]] = []

    def finished(self, worker: int, chunk: Chunk, result: ChunkResult) -> None:
        plan = self.planned.plan
        self.done += result.frames
        self.chunks_done += 1
        self.rendered += 1
        self.costs.append((result.frames, result.seconds))
        rate = result.frames / result.seconds if result.seconds > 0 else 0.0
        line = (f"worker {worker} ({result.worker}): chunk {chunk.number + 1}/{len(plan.chunks)} "
                f"(frames {chunk.first}-{chunk.stop - 1}) in {result.seconds:.1f} s, {rate:.1f} frames/s")
        self.status[f"worker {worker}"] = line
        if self.progress is not None:
            self.progress(ClusterProgress(self.done, plan.total, self.chunks_done, len(plan.chunks),
                                          time.monotonic() - self.started, line))


def describe_rate(rate: Fraction) -> str:
    return str(rate) if rate.denominator != 1 else str(rate.numerator)
