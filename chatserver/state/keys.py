"""Every Redis key the shared state uses, each with its lifetime, under one prefix."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

DEFAULT_PREFIX = "chatserver:"

# Wide enough for any positive 64-bit id. Zero-padding makes Redis' tie-break
# between equal scores (lexicographic by member) agree with numeric id order,
# so ZRANGE/ZPOPMIN return the queue in the right order without re-sorting.
_QUEUE_MEMBER_WIDTH = 20

_GLOB_SPECIALS = re.compile(r"([*?\[\]\\])")


@dataclass(frozen=True)
class Keys:
    """Key names for one deployment, all starting with prefix."""

    prefix: str = DEFAULT_PREFIX

    # ZSET member=queue_member(conversation id), score=routing score (lower is better).
    # No TTL: expiry would silently lose queued customers; drift is healed
    # from the database by queue_replace instead.
    QUEUE_TTL: ClassVar[float | None] = None

    def queue(self) -> str:
        """Name the routing queue sorted set."""
        return f"{self.prefix}queue"

    # HASH field=queue_member(conversation id) -> JSON summary. Same lifetime
    # as the queue; always written in the same MULTI as it.
    QUEUE_SUMMARIES_TTL: ClassVar[float | None] = None

    def queue_summaries(self) -> str:
        """Name the hash of queued conversations' summaries."""
        return f"{self.prefix}queue:summaries"

    # ZSET member=presence_member(agent, connection), score=expiry time by the
    # state's clock. Members expire individually by score. The key itself
    # expires the longest connection TTL plus this grace after the last touch
    # (only ever extended), so a deployment that stops heartbeating leaves
    # nothing behind; the grace absorbs clock skew between the hosts' clocks
    # (member scores) and the Redis server's clock (key TTL).
    PRESENCE_GRACE: ClassVar[float] = 60.0

    def presence(self) -> str:
        """Name the presence sorted set."""
        return f"{self.prefix}presence"

    # HASH field=agent id -> "online" | "away". No TTL: one small field per
    # agent, and a status must survive however long an agent stays connected;
    # presence, not this hash, decides whether an agent is reachable.
    AGENT_STATUS_TTL: ClassVar[float | None] = None

    def agent_status(self) -> str:
        """Name the agent status hash."""
        return f"{self.prefix}agent:status"

    # HASH field=agent id -> active conversation count (absent means 0). No
    # TTL: expiry would reset loads and over-assign agents; drift is healed
    # from the database by load_set.
    AGENT_LOAD_TTL: ClassVar[float | None] = None

    def agent_load(self) -> str:
        """Name the agent load hash."""
        return f"{self.prefix}agent:load"

    # STRING value=owner. TTL: the lease length passed to each lock_acquire
    # (PX, server time), so a crashed owner can never hold a lock forever.

    def lock(self, name: str) -> str:
        """Name the lock called name."""
        return f"{self.prefix}lock:{name}"

    # ZSET member -> expiry time by the state's clock, like presence: members
    # expire one by one, and the key the longest member TTL plus
    # PRESENCE_GRACE after the last add (only ever extended).
    def members(self, name: str) -> str:
        """Name the member set called name."""
        return f"{self.prefix}members:{name}"

    # STRING integer total. TTL: the lifetime given to the first counter_add
    # (for example two days for a daily AI token budget), never extended.
    # Failed sign-ins are counters too: counter("login_failures:email:<sha256>")
    # and counter("login_failures:remote:<sha256>"), living LOGIN_WINDOW_SECONDS
    # (default 900) from the first failure, so the throttle lifts by itself.
    def counter(self, name: str) -> str:
        """Name the counter called name."""
        return f"{self.prefix}counter:{name}"

    # LIST of JSON jobs, pushed left and popped right (oldest first). No TTL:
    # jobs wait until a worker takes them; the push is bounded instead.
    def jobs(self, queue: str) -> str:
        """Name the job queue called queue."""
        return f"{self.prefix}jobs:{queue}"

    def pattern(self) -> str:
        """Return a SCAN pattern matching every key under the prefix."""
        return _GLOB_SPECIALS.sub(r"\\\1", self.prefix) + "*"


def queue_member(conversation_id: int) -> str:
    """Encode a conversation id as a queue member that sorts numerically."""
    return f"{conversation_id:0{_QUEUE_MEMBER_WIDTH}d}"


def parse_queue_member(member: str) -> int:
    """Decode a queue member back into a conversation id."""
    return int(member)


def presence_member(agent_id: int, connection_id: str) -> str:
    """Encode one agent connection as a presence member."""
    # The agent id comes first and never contains ":", so connection ids may.
    return f"{int(agent_id)}:{connection_id}"


def parse_presence_agent(member: str) -> int:
    """Extract the agent id from a presence member."""
    return int(member.split(":", 1)[0])
