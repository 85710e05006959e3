"""Shared state kept in this process, for a single-process deployment and tests."""
from __future__ import annotations

import json
import queue
import threading
import time
from queue import Empty as _Empty
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .base import (
    QueueEntry,
    SharedState,
    check_conversation_id,
    check_load,
    check_score,
    check_status,
    check_ttl,
    dump_summary,
    load_summary,
)


class MemoryState(SharedState):
    """Keep shared state in dicts behind one lock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Create empty state that reads time from clock."""
        self._clock = clock
        # One coarse lock: every operation is a few dict lookups, and it
        # makes each method atomic exactly like its Redis counterpart.
        self._lock = threading.Lock()
        # conversation id -> (score, summary as JSON). Keeping the JSON text
        # rather than the dict means neither the caller's object nor the one
        # we hand back can alias stored state, and the summary round-trips
        # the same way it does through Redis.
        self._queue: dict[int, tuple[float, str]] = {}
        # agent id -> connection id -> expiry time by self._clock
        self._presence: dict[int, dict[str, float]] = {}
        self._statuses: dict[int, str] = {}
        self._loads: dict[int, int] = {}
        # lock name -> (owner, expiry time by self._clock)
        self._locks: dict[str, tuple[str, float]] = {}
        # member set name -> member -> expiry time by self._clock
        self._members: dict[str, dict[str, float]] = {}
        # counter name -> (total, expiry time by self._clock)
        self._counters: dict[str, tuple[int, float]] = {}
        # queue name -> jobs as JSON text, oldest first
        self._jobs: dict[str, queue.Queue[str]] = {}

    # --- queue

    def queue_put(self, *, conversation_id: int, score: float, summary: Mapping[str, Any]) -> None:
        """Insert or update a queued conversation."""
        item = (check_score(score), dump_summary(summary))
        conversation_id = check_conversation_id(conversation_id)
        with self._lock:
            self._queue[conversation_id] = item

    def queue_remove(self, *, conversation_id: int) -> bool:
        """Remove a conversation from the queue; return True if it was there."""
        with self._lock:
            return self._queue.pop(int(conversation_id), None) is not None

    def queue_entries(self) -> list[QueueEntry]:
        """Return the queue best first: score ascending, ties by conversation id ascending."""
        with self._lock:
            items = list(self._queue.items())
        items.sort(key=lambda item: (item[1][0], item[0]))
        return [
            QueueEntry(conversation_id=cid, score=score, summary=load_summary(data))
            for cid, (score, data) in items
        ]

    def queue_replace(self, *, entries: Iterable[QueueEntry]) -> None:
        """Atomically replace the whole queue."""
        # Validate everything before touching state so a bad entry leaves
        # the old queue intact rather than half-replaced.
        queue = {
            check_conversation_id(entry.conversation_id): (check_score(entry.score), dump_summary(entry.summary))
            for entry in entries
        }
        with self._lock:
            self._queue = queue

    # --- presence

    def presence_touch(self, *, agent_id: int, connection_id: str, ttl: float) -> None:
        """Add or refresh a connection so that it expires ttl seconds from now."""
        ttl = check_ttl(ttl)
        with self._lock:
            self._presence.setdefault(int(agent_id), {})[connection_id] = self._clock() + ttl

    def presence_drop(self, *, agent_id: int, connection_id: str) -> None:
        """Forget one connection of an agent."""
        with self._lock:
            connections = self._presence.get(int(agent_id))
            if connections is not None:
                connections.pop(connection_id, None)
                if not connections:
                    del self._presence[int(agent_id)]

    def present_agents(self) -> set[int]:
        """Prune expired connections and return agents with at least one left."""
        with self._lock:
            now = self._clock()
            for agent_id in list(self._presence):
                connections = self._presence[agent_id]
                for connection_id in [c for c, expiry in connections.items() if expiry <= now]:
                    del connections[connection_id]
                if not connections:
                    del self._presence[agent_id]
            return set(self._presence)

    def agent_status_set(self, *, agent_id: int, status: str) -> None:
        """Record an agent's chosen status ("online" or "away")."""
        status = check_status(status)
        with self._lock:
            self._statuses[int(agent_id)] = status

    def agent_statuses(self, *, agent_ids: Iterable[int]) -> dict[int, str]:
        """Return the recorded statuses of the given agents, omitting unknown ones."""
        ids = [int(agent_id) for agent_id in agent_ids]
        with self._lock:
            return {agent_id: self._statuses[agent_id] for agent_id in ids if agent_id in self._statuses}

    # --- load

    def load_reserve(self, *, agent_id: int, capacity: int) -> bool:
        """Atomically take one slot if the agent's load is below capacity."""
        agent_id = int(agent_id)
        with self._lock:
            load = self._loads.get(agent_id, 0)
            if load >= int(capacity):
                return False
            self._loads[agent_id] = load + 1
            return True

    def load_release(self, *, agent_id: int) -> None:
        """Give back one slot, never going below zero."""
        agent_id = int(agent_id)
        with self._lock:
            load = self._loads.get(agent_id, 0)
            if load > 1:
                self._loads[agent_id] = load - 1
            else:
                self._loads.pop(agent_id, None)

    def load_get(self, *, agent_ids: Iterable[int]) -> dict[int, int]:
        """Return the load of each given agent, 0 when unknown."""
        ids = [int(agent_id) for agent_id in agent_ids]
        with self._lock:
            return {agent_id: self._loads.get(agent_id, 0) for agent_id in ids}

    def load_set(self, *, loads: Mapping[int, int]) -> None:
        """Overwrite the given agents' loads."""
        checked = {int(agent_id): check_load(load) for agent_id, load in loads.items()}
        with self._lock:
            for agent_id, load in checked.items():
                if load:
                    self._loads[agent_id] = load
                else:
                    self._loads.pop(agent_id, None)

    # --- locks

    def lock_acquire(self, *, name: str, owner: str, ttl: float) -> bool:
        """Take the lease for ttl seconds, or extend it if owner already holds it."""
        ttl = check_ttl(ttl)
        with self._lock:
            now = self._clock()
            held = self._locks.get(name)
            if held is not None and held[0] != owner and held[1] > now:
                return False
            self._locks[name] = (owner, now + ttl)
            return True

    def lock_release(self, *, name: str, owner: str) -> None:
        """Release the lease only if owner still holds it."""
        with self._lock:
            held = self._locks.get(name)
            if held is not None and held[0] == owner:
                del self._locks[name]

    # --- counters

    # --- member sets

    def members_add(self, *, name: str, member: str, ttl: float) -> None:
        """Add or refresh member so that it expires ttl seconds from now."""
        ttl = check_ttl(ttl)
        with self._lock:
            self._members.setdefault(name, {})[member] = self._clock() + ttl

    def members_remove(self, *, name: str, member: str) -> None:
        """Forget member."""
        with self._lock:
            members = self._members.get(name)
            if members is not None:
                members.pop(member, None)
                if not members:
                    del self._members[name]

    def members_get(self, *, name: str) -> set[str]:
        """Return the members that have not expired."""
        with self._lock:
            now = self._clock()
            members = self._members.get(name, {})
            for member in [m for m, expiry in members.items() if expiry <= now]:
                del members[member]
            if not members:
                self._members.pop(name, None)
            return set(members)

    # --- counters

    def counter_add(self, *, name: str, amount: int, ttl: float) -> int:
        """Add amount to the counter, keep it ttl seconds from its creation, and return the new total."""
        ttl = check_ttl(ttl)
        with self._lock:
            now = self._clock()
            total, expires = self._counters.get(name, (0, now + ttl))
            if expires <= now:
                total, expires = 0, now + ttl
            self._counters[name] = (total + int(amount), expires)
            return total + int(amount)

    def counter_get(self, *, name: str) -> int:
        """Return the counter's total, 0 when absent or expired."""
        with self._lock:
            total, expires = self._counters.get(name, (0, 0.0))
            return total if expires > self._clock() else 0

    # --- job queues

    def _job_queue(self, name: str) -> "queue.Queue[str]":
        with self._lock:
            return self._jobs.setdefault(name, queue.Queue())

    def job_push(self, *, queue: str, payload: Mapping[str, Any], limit: int) -> bool:
        """Append a JSON-serialisable job; return False when the queue already holds limit jobs."""
        jobs = self._job_queue(queue)
        data = json.dumps(dict(payload), allow_nan=False)
        with self._lock:
            if jobs.qsize() >= limit:
                return False
            jobs.put_nowait(data)
            return True

    def job_pop(self, *, queue: str, timeout: float) -> dict[str, Any] | None:
        """Take the oldest job, waiting up to timeout seconds; None when there is none."""
        try:
            return json.loads(self._job_queue(queue).get(timeout=timeout))
        except _Empty:
            return None

    # --- plumbing

    @property
    def message_queue_url(self) -> str | None:
        """Return None: Socket.IO events stay in this process."""
        return None

    def close(self) -> None:
        """Do nothing; there are no connections to release."""
