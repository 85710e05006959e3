"""Real servers and real clients for end-to-end tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import requests
import socketio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDENTITY_SECRET = "test-identity-secret-" + "x" * 16
SECRET_KEY = "test-secret-key-" + "y" * 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@dataclass
class Stack:
    """Where a server keeps its data: a database URL and, optionally, Redis."""

    name: str
    database_url: str
    redis_url: str | None = None
    redis_prefix: str = field(default_factory=lambda: f"test:{uuid.uuid4().hex[:12]}:")

    def env(self) -> dict[str, str]:
        env = {"DATABASE_URL": self.database_url, "REDIS_PREFIX": self.redis_prefix}
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env


class ServerProcess:
    """A `chatserver run` process on a loopback port."""

    def __init__(self, stack: Stack, *, extra_env: dict[str, str] | None = None, log_path: str):
        self.stack = stack
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **stack.env(), "SECRET_KEY": SECRET_KEY, "IDENTITY_SECRET": IDENTITY_SECRET,
                    "CHATSERVER_ENV": "development", "PYTHONPATH": ROOT, "OPENAI_API_KEY": "",
                    # Tests fire hundreds of events a second on purpose; the
                    # rate limits have their own test with the defaults.
                    "MESSAGE_RATE_BURST": "100000", "EVENT_RATE_BURST": "100000",
                    # Every team open around the clock, so that tests pass at
                    # any hour; the office-hours tests store their calendars.
                    "TEAM_HOURS_DEFAULT": "always",
                    **(extra_env or {})}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "chatserver.cli", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, input=input, timeout=120)

    def start(self) -> "ServerProcess":
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatserver.cli", "run", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log_path}")
            try:
                if requests.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()

    def read_log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()


class Api:
    """A small REST client for one server."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.token = token

    def request(self, method: str, path: str, json: Any = None, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        token = token or self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base_url + path, json=json, headers=headers, timeout=10, **kwargs)

    def ok(self, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        response = self.request(method, path, json)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json()

    def login(self, email: str, password: str) -> str:
        return self.ok("POST", "/api/auth/login", {"email": email, "password": password})["token"]


def identity_token(personal_id: str, email: str, *, secret: str = IDENTITY_SECRET,
                   expires_in: timedelta = timedelta(minutes=30), kid: str | None = None,
                   jti: str | None = None) -> str:
    """Sign an identity the way a host website does: a fresh jti each time, since each token works once."""
    now = datetime.now(timezone.utc)
    claims = {"sub": personal_id, "email": email, "iat": now, "exp": now + expires_in, "jti": jti or uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid} if kid else None)


class ClientRecord(dict):
    """A client as the admin API returned it. Reading ["identity"] signs a new host token every time, as a
    host site does for each page view: identity tokens are single-use (their jti is remembered)."""

    def __getitem__(self, key: str) -> Any:
        if key == "identity":
            return identity_token(super().__getitem__("personal_id"), super().__getitem__("email"))
        return super().__getitem__(key)


class Peer:
    """A python-socketio client that records every event it receives."""

    def __init__(self, base_url: str, namespace: str):
        self.base_url = base_url
        self.namespace = namespace
        self.client = socketio.Client(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self._changed = threading.Condition()
        self.client.on("*", self._record, namespace=namespace)

    def _record(self, event: str, data: Any = None) -> None:
        with self._changed:
            self.events.append((event, data))
            self._changed.notify_all()

    def connect(self, auth: dict[str, Any]) -> "Peer":
        self.client.connect(self.base_url, namespaces=[self.namespace], auth=auth, transports=["websocket"],
                            wait_timeout=10)
        return self

    def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:
        return self.client.call(event, data, namespace=self.namespace, timeout=timeout)

    def wait_for(self, event: str, predicate: Callable[[Any], bool] = lambda data: True, timeout: float = 10) -> Any:
        """Return the first matching event's data, received before or after this call."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for name, data in self.events:
                    if name == event and predicate(data):
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {event!r} event matched within {timeout}s; got {self.events[-10:]}")
                self._changed.wait(remaining)

    def latest(self, event: str, predicate: Callable[[Any], bool] = lambda data: True,
               settle: float = 0.3, timeout: float = 10) -> Any:
        """Wait for a matching event, let the stream settle, and return the newest one."""
        self.wait_for(event, predicate, timeout)
        time.sleep(settle)
        with self._changed:
            return [data for name, data in self.events if name == event][-1]

    def disconnect(self) -> None:
        if self.client.connected:
            self.client.disconnect()


def connect_error(base_url: str, namespace: str, auth: Any) -> Any:
    """Try to connect and return the refusal's data (fails the test if the connection is accepted)."""
    client = socketio.Client(reconnection=False)
    refusals: list[Any] = []
    client.on("connect_error", lambda data=None: refusals.append(data), namespace=namespace)
    try:
        client.connect(base_url, namespaces=[namespace], auth=auth, transports=["websocket"], wait_timeout=10)
    except socketio.exceptions.ConnectionError:
        assert refusals, "refused without a reason"
        return refusals[0]
    finally:
        if client.connected:
            client.disconnect()
    raise AssertionError("the connection was accepted")
