"""Prometheus metrics: counters fed by domain events, gauges read from the shared state at scrape time.

Each process exposes its own /metrics, as Prometheus expects; the queue gauges
read the shared queue, so every process reports the same queue.
"""
from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .events import MessagePosted
from .state import SharedState


class Metrics:
    """One registry per app, so several apps in one process (tests) never share counters."""

    def __init__(self, *, state: SharedState):
        self.registry = CollectorRegistry()
        self.connections = Gauge("chatserver_connections", "Open Socket.IO connections in this process.",
                                 ["namespace"], registry=self.registry)
        self.messages = Counter("chatserver_messages", "Messages stored, by sender.", ["sender"],
                                registry=self.registry)
        self.handoffs = Counter("chatserver_ai_handoffs", "Conversations the AI agent handed to humans.",
                                registry=self.registry)
        self.event_errors = Counter("chatserver_event_errors", "Socket.IO events answered with an error, by code.",
                                    ["namespace", "code"], registry=self.registry)
        self.slow_clients_closed = Counter("chatserver_slow_clients_closed",
                                           "Sockets closed because they did not read what was sent to them.",
                                           registry=self.registry)
        self.registry.register(_QueueCollector(state))

    def on_event(self, event: Any) -> None:
        """Count what the domain reports (subscribed to the event bus)."""
        if isinstance(event, MessagePosted):
            self.messages.labels(sender=event.message["sender"]).inc()
            if event.message.get("event") == "handed_to_humans":
                self.handoffs.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _QueueCollector:
    """Queue length and oldest wait per queue language and priority, read when scraped."""

    def __init__(self, state: SharedState):
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lengths: Tally[tuple[str, str]] = Tally()
        oldest: dict[tuple[str, str], float] = {}
        now = time.time()
        try:
            entries = self._state.queue_entries()
        except Exception:
            # Redis is away: /metrics must still answer, that is when it matters.
            yield GaugeMetricFamily("chatserver_shared_state_up", "1 when the shared state answered this scrape.",
                                    value=0)
            return
        yield GaugeMetricFamily("chatserver_shared_state_up", "1 when the shared state answered this scrape.", value=1)
        for entry in entries:
            key = (entry.summary.get("queue_language", "und"), entry.summary.get("priority", "standard"))
            lengths[key] += 1
            since = entry.summary.get("waiting_since")
            if since:
                waited = now - datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
                oldest[key] = max(oldest.get(key, 0.0), waited)
        length = GaugeMetricFamily("chatserver_queue_length", "Conversations waiting for a human.",
                                   labels=["language", "priority"])
        wait = GaugeMetricFamily("chatserver_queue_oldest_wait_seconds", "Longest current wait in the queue.",
                                 labels=["language", "priority"])
        for (language, priority), count in sorted(lengths.items()):
            length.add_metric([language, priority], count)
            wait.add_metric([language, priority], oldest.get((language, priority), 0.0))
        yield length
        yield wait
