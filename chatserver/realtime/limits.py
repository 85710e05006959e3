"""Token buckets per connection and per client, and a cap on connections per client, so one flooder cannot crowd out the rest."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    burst: float  # tokens a quiet connection has saved up
    per_second: float  # tokens regained each second


def rates_from_config(config: Mapping[str, float]) -> dict[str, Rate]:
    """Return the per-event rates: messages, typing notices, and every other event."""
    # Chat is bursty (a widget resending what was typed offline, a pasted
    # paragraph in three lines) but slow on average; typing notices come often.
    return {
        "message": Rate(config["MESSAGE_RATE_BURST"], config["MESSAGE_RATE_PER_SECOND"]),
        "typing": Rate(config["EVENT_RATE_BURST"], config["EVENT_RATE_PER_SECOND"]),
        "*": Rate(config["EVENT_RATE_BURST"], config["EVENT_RATE_PER_SECOND"]),
    }


class Limiter:
    """Allow or refuse each event against its connection's bucket and its owner's; cap connections per owner.

    An owner is whoever a connection speaks for (a visitor's client, an
    agent): ten tabs must not make ten times the allowance. Sockets live in
    one process, so their buckets do too; behind a sticky load balancer a
    client's tabs share a process, so the caps hold per client in practice
    (docs/deploy.md).
    """

    def __init__(self, rates: Mapping[str, Rate], clock: Callable[[], float] = time.monotonic, *,
                 max_connections: int = 0):
        self._rates = rates
        self._clock = clock
        self._max_connections = max_connections  # per owner; 0 means no cap
        self._lock = threading.Lock()
        # (connection or owner key, event class) -> (tokens, last refill time).
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._owner_of: dict[str, str] = {}
        self._connections_of: dict[str, set[str]] = {}

    def connect(self, connection_id: str, owner: str) -> bool:
        """Record that connection speaks for owner; return False (recording nothing) when owner has too many."""
        with self._lock:
            connections = self._connections_of.setdefault(owner, set())
            if self._max_connections and len(connections) >= self._max_connections:
                if not connections:
                    del self._connections_of[owner]
                return False
            connections.add(connection_id)
            self._owner_of[connection_id] = owner
            return True

    def allow(self, connection_id: str, event: str) -> bool:
        kind = event if event in self._rates else "*"
        rate = self._rates[kind]
        with self._lock:
            now = self._clock()
            keys = [(connection_id, kind)]
            owner = self._owner_of.get(connection_id)
            if owner is not None:
                keys.append(("owner:" + owner, kind))
            levels = []
            for key in keys:
                tokens, last = self._buckets.get(key, (rate.burst, now))
                levels.append(min(rate.burst, tokens + (now - last) * rate.per_second))
            allowed = all(tokens >= 1 for tokens in levels)
            for key, tokens in zip(keys, levels):
                self._buckets[key] = (tokens - 1 if allowed else tokens, now)
            return allowed

    def forget(self, connection_id: str) -> None:
        with self._lock:
            gone = [connection_id]
            owner = self._owner_of.pop(connection_id, None)
            if owner is not None:
                connections = self._connections_of.get(owner, set())
                connections.discard(connection_id)
                if not connections:
                    self._connections_of.pop(owner, None)
                    gone.append("owner:" + owner)
            for key in [key for key in self._buckets if key[0] in gone]:
                del self._buckets[key]
