"""The Socket.IO message queue on Redis, with a probe that notices when this process stops hearing it.

python-socketio's listener reconnects by itself, but with a back-off that
grows to a minute, and a listener can go deaf without an error
(python-socketio #1581). So each process publishes a small probe to the
channel every PROBE_INTERVAL and listens for its own probe: when none has come
back for DEAF_AFTER seconds, the listener is deaf. /healthz then answers 503
(a load balancer stops sending new visitors here), /metrics says so, and the
watchdog drops the subscription so that it is made again. Messages emitted
meanwhile are in the database with their sequence numbers; clients resync
with `history` (docs/protocol.md).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import socketio

log = logging.getLogger(__name__)

PROBE_METHOD = "chatserver_probe"
# Reconnect quickly: a Redis restart takes seconds, and every second deaf is
# a second of messages that reach clients only by resync.
MAX_RETRY_SLEEP = 1.0


class ProbedRedisManager(socketio.RedisManager):
    """A RedisManager that probes its own subscription and resubscribes fast."""

    def __init__(self, url: str, *, channel: str, probe_interval: float, deaf_after: float,
                 clock: Callable[[], float] = time.monotonic):
        # No socket_timeout on this connection: an idle subscriber would time
        # out and reconnect in a loop, dropping what is published meanwhile.
        super().__init__(url, channel=channel, redis_options={"socket_connect_timeout": 5.0})
        self.probe_interval = probe_interval
        self.deaf_after = deaf_after
        self._clock = clock
        self.started = False
        self.last_heard = clock()
        self.resubscriptions = 0
        self.probes_sent = 0

    # --- health ------------------------------------------------------------------

    def probe_age(self) -> float:
        """Return the seconds since this process last heard its own probe."""
        return self._clock() - self.last_heard

    def status(self) -> str:
        """Return "ok", "deaf", or "idle" (not listening yet: no client has connected to this process)."""
        if not self.started:
            return "idle"
        return "deaf" if self.probe_age() > self.deaf_after else "ok"

    # --- python-socketio hooks -----------------------------------------------------

    def initialize(self) -> None:  # pragma: no cover - runs inside the server
        super().initialize()
        if not self.write_only:
            self.started = True
            self.last_heard = self._clock()
            self.server.start_background_task(self._probe_forever)

    def _listen(self) -> Iterator[Any]:
        for data in super()._listen():
            if isinstance(data, bytes) and PROBE_METHOD.encode() in data[:64]:
                try:
                    mine = self.json.loads(data).get("host_id") == self.host_id
                except ValueError:
                    mine = False
                if mine:
                    self.last_heard = self._clock()
                continue
            yield data

    def _redis_listen_with_retries(self) -> Iterator[Any]:
        # python-socketio's loop, with the back-off capped at MAX_RETRY_SLEEP.
        subscribed = False
        failed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    self.pubsub.subscribe(self.channel)
                    subscribed = True
                    if failed:
                        self.resubscriptions += 1
                        log.warning("message queue: resubscribed to %s", self.channel)
                        failed = False
                yield from self.pubsub.listen()
                # listen() returns once nothing is subscribed (a reset): subscribe again.
                subscribed = False
                failed = True
            except Exception as error:
                if not failed:
                    log.warning("message queue: listener lost Redis (%s); resubscribing", type(error).__name__)
                subscribed = False
                failed = True
                time.sleep(MAX_RETRY_SLEEP)  # cooperative under gevent

    # --- the probe -----------------------------------------------------------------

    def _probe_forever(self) -> None:
        while True:
            time.sleep(self.probe_interval)
            try:
                self.probe()
            except Exception:
                log.exception("message queue probe failed")

    def probe(self) -> None:
        """Publish one probe; if this process has been deaf too long, drop the subscription so it is made again."""
        self.probes_sent += 1
        self._publish({"method": PROBE_METHOD, "host_id": self.host_id})
        if self.status() == "deaf" and self.probe_age() > 2 * self.deaf_after:
            # Deaf without an error (the subscription vanished while the
            # connection lived on): resetting the pub/sub connection makes the
            # listening loop fail and subscribe again.
            log.warning("message queue: no probe heard for %.0f s; resetting the subscription", self.probe_age())
            self.last_heard = self._clock() - self.deaf_after  # one reset per period, still reported deaf
            pubsub = self.pubsub
            if pubsub is not None:
                try:
                    pubsub.reset()
                except Exception:
                    pass


def make_client_manager(url: str | None, *, channel: str, probe_interval: float,
                        deaf_after: float) -> ProbedRedisManager | None:
    """Return the message queue manager for a Redis URL, or None for in-process Socket.IO."""
    if not url:
        return None
    return ProbedRedisManager(url, channel=channel, probe_interval=probe_interval, deaf_after=deaf_after)


def listener_status(manager: Any) -> str:
    """Return the listener health of a Socket.IO server's client manager: ok, deaf, idle or not_configured."""
    return manager.status() if isinstance(manager, ProbedRedisManager) else "not_configured"


class ListenerCollector:
    """Expose the message queue listener's health to Prometheus, read when scraped."""

    def __init__(self, manager: ProbedRedisManager):
        self._manager = manager

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        manager = self._manager
        yield GaugeMetricFamily("chatserver_listener_deaf",
                                "1 while this process has not heard its own message queue probe.",
                                value=1 if manager.status() == "deaf" else 0)
        yield GaugeMetricFamily("chatserver_listener_probe_age_seconds",
                                "Seconds since this process last heard its own message queue probe.",
                                value=manager.probe_age() if manager.started else 0)
        yield CounterMetricFamily("chatserver_listener_resubscriptions",
                                  "Times the message queue listener subscribed again after losing Redis.",
                                  value=manager.resubscriptions)
