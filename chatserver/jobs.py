"""A bounded background job runner with job classes, kept off the socket path."""
from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

# Job classes, most important first. Each has its own workers and its own
# bounded queue, so a backlog of AI work (the lowest class) can never delay
# routing or delivery work.
ROUTINE = "routine"
AI = "ai"


class JobRunner:
    """Run callables on a fixed number of background workers per job class."""

    def __init__(self, *, spawn: Callable[..., Any], workers: Mapping[str, int], limits: Mapping[str, int]):
        self._spawn = spawn
        self._workers = dict(workers)
        self._queues: dict[str, queue.Queue[tuple[Callable[..., Any], dict[str, Any]]]] = {
            name: queue.Queue(maxsize=limits.get(name, 1000)) for name in workers
        }
        self._started = False

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        for name, count in self._workers.items():
            for _ in range(count):
                self._spawn(self._work, name)

    def submit(self, job_class: str, fn: Callable[..., Any], **kwargs: Any) -> bool:
        """Queue fn(**kwargs); return False when that class's queue is full."""
        self.start()
        try:
            self._queues[job_class].put_nowait((fn, kwargs))
        except queue.Full:
            log.warning("%s job queue full; dropping %s", job_class, getattr(fn, "__name__", fn))
            return False
        return True

    def _work(self, name: str) -> None:
        jobs = self._queues[name]
        while True:
            fn, kwargs = jobs.get()
            try:
                fn(**kwargs)
            except Exception:
                log.exception("%s job %s failed", name, getattr(fn, "__name__", fn))
