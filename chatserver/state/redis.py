"""Shared state in Redis, so several server processes agree on it."""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis

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
from .keys import (
    DEFAULT_PREFIX,
    Keys,
    parse_presence_agent,
    parse_queue_member,
    presence_member,
    queue_member,
)

# Fail fast when Redis is down instead of hanging a request or greenlet.
# This client is never used for pub/sub (Flask-SocketIO opens its own from
# message_queue_url), so a read timeout cannot cut off an idle listener.
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 5.0

# What an outage of the shared state raises: background loops log these as
# one line and retry, keeping stack traces for real faults.
UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

# KEYS[1]=presence zset; ARGV: member, expiry score, key TTL in ms.
# Extends the key's TTL but never shortens it, so a short-lived connection
# cannot make the key expire under a longer-lived one.
_PRESENCE_TOUCH = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local want = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < want then
  redis.call('PEXPIRE', KEYS[1], want)
end
return 1
"""

# KEYS[1]=load hash; ARGV: agent id, capacity. Check-and-increment in one
# step so two processes cannot both take an agent's last slot.
_LOAD_RESERVE = """
local load = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if load < tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
  return 1
end
return 0
"""

# KEYS[1]=load hash; ARGV: agent id. Decrement floored at zero; a zero load
# is stored as an absent field, which load_get reads as 0.
_LOAD_RELEASE = """
local load = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if load > 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
"""

# KEYS[1]=lock; ARGV: owner, TTL in ms. Extend the lease only if owner
# still holds it, so renewal never steals a lock that expired meanwhile.
_LOCK_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1]=lock; ARGV: owner. Compare-and-delete, so an owner whose lease
# expired cannot release the lock someone else has since taken.
_LOCK_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


# KEYS[1]=counter; ARGV: amount, TTL in ms. The TTL is set when the counter
# is created and never extended, so a daily budget resets on schedule.
_COUNTER_ADD = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return total
"""

# KEYS[1]=job list; ARGV: payload, limit. Bounded push in one step.
_JOB_PUSH = """
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('LPUSH', KEYS[1], ARGV[1])
return 1
"""


def _ms(seconds: float) -> int:
    """Convert seconds to whole milliseconds, at least 1."""
    return max(1, math.ceil(seconds * 1000))


