"""What the server adds on top of the model, with many AI conversations streaming at once.

Starts a real `chatserver run` (embedded defaults) and a local HTTP server
speaking the OpenAI API, connects N visitors writing in French (not on the
panel), and measures, on one clock:
  - request: visitor's message sent -> the upstream chat-completions request received;
  - first token: upstream first chunk sent -> the first `message_delta` received;
  - chunk: every upstream chunk sent -> its `message_delta` received.
By default the visitors write 40 ms apart and every reply streams 40 chunks
over 2 s, so about 50 streams overlap; --stagger 0 sends every message at once.
Prints one summary line. Usage: python bench/ai_latency.py [--conversations 50] [--stagger 0.04]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.fake_openai import FakeOpenAI, Reply  # noqa: E402
from tests.support import Api, Peer, ServerProcess, Stack, identity_token  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--chunk-delay", type=float, default=0.05)
    parser.add_argument("--stagger", type=float, default=0.04,
                        help="seconds between visitors' first messages (0: all at once, a burst)")
    args = parser.parse_args()

    model = FakeOpenAI(default=Reply(text="x" * (8 * args.chunks), chunk_size=8, chunk_delay=args.chunk_delay)).start()
    workdir = tempfile.mkdtemp()
    stack = Stack("embedded", f"sqlite:///{workdir}/bench.sqlite3")
    server = ServerProcess(stack, log_path=f"{workdir}/server.log", extra_env={
        "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": model.base_url, "AI_WORKERS": str(args.conversations),
        "AI_CONVERSATION_TOKEN_BUDGET": "1000000", "LOG_LEVEL": "WARNING"})
    server.start()
    peers: list[Peer] = []
    try:
        assert server.cli("create-admin", "--email", "bench@example.com", "--password", "bench-password").returncode == 0
        admin = Api(server.base_url)
        admin.token = admin.login("bench@example.com", "bench-password")
        admin.ok("PUT", "/api/admin/languages", {"languages": ["en"]})
        received: dict[str, list[float]] = {}
        lock = threading.Lock()

        for number in range(args.conversations):
            client = admin.ok("POST", "/api/admin/clients", {"email": f"bench{number}-{uuid.uuid4().hex[:6]}@example.com",
                                                             "name": f"Bench {number}"}, status=201)
            peer = Peer(server.base_url, "/visitor")

            def on_delta(data, peer=peer):
                with lock:
                    received.setdefault(data["conversation_id"], []).append(time.time())

            peer.client.on("message_delta", on_delta, namespace="/visitor")
            peer.connect({"identity": identity_token(client["personal_id"], client["email"])})
            peers.append(peer)

        sent_at: dict[str, float] = {}
        ack_latency: list[float] = []
        conversation_of: dict[str, int] = {}
        start = time.time() + 0.5

        def write(index: int, peer: Peer) -> None:
            tag = f"Q{index:04d}Z"
            time.sleep(max(0.0, start + index * args.stagger - time.time()))
            sent_at[tag] = time.time()
            ack = peer.call("message", {"client_id": str(uuid.uuid4()),
                                        "text": f"Bonjour, j'ai une question sur ma facture {tag}, pouvez-vous m'aider ?"},
                            timeout=60)
            ack_latency.append(time.time() - sent_at[tag])
            conversation_of[tag] = ack["message"]["conversation_id"]

        threads = [threading.Thread(target=write, args=(i, p)) for i, p in enumerate(peers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.time() + 120
        while time.time() < deadline:
            with lock:
                if len(received) >= len(peers) and all(len(v) >= args.chunks for v in received.values()):
                    break
            time.sleep(0.2)

        request_latency, first_token, chunk_latency = [], [], []
        for record in model.requests:
            text = record.body["messages"][-1]["content"]
            tag = text[text.index("Q"):text.index("Q") + 6]
            request_latency.append(record.received_at - sent_at[tag])
            times = received.get(conversation_of[tag], [])
            if times and record.first_token_at:
                first_token.append(times[0] - record.first_token_at)
                chunk_latency.extend(got - sent for sent, got in zip(record.chunk_times, times))
        complete = sum(1 for times in received.values() if len(times) >= args.chunks)
        ms = lambda v: f"{v * 1000:.1f}"  # noqa: E731
        print(f"ai_latency conversations={args.conversations} stagger_ms={args.stagger * 1000:.0f} complete={complete} "
              f"ack_p50_ms={ms(statistics.median(ack_latency))} ack_p95_ms={ms(percentile(ack_latency, .95))} "
              f"request_p50_ms={ms(statistics.median(request_latency))} request_p95_ms={ms(percentile(request_latency, .95))} "
              f"first_token_p50_ms={ms(statistics.median(first_token))} first_token_p95_ms={ms(percentile(first_token, .95))} "
              f"chunk_p95_ms={ms(percentile(chunk_latency, .95))} chunk_p99_ms={ms(percentile(chunk_latency, .99))}")
    finally:
        for peer in peers:
            peer.disconnect()
        server.stop()
        model.stop()


if __name__ == "__main__":
    main()
