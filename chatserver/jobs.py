"""Background jobs, kept off the socket path.

Jobs are named and carry JSON arguments, so they can wait in the shared state:
in-process for the embedded default, in Redis when several processes (and
`chatserver ai-worker`) share the work. Each job class has its own bounded
queue and its own workers. AI turns are the lowest class: routing and delivery
never wait on a job at all, and a saturated AI queue delays only AI replies.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from .state import UNAVAILABLE, SharedState

log = logging.getLogger(__name__)

AI = "ai"
# Email delivery: its own class, so a slow SMTP server never delays AI turns or the reverse.
MAIL = "mail"
POLL_SECONDS = 2.0


class JobRunner:
    """Queue named jobs in the shared state and run them on a fixed number of workers per class."""

    def __init__(self, *, state: SharedState, spawn: Callable[..., Any], workers: Mapping[str, int],
                 limits: Mapping[str, int]):
        self._state = state
        self._spawn = spawn
        self._workers = dict(workers)
        self._limits = dict(limits)
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._started = False

    def register(self, name: str, handler: Callable[..., Any]) -> None:
        self._handlers[name] = handler

    def submit(self, job_class: str, name: str, **kwargs: Any) -> bool:
        """Queue the job; return False when that class's queue is full."""
        if name not in self._handlers:
            raise KeyError(f"no handler registered for job {name!r}")
        accepted = self._state.job_push(queue=job_class, payload={"name": name, "kwargs": kwargs},
                                        limit=self._limits[job_class])
        if not accepted:
            log.warning("%s job queue is full; refused %s", job_class, name)
        return accepted

    def start(self) -> None:
        """Start this process's workers (once)."""
        if self._started:
            return
        self._started = True
        for job_class, count in self._workers.items():
            for _ in range(count):
                self._spawn(self._work, job_class)

    def run_one(self, job_class: str, *, timeout: float = POLL_SECONDS) -> bool:
        """Take one job of job_class and run it; return False when none came within timeout."""
        job = self._state.job_pop(queue=job_class, timeout=timeout)
        if job is None:
            return False
        handler = self._handlers.get(job.get("name"))
        if handler is None:
            log.error("dropping job with no handler: %s", job.get("name"))
            return True
        try:
            handler(**job.get("kwargs", {}))
        except Exception:
            log.exception("%s job %s failed", job_class, job.get("name"))
        return True

    def _work(self, job_class: str) -> None:
        while True:
            try:
                self.run_one(job_class)
            except UNAVAILABLE as error:
                # The queue itself failed (Redis down): wait, then try again.
                log.warning("%s job queue unavailable: %s", job_class, type(error).__name__)
                time.sleep(POLL_SECONDS)  # cooperative under gevent's patching
            except Exception:
                log.exception("%s job queue failed", job_class)
                time.sleep(POLL_SECONDS)  # cooperative under gevent's patching
