"""Relay: visitor-to-agent throughput and latency through chatserver, against a bare Flask-SocketIO relay.

Both servers run as separate processes on gevent, on loopback, in the same run;
the load generator (bench/sio.py) runs in this process. For each server:

- setup: V visitors each with a conversation accepted by one of A agents
  (the bare relay just maps visitor i to agent i % A);
- open loop: R messages a second offered in total for T seconds, spread over
  the visitors; latency is from the visitor's send to the agent's receipt of
  the message event; lost = sent and acknowledged but never received;
- closed loop: every visitor sends its next message as soon as the previous
  one is acknowledged, for T seconds; throughput = messages received by agents
  per second.

chatserver runs its full path for each message: validate, detect the
language, store it with its sequence number, route, deliver. Rate limits are
raised for the run (a real visitor writes a message every few seconds).

Prints one summary line. Usage:
  python bench/relay.py [--visitors 50] [--agents 10] [--rate 1000] [--seconds 10]
                        [--database-url URL] [--redis-url URL] [--only full|bare]
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import requests  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sio import Connection, now_ms, percentile  # noqa: E402

IDENTITY_SECRET = "bench-identity-secret-" + "x" * 16
ADMIN = ("admin@bench.local", "bench-admin-password")
TEXTS = ["Hello, I have a question about my last invoice, could you check it?",
         "The export button does nothing when I click it in the dashboard.",
         "Thanks, and how long does a refund usually take to arrive?",
         "I tried again and it still shows the same error message."]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, path: str = "/healthz") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if requests.get(url + path, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


# --- the bare relay -------------------------------------------------------------

def serve_bare(port: int) -> None:
    """The baseline: Flask-SocketIO on gevent relaying each visitor message to an agent room with an ack."""
    from flask import Flask, request
    from flask_socketio import SocketIO, join_room

    app = Flask(__name__)
    sio = SocketIO(app, async_mode="gevent", cors_allowed_origins="*")
    agents_of: dict[str, int] = {}

    @app.get("/healthz")
    def healthz():
        return "ok"

    @sio.on("connect", namespace="/agent")
    def agent_connect(auth):
        join_room(f"agent:{auth['agent']}")

    @sio.on("connect", namespace="/visitor")
    def visitor_connect(auth):
        agents_of[request.sid] = auth["agent"]

    @sio.on("message", namespace="/visitor")
    def message(data):
        sio.emit("message", data, to=f"agent:{agents_of[request.sid]}", namespace="/agent")
        return {"ok": True, "message": data}

    sio.run(app, host="127.0.0.1", port=port, log_output=False)


@dataclass
class Target:
    """A server under test with its agents' and visitors' connection parameters."""

    name: str
    processes: list[subprocess.Popen]
    visitor_urls: list[str]
    agent_urls: list[str]
    agent_auths: list[dict[str, Any]]
    visitor_auths: list[dict[str, Any]]
    pids: list[int] = field(default_factory=list)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def start_bare(*, visitors: int, agents: int) -> Target:
    port = free_port()
    process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-bare", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process)
    return Target("bare", [process], [url], [url], [{"agent": n} for n in range(agents)],
                  [{"agent": n % agents} for n in range(visitors)], [process.pid])


# --- chatserver -----------------------------------------------------------------

def server_env(*, database_url: str, redis_url: str | None, prefix: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench-secret-" + "y" * 20,
           "IDENTITY_SECRET": IDENTITY_SECRET, "CHATSERVER_ENV": "development",
           "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
           "OPENAI_API_KEY": "", "TEAM_HOURS_DEFAULT": "always", "LOG_LEVEL": "WARNING",
           "REDIS_PREFIX": prefix, "MESSAGE_RATE_BURST": "1000000", "MESSAGE_RATE_PER_SECOND": "1000000",
           "EVENT_RATE_BURST": "1000000", "EVENT_RATE_PER_SECOND": "1000000"}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def start_chatserver(*, visitors: int, agents: int, database_url: str | None, redis_url: str | None,
                     processes: int = 1, log_dir: str, extra_env: dict[str, str] | None = None) -> Target:
    """Start N chatserver processes on one database, then give every visitor a conversation accepted by an agent."""
    import jwt

    database_url = database_url or f"sqlite:///{log_dir}/bench.sqlite3"
    env = server_env(database_url=database_url, redis_url=redis_url, prefix=f"bench:{uuid.uuid4().hex[:8]}:")
    env.update(extra_env or {})
    cli = [sys.executable, "-m", "chatserver.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    made = subprocess.run([*cli, "create-admin", "--email", ADMIN[0], "--password", ADMIN[1]], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if made.returncode != 0 and "exists" not in made.stderr:
        raise RuntimeError(made.stderr)
    started, urls = [], []
    for number in range(processes):
        port = free_port()
        log = open(os.path.join(log_dir, f"server{number}.log"), "ab")
        process = subprocess.Popen([*cli, "run", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        urls.append(f"http://127.0.0.1:{port}")
    for url, process in zip(urls, started):
        wait_healthy(url, process)
    api = requests.Session()
    base = urls[0]
    token = api.post(base + "/api/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()["token"]
    api.headers["Authorization"] = f"Bearer {token}"
    api.put(base + "/api/admin/languages", json={"languages": ["en"]}).raise_for_status()
    agent_auths = []
    for _ in range(agents):
        email = f"agent-{uuid.uuid4().hex[:10]}@bench.local"
        api.post(base + "/api/admin/agents", json={
            "email": email, "name": "Bench agent", "password": "bench-agent-password", "languages": ["en"],
            "teams": ["support"], "capacity": 50}).raise_for_status()
        login = requests.post(base + "/api/auth/login", json={"email": email, "password": "bench-agent-password"})
        agent_auths.append({"token": login.json()["token"]})
    visitor_auths = []
    for _ in range(visitors):
        body = api.post(base + "/api/admin/clients", json={
            "email": f"client-{uuid.uuid4().hex[:10]}@bench.local", "name": "Bench client"}).json()
        identity = jwt.encode({"sub": body["personal_id"], "email": body["email"], "iat": int(time.time()),
                               "exp": int(time.time()) + 3600}, IDENTITY_SECRET, algorithm="HS256")
        visitor_auths.append({"identity": identity})
    return Target("chatserver", started, urls, list(reversed(urls)), agent_auths, visitor_auths,
                  [process.pid for process in started])


# --- the load ---------------------------------------------------------------------

class Run:
    """Connected agents and visitors, and what the agents received."""

    def __init__(self, target: Target, *, chatserver: bool):
        self.sent_at: dict[str, float] = {}
        self.latencies: list[float] = []
        self.received = 0
        self.agents = [Connection(target.agent_urls[n % len(target.agent_urls)], "/agent", auth,
                                  on_event=self._on_agent_event)
                       for n, auth in enumerate(target.agent_auths)]
        self.visitors = [Connection(target.visitor_urls[n % len(target.visitor_urls)], "/visitor", auth)
                         for n, auth in enumerate(target.visitor_auths)]
        if chatserver:
            self._open_conversations(len(target.agent_auths))

    def _open_conversations(self, agents: int) -> None:
        for number, visitor in enumerate(self.visitors):
            ack = visitor.call("message", {"client_id": f"open-{number}", "text": TEXTS[0]})
            assert ack["ok"], ack
            accepted = self.agents[number % agents].call("accept", {"conversation_id": ack["message"]["conversation_id"]})
            assert accepted["ok"], accepted
        gevent.sleep(0.5)

    def _on_agent_event(self, name: str, data: Any) -> None:
        if name != "message" or not isinstance(data, dict):
            return
        sent = self.sent_at.pop(data.get("client_id"), None)
        if sent is not None:
            self.latencies.append(now_ms() - sent)
            self.received += 1

    def send(self, visitor: int, number: int, phase: str):
        client_id = f"{phase}{self.phase}-{visitor}-{number}"
        self.sent_at[client_id] = now_ms()
        return self.visitors[visitor].emit("message", {"client_id": client_id, "text": TEXTS[number % len(TEXTS)]})

    def reset(self) -> None:
        # A fresh client_id prefix per phase: a repeated one is a resend, which chatserver rightly drops.
        self.phase = uuid.uuid4().hex[:6]
        self.sent_at.clear()
        self.latencies = []
        self.received = 0

    def open_loop(self, *, rate: float, seconds: float) -> dict[str, Any]:
        """Offer rate messages a second for seconds; return latency percentiles and losses."""
        self.reset()
        interval = len(self.visitors) / rate
        acks: list = []
        errors = 0

        def visitor_loop(index: int) -> None:
            start = time.perf_counter() + interval * index / len(self.visitors)
            number = 0
            while True:
                due = start + number * interval
                if due - start >= seconds:
                    return
                delay = due - time.perf_counter()
                if delay > 0:
                    gevent.sleep(delay)
                acks.append(self.send(index, number, "open"))
                number += 1

        gevent.joinall([gevent.spawn(visitor_loop, index) for index in range(len(self.visitors))])
        sent = len(acks)
        for ack in acks:
            try:
                if not ack.get(timeout=30)["ok"]:
                    errors += 1
            except Exception:
                errors += 1
        deadline = time.monotonic() + 10
        while self.sent_at and time.monotonic() < deadline:
            gevent.sleep(0.05)
        return {"sent": sent, "received": self.received, "lost": sent - errors - self.received, "errors": errors,
                "p50": percentile(self.latencies, 0.5), "p95": percentile(self.latencies, 0.95),
                "p99": percentile(self.latencies, 0.99)}

    def closed_loop(self, *, seconds: float) -> dict[str, Any]:
        """Each visitor sends its next message when the previous is acknowledged; return messages a second."""
        self.reset()
        stop_at = time.perf_counter() + seconds

        def visitor_loop(index: int) -> None:
            number = 0
            while time.perf_counter() < stop_at:
                self.send(index, number, "closed").get(timeout=30)
                number += 1

        started = time.perf_counter()
        gevent.joinall([gevent.spawn(visitor_loop, index) for index in range(len(self.visitors))])
        elapsed = time.perf_counter() - started
        received_in_time = self.received
        deadline = time.monotonic() + 10
        while self.sent_at and time.monotonic() < deadline:
            gevent.sleep(0.05)
        return {"throughput": received_in_time / elapsed, "p99": percentile(self.latencies, 0.99),
                "lost": len(self.sent_at), "messages": self.received}

    def close(self) -> None:
        for connection in self.visitors + self.agents:
            connection.close()


def cpu_seconds(pids: list[int]) -> float:
    """Return the user plus system CPU time the processes have used."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as handle:
            total += next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
    return total


