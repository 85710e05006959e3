"""Slow-client protection: a socket that stops reading is closed before its unsent packets pile up."""
from __future__ import annotations

import logging
from typing import Any

from flask_socketio import SocketIO

log = logging.getLogger(__name__)


class SlowClientGuard:
    """Close every socket whose send queue holds more than limit packets.

    Engine.IO queues each packet for a socket's writer, which blocks while the
    client does not read; without a bound, one stalled phone holds every
    message sent to it in this process's memory. A closed client reconnects
    and resyncs with `history` (docs/protocol.md), so closing loses nothing.
    """

    def __init__(self, *, socketio: SocketIO, limit: int, metrics: Any, interval: float = 0.5):
        self._socketio = socketio
        self._limit = limit
        self._metrics = metrics
        self._interval = interval

    def start(self) -> None:
        if self._limit > 0:
            self._socketio.start_background_task(self._run)

    def sweep(self) -> int:
        """Close the sockets over the limit now; return how many."""
        closed = 0
        for sid, sock in list(self._socketio.server.eio.sockets.items()):
            if sock.closed or sock.closing:
                continue
            backlog = sock.queue.qsize()
            if backlog > self._limit:
                log.warning("closing slow client %s: %d packets unsent", sid, backlog)
                sock.close(wait=False, abort=True)
                self._metrics.slow_clients_closed.inc()
                closed += 1
        return closed

    def _run(self) -> None:
        while True:
            self._socketio.sleep(self._interval)
            try:
                self.sweep()
            except Exception:
                log.exception("slow client sweep failed")
