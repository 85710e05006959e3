"""Routing cost: the next conversation for an agent, with 10,000 queued conversations and 500 online agents.

Runs the project's real routing code (chatserver.routing) over the shared
queue (in-process state, or Redis with --redis URL), and prints one summary
line: p50 and p99 of choosing one agent's next conversation, and of building
one agent's full visible queue (what the `queue` event sends).
Usage: python bench/routing.py [--queued 10000] [--agents 500] [--redis redis://127.0.0.1:6379/0]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from chatserver.routing import AgentView, QueueItem, can_take, queue_score, visible_queue  # noqa: E402
from chatserver.state import MemoryState, QueueEntry, RedisState  # noqa: E402

LANGUAGES = ["en", "de", "es", "fr", "it", "pt", "nl", "pl"]
TEAMS = ["support", "technical", "design", "copywriting", "projects"]
TIERS = ["here_and_now", "subscribed", "standard", "ai"]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queued", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--redis", default=None)
    args = parser.parse_args()
    rng = random.Random(7)
    state = RedisState(args.redis, prefix=f"bench:{uuid.uuid4().hex[:8]}:") if args.redis else MemoryState()
    now = datetime.now(timezone.utc)
    entries = []
    for number in range(1, args.queued + 1):
        # Skewed like real traffic: most conversations in English and support.
        language = rng.choices(LANGUAGES, weights=[40, 15, 12, 10, 6, 6, 6, 5])[0]
        team = rng.choices(TEAMS, weights=[60, 25, 5, 5, 5])[0]
        priority = rng.choices(TIERS, weights=[1, 30, 60, 9])[0]
        due = now + timedelta(hours=24) - timedelta(seconds=rng.uniform(0, 86_400))
        entries.append(QueueEntry(conversation_id=number, score=queue_score(priority=priority, sla_due_at=due),
                                  summary={"id": number, "queue_language": language, "team": team,
                                           "priority": priority, "preview": "x" * 80}))
    state.queue_replace(entries=entries)
    agents = [AgentView(id=n, languages=tuple(rng.sample(LANGUAGES, rng.randint(1, 3))),
                        teams=tuple(rng.sample(TEAMS, rng.randint(1, 2))), capacity=5, online=True,
                        load=rng.randint(0, 4)) for n in range(args.agents)]

    snapshot_ms, next_ms, visible_ms = [], [], []
    for agent in agents:
        start = time.perf_counter()
        queue = state.queue_entries()
        snapshot_ms.append((time.perf_counter() - start) * 1000)
        items = [(QueueItem(e.conversation_id, e.summary["queue_language"], e.summary["team"]), e) for e in queue]
        start = time.perf_counter()
        next(entry for item, entry in items if can_take(agent, item) is None)
        next_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        visible_queue(agent, items)
        visible_ms.append((time.perf_counter() - start) * 1000)
    if args.redis:
        state.queue_replace(entries=[])
    print(f"routing queued={args.queued} agents={args.agents} backend={'redis' if args.redis else 'memory'} "
          f"next_p50_ms={statistics.median(next_ms):.3f} next_p99_ms={percentile(next_ms, .99):.3f} "
          f"visible_queue_p50_ms={statistics.median(visible_ms):.2f} visible_queue_p99_ms={percentile(visible_ms, .99):.2f} "
          f"queue_snapshot_p50_ms={statistics.median(snapshot_ms):.1f} queue_snapshot_p99_ms={percentile(snapshot_ms, .99):.1f}")


if __name__ == "__main__":
    main()
