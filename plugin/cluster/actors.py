"""The Ray actor: one per GPU (or per N CPU threads) holding a loaded model, rendering chunks."""

from __future__ import annotations

import os
import socket
from typing import Any

from stsr.engine.frames import make_interpolator, silence_library_logs

from .render import ChunkJob, ChunkResult, render_chunk

#: a worker process that dies (out of memory, a lost node, os._exit) is restarted this often,
#: and the chunk it was rendering is retried by Ray on the restarted actor
ACTOR_RESTARTS = 3


class ChunkWorker:
    """A loaded interpolator that renders chunks; made a Ray actor by :func:`remote_worker_class`."""

    def __init__(self, backend: str, device: str, backend_options: dict[str, Any], threads: int | None) -> None:
        if threads:
            import torch

            torch.set_num_threads(threads)
        silence_library_logs()
        self.interpolator = make_interpolator(backend, device, backend_options)
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def describe(self) -> str:
        return f"{self.name} {self.interpolator.describe()} on {self.interpolator.device}"

    def backend(self) -> str:
        return self.interpolator.describe()

    def render(self, job: ChunkJob) -> ChunkResult:
        return render_chunk(job, self.interpolator)


def remote_worker_class(ray: Any) -> Any:
    """:class:`ChunkWorker` as a Ray actor class whose dead workers are restarted and their chunk retried."""
    return ray.remote(max_restarts=ACTOR_RESTARTS, max_task_retries=ACTOR_RESTARTS)(ChunkWorker)
