"""A lean Socket.IO client for load generation: the wire protocol over one websocket, on gevent.

python-socketio's client spends more CPU per event than the server under test,
which on a 2-core machine would measure the load generator. This one speaks
only what the benchmarks need (connect to one namespace, emit with an ack,
receive events, answer pings) and does nothing else per packet.

Import it after gevent's monkey patching (the benchmarks do it first thing).
"""
from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import gevent
import websocket
from gevent.event import AsyncResult


class Refused(Exception):
    """The server refused the namespace connection."""


class Connection:
    """One websocket carrying one Socket.IO namespace."""

    def __init__(self, url: str, namespace: str, auth: dict[str, Any] | None = None, *,
                 on_event: Callable[[str, Any], None] | None = None, timeout: float = 30):
        host = url.replace("http://", "ws://").rstrip("/")
        self.namespace = namespace
        self.on_event = on_event or (lambda name, data: None)
        self._acks: dict[int, AsyncResult] = {}
        self._ids = itertools.count(1)
        self._ws = websocket.create_connection(f"{host}/socket.io/?EIO=4&transport=websocket", timeout=timeout,
                                               enable_multithread=True, skip_utf8_validation=True)
        opening = self._ws.recv()
        if not opening.startswith("0"):
            raise ConnectionError(f"unexpected engine.io opening {opening[:80]!r}")
        self._prefix = "" if namespace == "/" else namespace + ","
        self._ws.send("40" + self._prefix + json.dumps(auth or {}))
        self._connected = AsyncResult()
        self._reader = gevent.spawn(self._read)
        reply = self._connected.get(timeout=timeout)
        if reply[0] == "4":
            raise Refused(reply[1])
        self.closed = False

    def _read(self) -> None:
        try:
            while True:
                packet = self._ws.recv()
                if not packet:
                    break
                if packet == "2":
                    self._ws.send("3")
                    continue
                if not packet.startswith("4"):
                    continue
                kind, body = packet[1], packet[2:]
                if self._prefix and body.startswith(self._prefix):
                    body = body[len(self._prefix):]
                if kind == "0":
                    self._connected.set(("0", json.loads(body) if body else {}))
                elif kind == "4":
                    self._connected.set(("4", json.loads(body) if body else {}))
                elif kind == "2":
                    data = json.loads(body)
                    self.on_event(data[0], data[1] if len(data) > 1 else None)
                elif kind == "3":
                    bracket = body.index("[")
                    waiter = self._acks.pop(int(body[:bracket]), None)
                    if waiter is not None:
                        args = json.loads(body[bracket:])
                        waiter.set(args[0] if args else None)
        except Exception as error:  # the socket closed: wake everyone waiting on it
            for waiter in list(self._acks.values()):
                waiter.set_exception(ConnectionError(str(error)))
            if not self._connected.ready():
                self._connected.set_exception(ConnectionError(str(error)))
        self.closed = True

    def emit(self, event: str, data: Any) -> AsyncResult:
        """Send an event asking for an ack; return what will hold the ack."""
        number = next(self._ids)
        waiter = AsyncResult()
        self._acks[number] = waiter
        self._ws.send(f"42{self._prefix}{number}" + json.dumps([event, data], separators=(",", ":")))
        return waiter

    def call(self, event: str, data: Any, timeout: float = 30) -> Any:
        return self.emit(event, data).get(timeout=timeout)

    def close(self) -> None:
        try:
            self._ws.close()
        except Exception:
            pass
        self._reader.kill(block=False)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def now_ms() -> float:
    return time.perf_counter() * 1000
