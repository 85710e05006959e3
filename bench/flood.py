"""Flood: does one visitor flooding the server raise everyone else's latency?

chatserver runs with its default rate limits. V visitors, each in a
conversation an agent has accepted, write one message a second (a brisk
chat); their visitor-to-agent p95 is measured for T seconds, then again for T
seconds while one more visitor floods: it keeps `--window` messages in flight
at all times, as fast as the server acknowledges them.

Prints one summary line: the others' p50/p95 without and with the flood, and
how many of the flooder's messages were stored and refused. Usage:
  python bench/flood.py [--visitors 50] [--seconds 10] [--window 20]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from relay import TEXTS, Run, start_chatserver  # noqa: E402
from sio import Connection  # noqa: E402

DEFAULT_LIMITS = {"MESSAGE_RATE_BURST": "30", "MESSAGE_RATE_PER_SECOND": "2", "EVENT_RATE_BURST": "60",
                  "EVENT_RATE_PER_SECOND": "10"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--window", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as log_dir:
        # One more client than visitors: the last one floods.
        target = start_chatserver(visitors=args.visitors + 1, agents=args.agents, database_url=args.database_url,
                                  redis_url=args.redis_url, log_dir=log_dir, extra_env=DEFAULT_LIMITS)
        flooder_auth = target.visitor_auths.pop()
        try:
            run = Run(target, chatserver=True)
            rate = float(args.visitors)  # one message a second each
            quiet = run.open_loop(rate=rate, seconds=args.seconds)
            flooder = Connection(target.visitor_urls[0], "/visitor", flooder_auth)
            counts = {"stored": 0, "refused": 0, "other": 0}
            stop_at = time.perf_counter() + args.seconds + 2

            def flood_lane(lane: int) -> None:
                number = 0
                while time.perf_counter() < stop_at:
                    number += 1
                    ack = flooder.call("message", {"client_id": f"flood-{lane}-{number}", "text": TEXTS[number % 4]})
                    if ack["ok"]:
                        counts["stored"] += 1
                    elif ack["error"]["code"] == "rate_limited":
                        counts["refused"] += 1
                    else:
                        counts["other"] += 1

            lanes = [gevent.spawn(flood_lane, lane) for lane in range(args.window)]
            gevent.sleep(1)  # the flood is under way before measuring
            flooded = run.open_loop(rate=rate, seconds=args.seconds)
            gevent.joinall(lanes)
            flooder.close()
            run.close()
        finally:
            target.stop()
    print(f"flood visitors={args.visitors} at 1 msg/s each, flooder window={args.window} | "
          f"others without flood: p50={quiet['p50']:.1f}ms p95={quiet['p95']:.1f}ms lost={quiet['lost']} | "
          f"others during flood: p50={flooded['p50']:.1f}ms p95={flooded['p95']:.1f}ms lost={flooded['lost']} "
          f"errors={flooded['errors']} | flooder: stored={counts['stored']} refused={counts['refused']} "
          f"attempts/s={(counts['stored'] + counts['refused'] + counts['other']) / (args.seconds + 2):.0f}")


if __name__ == "__main__":
    main()