def measure(target: Target, *, chatserver: bool, rate: float, seconds: float) -> dict[str, Any]:
    run = Run(target, chatserver=chatserver)
    try:
        run.open_loop(rate=min(rate, 200), seconds=2)  # warm-up: imports, JIT-free caches, pools
        opened = run.open_loop(rate=rate, seconds=seconds)
        # CPU per message tells the cost apart from the machine's noise (it is shared).
        before = cpu_seconds(target.pids)
        closed = run.closed_loop(seconds=seconds)
        closed["cpu_ms_per_message"] = (cpu_seconds(target.pids) - before) * 1000 / max(1, closed["messages"])
    finally:
        run.close()
    return {"open": opened, "closed": closed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--only", choices=["full", "bare"], default=None)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as log_dir:
        if args.only != "full":
            bare = start_bare(visitors=args.visitors, agents=args.agents)
            try:
                results["bare"] = measure(bare, chatserver=False, rate=args.rate, seconds=args.seconds)
            finally:
                bare.stop()
        if args.only != "bare":
            full = start_chatserver(visitors=args.visitors, agents=args.agents, database_url=args.database_url,
                                    redis_url=args.redis_url, log_dir=log_dir)
            try:
                results["full"] = measure(full, chatserver=True, rate=args.rate, seconds=args.seconds)
            finally:
                full.stop()
    parts = [f"relay visitors={args.visitors} agents={args.agents} offered={args.rate:.0f}/s "
             f"db={'sqlite' if not args.database_url else args.database_url.split(':')[0]} "
             f"redis={'yes' if args.redis_url else 'no'}"]
    for name, result in results.items():
        opened, closed = result["open"], result["closed"]
        parts.append(f"{name}: max={closed['throughput']:.0f}/s p50={opened['p50']:.1f}ms p95={opened['p95']:.1f}ms "
                     f"p99={opened['p99']:.1f}ms lost={opened['lost'] + closed['lost']} errors={opened['errors']} "
                     f"server_cpu={closed['cpu_ms_per_message']:.2f}ms/msg")
    if len(results) == 2:
        parts.append(f"ratio={results['full']['closed']['throughput'] / results['bare']['closed']['throughput']:.2f}")
    print(" | ".join(parts))
    if os.environ.get("BENCH_JSON"):
        print(json.dumps(results))


if __name__ == "__main__":
    main()