class RedisState(SharedState):
    """Keep shared state in Redis under a key prefix."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Connect lazily to the Redis at url; presence expiry reads time from clock."""
        self._url = url
        self._keys = Keys(prefix)
        # Wall-clock time by default: presence expiries are compared across
        # processes (and hosts), which a per-process monotonic clock cannot do.
        self._clock = clock
        # Options given in the URL's query string take precedence over these.
        self._redis: redis.Redis = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
        )
        self._presence_touch = self._redis.register_script(_PRESENCE_TOUCH)
        self._load_reserve = self._redis.register_script(_LOAD_RESERVE)
        self._load_release = self._redis.register_script(_LOAD_RELEASE)
        self._lock_renew = self._redis.register_script(_LOCK_RENEW)
        self._lock_release = self._redis.register_script(_LOCK_RELEASE)
        self._counter_add = self._redis.register_script(_COUNTER_ADD)
        self._job_push = self._redis.register_script(_JOB_PUSH)

    @property
    def keys(self) -> Keys:
        """Return the key names this state uses."""
        return self._keys

    # --- queue

    def queue_put(self, *, conversation_id: int, score: float, summary: Mapping[str, Any]) -> None:
        """Insert or update a queued conversation."""
        member = queue_member(check_conversation_id(conversation_id))
        score = check_score(score)
        data = dump_summary(summary)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._keys.queue(), {member: score})
            pipe.hset(self._keys.queue_summaries(), member, data)
            pipe.execute()

    def queue_remove(self, *, conversation_id: int) -> bool:
        """Remove a conversation from the queue; return True if it was there."""
        conversation_id = int(conversation_id)
        if conversation_id < 0:
            return False  # never stored; also has no valid member encoding
        member = queue_member(conversation_id)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._keys.queue(), member)
            pipe.hdel(self._keys.queue_summaries(), member)
            removed, _ = pipe.execute()
        return bool(removed)

    def queue_entries(self) -> list[QueueEntry]:
        """Return the queue best first: score ascending, ties by conversation id ascending."""
        # One MULTI so the order and the summaries come from the same instant.
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrange(self._keys.queue(), 0, -1, withscores=True)
            pipe.hgetall(self._keys.queue_summaries())
            ranked, summaries = pipe.execute()
        # Zero-padded members make Redis' order already (score, id).
        return [
            QueueEntry(
                conversation_id=parse_queue_member(member),
                score=float(score),
                # Writes are atomic, so a missing summary means someone edited
                # Redis by hand; keep the conversation visible rather than lose it.
                summary=load_summary(summaries[member]) if member in summaries else {},
            )
            for member, score in ranked
        ]

    def queue_replace(self, *, entries: Iterable[QueueEntry]) -> None:
        """Atomically replace the whole queue."""
        scores: dict[str, float] = {}
        summaries: dict[str, str] = {}
        for entry in entries:
            member = queue_member(check_conversation_id(entry.conversation_id))
            scores[member] = check_score(entry.score)
            summaries[member] = dump_summary(entry.summary)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.queue(), self._keys.queue_summaries())
            if scores:
                pipe.zadd(self._keys.queue(), scores)
                pipe.hset(self._keys.queue_summaries(), mapping=summaries)
            pipe.execute()

    # --- presence

    def presence_touch(self, *, agent_id: int, connection_id: str, ttl: float) -> None:
        """Add or refresh a connection so that it expires ttl seconds from now."""
        ttl = check_ttl(ttl)
        self._presence_touch(
            keys=[self._keys.presence()],
            args=[
                presence_member(agent_id, connection_id),
                repr(self._clock() + ttl),
                _ms(ttl + Keys.PRESENCE_GRACE),
            ],
        )

    def presence_drop(self, *, agent_id: int, connection_id: str) -> None:
        """Forget one connection of an agent."""
        self._redis.zrem(self._keys.presence(), presence_member(agent_id, connection_id))

    def present_agents(self) -> set[int]:
        """Prune expired connections and return agents with at least one left."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._keys.presence(), "-inf", repr(self._clock()))
            pipe.zrange(self._keys.presence(), 0, -1)
            _, members = pipe.execute()
        return {parse_presence_agent(member) for member in members}

    def agent_status_set(self, *, agent_id: int, status: str) -> None:
        """Record an agent's chosen status ("online" or "away")."""
        self._redis.hset(self._keys.agent_status(), str(int(agent_id)), check_status(status))

    def agent_statuses(self, *, agent_ids: Iterable[int]) -> dict[int, str]:
        """Return the recorded statuses of the given agents, omitting unknown ones."""
        ids = list(dict.fromkeys(int(agent_id) for agent_id in agent_ids))
        if not ids:
            return {}  # HMGET needs at least one field
        values = self._redis.hmget(self._keys.agent_status(), [str(agent_id) for agent_id in ids])
        return {agent_id: value for agent_id, value in zip(ids, values) if value is not None}

    # --- load

    def load_reserve(self, *, agent_id: int, capacity: int) -> bool:
        """Atomically take one slot if the agent's load is below capacity."""
        return bool(self._load_reserve(keys=[self._keys.agent_load()], args=[int(agent_id), int(capacity)]))

    def load_release(self, *, agent_id: int) -> None:
        """Give back one slot, never going below zero."""
        self._load_release(keys=[self._keys.agent_load()], args=[int(agent_id)])

    def load_get(self, *, agent_ids: Iterable[int]) -> dict[int, int]:
        """Return the load of each given agent, 0 when unknown."""
        ids = list(dict.fromkeys(int(agent_id) for agent_id in agent_ids))
        if not ids:
            return {}  # HMGET needs at least one field
        values = self._redis.hmget(self._keys.agent_load(), [str(agent_id) for agent_id in ids])
        return {agent_id: int(value) if value is not None else 0 for agent_id, value in zip(ids, values)}

    def load_set(self, *, loads: Mapping[int, int]) -> None:
        """Overwrite the given agents' loads."""
        checked = {str(int(agent_id)): check_load(load) for agent_id, load in loads.items()}
        busy = {field: load for field, load in checked.items() if load}
        idle = [field for field, load in checked.items() if not load]
        if not checked:
            return
        with self._redis.pipeline(transaction=True) as pipe:
            if busy:
                pipe.hset(self._keys.agent_load(), mapping=busy)
            if idle:
                pipe.hdel(self._keys.agent_load(), *idle)
            pipe.execute()

    # --- locks

    def lock_acquire(self, *, name: str, owner: str, ttl: float) -> bool:
        """Take the lease for ttl seconds, or extend it if owner already holds it."""
        key = self._keys.lock(name)
        px = _ms(check_ttl(ttl))
        if self._redis.set(key, owner, nx=True, px=px):
            return True
        return bool(self._lock_renew(keys=[key], args=[owner, px]))

    def lock_release(self, *, name: str, owner: str) -> None:
        """Release the lease only if owner still holds it."""
        self._lock_release(keys=[self._keys.lock(name)], args=[owner])

    # --- member sets

    def members_add(self, *, name: str, member: str, ttl: float) -> None:
        """Add or refresh member so that it expires ttl seconds from now."""
        ttl = check_ttl(ttl)
        # The same script as presence: the key outlives its longest member, never shorter.
        self._presence_touch(keys=[self._keys.members(name)],
                             args=[member, repr(self._clock() + ttl), _ms(ttl + Keys.PRESENCE_GRACE)])

    def members_remove(self, *, name: str, member: str) -> None:
        """Forget member."""
        self._redis.zrem(self._keys.members(name), member)

    def members_get(self, *, name: str) -> set[str]:
        """Return the members that have not expired."""
        key = self._keys.members(name)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", repr(self._clock()))
            pipe.zrange(key, 0, -1)
            _, members = pipe.execute()
        return set(members)

    # --- counters

    def counter_add(self, *, name: str, amount: int, ttl: float) -> int:
        """Add amount to the counter, keep it ttl seconds from its creation, and return the new total."""
        return int(self._counter_add(keys=[self._keys.counter(name)], args=[int(amount), _ms(check_ttl(ttl))]))

    def counter_get(self, *, name: str) -> int:
        """Return the counter's total, 0 when absent or expired."""
        return int(self._redis.get(self._keys.counter(name)) or 0)

    # --- job queues

    def job_push(self, *, queue: str, payload: Mapping[str, Any], limit: int) -> bool:
        """Append a JSON-serialisable job; return False when the queue already holds limit jobs."""
        data = json.dumps(dict(payload), allow_nan=False)
        return bool(self._job_push(keys=[self._keys.jobs(queue)], args=[data, int(limit)]))

    def job_pop(self, *, queue: str, timeout: float) -> dict[str, Any] | None:
        """Take the oldest job, waiting up to timeout seconds; None when there is none."""
        # BRPOP blocks this connection: keep the wait under the client's read
        # time-out, and let the caller loop.
        wait = max(0.01, min(timeout, COMMAND_TIMEOUT - 1))
        item = self._redis.brpop([self._keys.jobs(queue)], timeout=wait)
        return json.loads(item[1]) if item else None

    # --- plumbing

    @property
    def message_queue_url(self) -> str | None:
        """Return the Redis URL for Flask-SocketIO's message queue."""
        return self._url

    def ping(self) -> bool:
        """Check that Redis answers; raise redis.RedisError if it does not."""
        return bool(self._redis.ping())

    def close(self) -> None:
        """Close this object's connection pool."""
        self._redis.close()
