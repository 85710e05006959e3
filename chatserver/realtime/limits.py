"""Per-connection token buckets, so one flooding socket cannot crowd out the rest."""
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
    """Allow or refuse each event of each connection against its bucket."""

    def __init__(self, rates: Mapping[str, Rate], clock: Callable[[], float] = time.monotonic):
        self._rates = rates
        self._clock = clock
        self._lock = threading.Lock()
        # (connection, event class) -> (tokens, last refill time). Sockets live
        # in one process, so their buckets do too.
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def allow(self, connection_id: str, event: str) -> bool:
        kind = event if event in self._rates else "*"
        rate = self._rates[kind]
        key = (connection_id, kind)
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (rate.burst, now))
            tokens = min(rate.burst, tokens + (now - last) * rate.per_second)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - 1 if allowed else tokens, now)
            return allowed

    def forget(self, connection_id: str) -> None:
        with self._lock:
            for key in [key for key in self._buckets if key[0] == connection_id]:
                del self._buckets[key]
