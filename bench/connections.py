"""Connections: N idle widget connections held open against one chatserver process.

Starts `chatserver run` (SQLite unless --database-url/--redis-url), creates
clients, and opens N /visitor connections over websocket (each authenticates
with its identity token, as the widget does), `--concurrency` at a time. It
reports the connect rate and the server's resident memory per connection
(growth of RSS from before the first connection to after the last, divided by
N), then checks that every connection is still open after holding them for
`--hold` seconds (the server's pings keep flowing). gevent-websocket has no
permessage-deflate, so compression is off by construction.

Prints one summary line. Usage:
  python bench/connections.py [--connections 10000] [--clients 1000] [--concurrency 200] [--hold 10]
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from gevent.pool import Pool  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from relay import rss_kb, start_chatserver  # noqa: E402
from sio import Connection  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--hold", type=float, default=10)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    per_client = -(-args.connections // args.clients)
    with tempfile.TemporaryDirectory() as log_dir:
        target = start_chatserver(visitors=args.clients, agents=1, database_url=args.database_url,
                                  redis_url=args.redis_url, log_dir=log_dir,
                                  extra_env={"MAX_CONNECTIONS_PER_CLIENT": str(per_client)})
        try:
            url = target.visitor_urls[0]
            # Warm the process up (imports, pools, first handshake) before measuring its baseline.
            for auth in target.visitor_auths[:5]:
                Connection(url, "/visitor", auth).close()
            gevent.sleep(1)
            baseline = rss_kb(target.pids)
            connections: list[Connection] = []
            failures = 0

            def open_one(number: int) -> None:
                nonlocal failures
                try:
                    connections.append(Connection(url, "/visitor", target.visitor_auths[number % args.clients],
                                                  timeout=60))
                except Exception:
                    failures += 1

            started = time.perf_counter()
            Pool(args.concurrency).map(open_one, range(args.connections))
            elapsed = time.perf_counter() - started
            gevent.sleep(2)
            loaded = rss_kb(target.pids)
            gevent.sleep(args.hold)
            still_open = sum(1 for connection in connections if not connection.closed)
            for connection in connections:
                connection.close()
        finally:
            target.stop()
    opened = len(connections)
    print(f"connections opened={opened} failed={failures} connect_rate={opened / elapsed:.0f}/s "
          f"rss_baseline={baseline / 1024:.0f}MB rss_loaded={loaded / 1024:.0f}MB "
          f"kb_per_connection={(loaded - baseline) / max(1, opened):.1f} "
          f"still_open_after_{args.hold:.0f}s={still_open}")


if __name__ == "__main__":
    main()
