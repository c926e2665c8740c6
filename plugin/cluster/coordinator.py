"""The coordinator: plan the input into chunks, keep every worker busy, join and encode once.

``convert_on_cluster`` is ``stsr convert`` spread over Ray actors (one per GPU, or
per N CPU threads on a CPU-only cluster). Chunks already finished in the shared
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
from stsr.io.video import AtomicOutput, probe
from stsr.schedules import SCHEDULES

from .actors import remote_worker_class
from .join import check_record, join_chunks, output_settings
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
    if options.schedule not in SCHEDULES:
        raise InputError(f"unknown mode {options.schedule!r} (choose from {', '.join(SCHEDULES)})")
    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise InputError(f"{target}: output would overwrite the input")
    atomic = AtomicOutput(target, options.overwrite)
    info = probe(source)
    output = output_settings(source, target, info, options)  # every output problem refused before any work
    for note in output.notes:
        log.warning("%s", note)
    rate = target_rate(info.frame_rate, options.fps, options.times)
    stop = stop or threading.Event()
    ray = ray_module()
    started = time.monotonic()
    owned = connect(ray, cluster.address, cluster.workers)
    workers: list[Any] = list(actors or [])
    try:
        if not workers:  # they load their models while the input is planned
            workers = start_workers(ray, options, cluster)
        connected = time.monotonic()
        scan = scan_source(source, options.height, options.scene_detect, deep=output.deep, even=False)
        plan = plan_chunks(scan, rate, options.schedule, cluster.chunk_frames, cluster.prefer_cuts)
        plan_id = plan.identity(f"{options.backend}|{sorted(options.backend_options.items())}|{options.device}")
        folder = cluster.chunk_dir or default_chunk_dir(target)
        folder.mkdir(parents=True, exist_ok=True)
        planned = time.monotonic()
        backend = wait_for_workers(ray, workers)
        ready = time.monotonic()
        finished = [chunk for chunk in plan.chunks if check_record(plan, plan_id, folder, chunk)]
        to_render = [chunk for chunk in plan.chunks if chunk not in finished]
        if progress is not None:
            progress(ClusterProgress(sum(c.count for c in finished), plan.total, len(finished), len(plan.chunks),
                                     planned - started, f"plan: {len(plan.chunks)} chunks of about "
                                     f"{cluster.chunk_frames} frames, {plan.total} output frames, "
                                     f"{len(workers)} workers, {len(finished)} chunks already done"))
        dispatcher = _Dispatcher(ray, workers, plan, plan_id, folder, str(source), cluster, stop, progress,
                                 started, sum(c.count for c in finished), len(finished))
        dispatcher.run(to_render)
        for leftover in folder.glob(".chunk-*.tmp.*"):  # renders whose worker died before its rename
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        rendered_at = time.monotonic()
        written = 0
        for attempt in range(2):
            try:
                with atomic:
                    written = join_chunks(plan, plan_id, folder, atomic.temporary, target, output, source)
                    if stop.is_set():
                        raise Cancelled(f"{source}: conversion cancelled")
                    atomic.commit()
                break
            except ChunkError as error:
                if error.chunk is None or attempt == 1:
                    raise
                log.warning("%s; rendering it again", error)
                for path in (chunk_path(folder, error.chunk), record_path(folder, error.chunk)):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                dispatcher.run([plan.chunks[error.chunk]])
                atomic = AtomicOutput(target, options.overwrite)
        joined = time.monotonic()
        if not cluster.keep_chunks:
            shutil.rmtree(folder, ignore_errors=True)
        return ClusterResult(
            output=target, frames=written, rate=rate, seconds=joined - started, backend=backend,
            width=plan.scan.frame_width, height=plan.scan.frame_height, chunks=len(plan.chunks),
            rendered=dispatcher.rendered, reused=len(finished), workers=len(workers),
            startup_seconds=connected - started, planning_seconds=planned - connected,
            waiting_seconds=ready - planned, rendering_seconds=rendered_at - ready,
            encode_settings=output.settings.describe(), joining_seconds=joined - rendered_at,
            worker_status=dict(dispatcher.status),
            chunk_costs=list(dispatcher.costs),
        )
    finally:
        for worker in workers if not actors else []:
            with contextlib.suppress(Exception):
                ray.kill(worker)
        if owned:
            ray.shutdown()


class _Dispatcher:
    """Hands chunks to workers as they free up and reports progress; worker deaths are Ray's to retry."""

    def __init__(self, ray: Any, workers: list[Any], plan: ChunkPlan, plan_id: str, folder: Path, source: str,
                 cluster: ClusterOptions, stop: threading.Event,
                 progress: Callable[[ClusterProgress], None] | None, started: float, done: int,
                 chunks_done: int) -> None:
        self.ray, self.workers, self.plan, self.plan_id = ray, workers, plan, plan_id
        self.folder, self.source, self.cluster, self.stop = folder, source, cluster, stop
        self.progress, self.started = progress, started
        self.done, self.chunks_done = done, chunks_done
        self.rendered = 0
        self.status: dict[str, str] = {}
        self.costs: list[tuple[int, float]] = []

    def job(self, chunk: Chunk) -> ChunkJob:
        plan = self.plan
        return ChunkJob(self.source, plan.scan.height, plan.rate, plan.schedule, plan.origin, self.plan_id, chunk,
                        plan.entries_for(chunk), len(plan.scan.entries), str(self.folder), plan.scan.deep,
                        plan.scan.even, self.cluster.crash_chunk)

    def run(self, chunks: list[Chunk]) -> None:
        ray = self.ray
        queue = deque(chunks)
        attempts: dict[int, int] = {}
        in_flight: dict[Any, tuple[int, Chunk]] = {}
        load = [0] * len(self.workers)

        def submit(worker: int) -> None:
            while queue and load[worker] <= QUEUED_PER_WORKER:
                chunk = queue.popleft()
                attempts[chunk.number] = attempts.get(chunk.number, 0) + 1
                in_flight[self.workers[worker].render.remote(self.job(chunk))] = (worker, chunk)
                load[worker] += 1

        for worker in range(len(self.workers)):
            submit(worker)
        while in_flight:
            if self.stop.is_set():
                for ref in in_flight:
                    with contextlib.suppress(Exception):
                        ray.cancel(ref, force=True)
                raise Cancelled(f"{self.source}: conversion cancelled")
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.5)
            for ref in ready:
                worker, chunk = in_flight.pop(ref)
                load[worker] -= 1
                try:
                    result: ChunkResult = ray.get(ref)
                except ray.exceptions.RayTaskError as error:
                    cause = error.as_instanceof_cause()
                    if isinstance(cause, StsrError):
                        raise cause from None
                    raise
                except ray.exceptions.RayActorError:
                    if attempts[chunk.number] >= COORDINATOR_ATTEMPTS:
                        raise StsrError(f"chunk {chunk.number}: its worker died on every attempt") from None
                    queue.appendleft(chunk)
                else:
                    self.finished(worker, chunk, result)
                submit(worker)

    def finished(self, worker: int, chunk: Chunk, result: ChunkResult) -> None:
        self.done += result.frames
        self.chunks_done += 1
        self.rendered += 1
        self.costs.append((result.frames, result.seconds))
        rate = result.frames / result.seconds if result.seconds > 0 else 0.0
        line = (f"worker {worker} ({result.worker}): chunk {chunk.number + 1}/{len(self.plan.chunks)} "
                f"(frames {chunk.first}-{chunk.stop - 1}) in {result.seconds:.1f} s, {rate:.1f} frames/s")
        self.status[f"worker {worker}"] = line
        if self.progress is not None:
            self.progress(ClusterProgress(self.done, self.plan.total, self.chunks_done, len(self.plan.chunks),
                                          time.monotonic() - self.started, line))


def describe_rate(rate: Fraction) -> str:
    return str(rate) if rate.denominator != 1 else str(rate.numerator)
