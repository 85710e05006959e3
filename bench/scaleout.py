"""Scale-out: the relay load (bench/relay.py) on PostgreSQL through 1 process without Redis, 1 with Redis, and 2 with Redis.

With two processes every visitor is on one process and its agent on the
other, so every message crosses Redis: the worst case for the message queue.
Each configuration gets a fresh PostgreSQL database (created next to
--database-url's and dropped afterwards) and its own Redis key prefix.

Prints one summary line: max throughput and p99 at the offered rate for each,
the Redis overhead (1 process with Redis against without) and the scale-out
ratio (2 processes against 1, both with Redis). Usage:
  python bench/scaleout.py --database-url postgresql://postgres@127.0.0.1:5432/test \\
                           --redis-url redis://127.0.0.1:6379/0 [--visitors 50] [--rate 1000] [--seconds 10]
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from relay import measure, start_chatserver  # noqa: E402


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url).set(drivername="postgresql+psycopg")
    name = f"chatserver_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    configurations = [("1proc", 1, None), ("1proc+redis", 1, args.redis_url), ("2proc+redis", 2, args.redis_url)]
    results = {}
    for name, processes, redis_url in configurations:
        with fresh_database(args.database_url) as database_url, tempfile.TemporaryDirectory() as log_dir:
            target = start_chatserver(visitors=args.visitors, agents=args.agents, database_url=database_url,
                                      redis_url=redis_url, processes=processes, log_dir=log_dir)
            try:
                results[name] = measure(target, chatserver=True, rate=args.rate, seconds=args.seconds)
            finally:
                target.stop()
    parts = [f"scaleout visitors={args.visitors} agents={args.agents} offered={args.rate:.0f}/s db=postgresql"]
    for name, result in results.items():
        opened, closed = result["open"], result["closed"]
        parts.append(f"{name}: max={closed['throughput']:.0f}/s p99={opened['p99']:.1f}ms "
                     f"lost={opened['lost'] + closed['lost']} cpu={closed['cpu_ms_per_message']:.2f}ms/msg")
    throughput = {name: result["closed"]["throughput"] for name, result in results.items()}
    parts.append(f"redis_overhead={1 - throughput['1proc+redis'] / throughput['1proc']:.0%} "
                 f"scaleout_ratio={throughput['2proc+redis'] / throughput['1proc+redis']:.2f}")
    print(" | ".join(parts))


if __name__ == "__main__":
    main()
