"""A synthetic week of support traffic on the project's real routing, SLA and calendar code, with a virtual clock.

Arrivals come by hour of the week (Berlin time), language, team and tier;
agents have languages, teams, capacities and their own shift calendars
(split shifts, a night shift split at midnight); handling times are drawn
from a log-normal distribution. Every minute of virtual time the simulator
does what the server does: queue arrivals with chatserver.routing.queue_score
and the SlaPolicy deadlines, re-score a conversation once at its escalation
point (aging), and give each free agent slot the best queued conversation it
may take (chatserver.routing.can_take, with team calendars from
chatserver.routing.calendar). A first response is the moment an agent takes
the conversation. Arrivals stop after the week; the queue then drains for up
to three more days so late arrivals are measured too.

Prints one summary line, then a table per tier.
Usage: python bench/simulate.py [--seed 7] [--weekend-cover] [--arrivals-per-day 230]
"""
from __future__ import annotations

import argparse
import bisect
import heapq
import math
import os
import random
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from chatserver.routing import AgentView, QueueItem, can_take, initial_priority, queue_score  # noqa: E402
from chatserver.routing.calendar import TeamCalendar, is_open, next_closing, next_opening  # noqa: E402
from chatserver.routing.sla import SlaPolicy  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 23, 0, 0, tzinfo=BERLIN).astimezone(timezone.utc)  # Monday; DST starts on the Sunday
MINUTE = timedelta(minutes=1)
WEEK_MINUTES = 7 * 24 * 60
DRAIN_MINUTES = 3 * 24 * 60
PANEL = {"en", "de", "fr", "es"}
# Share of arrivals by Berlin hour on weekdays (peaks mid-morning and afternoon); weekends get 35%.
HOURLY = [0.3, 0.2, 0.15, 0.15, 0.2, 0.35, 0.6, 1.0, 1.6, 2.0, 2.1, 1.9, 1.6, 1.8, 1.9, 1.8, 1.6, 1.3,
          1.1, 1.0, 0.9, 0.8, 0.6, 0.4]
LANGUAGES = {"en": 0.50, "de": 0.25, "fr": 0.10, "es": 0.07, "ja": 0.08}
TEAMS = {"support": 0.60, "technical": 0.30, "design": 0.10}
SUBSCRIBED_SHARE = 0.30
HERE_AND_NOW_SHARE = 0.03  # of technical conversations
AI_HANDOFF_SHARE = 0.25  # of out-of-panel conversations, after the AI
HANDLING_MEDIAN_MINUTES = {"support": 12.0, "technical": 18.0, "design": 20.0}
HANDLING_SIGMA = 0.6

WEEKDAYS = range(5)


def hours(*periods: tuple[int, int]) -> tuple[tuple[time, time], ...]:
    return tuple((time(start), time(end) if end < 24 else time.max) for start, end in periods)


def calendar(days: range | tuple[int, ...], *periods: tuple[int, int], always_open: bool = False) -> TeamCalendar:
    return TeamCalendar(timezone="Europe/Berlin", weekly={day: hours(*periods) for day in days},
                        always_open=always_open)


TEAM_CALENDARS = {
    "support": calendar(WEEKDAYS, (8, 19)),
    "technical": calendar((), always_open=True),
    "design": calendar(WEEKDAYS, (9, 17)),
}
EVERY_DAY = range(7)


@dataclass
class Agent:
    id: int
    languages: tuple[str, ...]
    teams: tuple[str, ...]
    capacity: int
    shift: TeamCalendar
    outside_hours: bool = False
    busy_until: list[datetime] = field(default_factory=list)
    # Cached shift state: (open, until), refreshed with the calendar's own next change.
    _state: tuple[bool, datetime | None] | None = None

    def on_shift(self, now: datetime) -> bool:
        if self._state is None or (self._state[1] is not None and now >= self._state[1]):
            opened = is_open(self.shift, now)
            self._state = (opened, next_closing(self.shift, now) if opened else next_opening(self.shift, now))
        return self._state[0]


def staff(weekend_cover: bool) -> list[Agent]:
    agents = [
        # Support: split shifts around lunch, staggered.
        Agent(1, ("en", "de"), ("support",), 3, calendar(WEEKDAYS, (8, 12), (13, 17))),
        Agent(2, ("en", "de"), ("support",), 3, calendar(WEEKDAYS, (10, 14), (15, 19))),
        Agent(3, ("en", "fr"), ("support",), 3, calendar(WEEKDAYS, (8, 12), (13, 17))),
        Agent(4, ("en", "es"), ("support",), 3, calendar(WEEKDAYS, (11, 15), (15, 19))),
        Agent(5, ("en", "de", "fr"), ("support", "design"), 3, calendar(WEEKDAYS, (9, 13), (14, 18))),
        # Design.
        Agent(6, ("en", "de"), ("design",), 2, calendar(WEEKDAYS, (9, 17))),
        # Technical, around the clock: early, late and a night shift split at midnight.
        Agent(7, ("en", "de"), ("technical",), 2, calendar(EVERY_DAY, (6, 14))),
        Agent(8, ("en", "fr", "es"), ("technical",), 2, calendar(WEEKDAYS, (8, 16))),
        Agent(9, ("en", "de"), ("technical",), 2, calendar(EVERY_DAY, (14, 22))),
        Agent(10, ("en",), ("technical",), 2, calendar(EVERY_DAY, (0, 6), (22, 24))),
    ]
    if weekend_cover:
        # One support generalist works weekend mornings outside the team's hours.
        agents.append(Agent(11, ("en", "de", "fr", "es"), ("support", "design"), 4,
                            calendar((5, 6), (9, 14)), outside_hours=True))
    return agents


@dataclass
class Conversation:
    id: int
    arrived_at: datetime
    language: str
    queue_language: str
    team: str
    tier: str
    due_at: datetime
    escalate_at: datetime
    escalated: bool = False
    taken_at: datetime | None = None

    def score(self) -> float:
        return queue_score(priority=self.tier, sla_due_at=self.due_at, escalated=self.escalated)


def pick(weights: dict[str, float], rng: random.Random) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def arrivals(rng: random.Random, per_day: float) -> list[tuple[datetime, str, str, str]]:
    """Return (time, language, team, kind) for a week; kind is subscribed, standard, here_and_now or ai."""
    weekday_total = sum(HOURLY)
    result = []
    minute = 0
    while minute < WEEK_MINUTES:
        now = START + minute * MINUTE
        local = now.astimezone(BERLIN)
        share = HOURLY[local.hour] / weekday_total * (0.35 if local.weekday() >= 5 else 1.0)
        rate_per_minute = per_day * share / 60
        for _ in range(_poisson(rate_per_minute, rng)):
            language = pick(LANGUAGES, rng)
            team = pick(TEAMS, rng)
            if language not in PANEL:
                kind = "ai"
            elif team == "technical" and rng.random() < HERE_AND_NOW_SHARE:
                kind = "here_and_now"
            else:
                kind = "subscribed" if rng.random() < SUBSCRIBED_SHARE else "standard"
            result.append((now + rng.random() * MINUTE, language, team, kind))
        minute += 1
    return result


def _poisson(rate: float, rng: random.Random) -> int:
    threshold, count, product = math.exp(-rate), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def simulate(*, seed: int, per_day: float, weekend_cover: bool, policy: SlaPolicy) -> dict:
    rng = random.Random(seed)
    agents = staff(weekend_cover)
    incoming = arrivals(rng, per_day)
    conversations: list[Conversation] = []
    queue: list[tuple[float, int]] = []  # (static score, id), sorted: the shared queue's order
    escalations: list[tuple[datetime, int]] = []
    by_id: dict[int, Conversation] = {}
    team_state: dict[str, tuple[bool, datetime | None]] = {}
    next_arrival = 0
    ai_handled = 0
    not_offered = 0
    for minute in range(WEEK_MINUTES + DRAIN_MINUTES):
        now = START + minute * MINUTE
        while next_arrival < len(incoming) and incoming[next_arrival][0] <= now:
            arrived_at, language, team, kind = incoming[next_arrival]
            next_arrival += 1
            queue_language = language
            if kind == "ai":
                if rng.random() >= AI_HANDOFF_SHARE:
                    ai_handled += 1
                    continue  # the AI agent answered; no human needed
                queue_language = "en"  # handed to English-speaking humans, lowest tier
                tier = "ai"
            elif kind == "here_and_now" and _specialist_online(agents, language, now):
                tier = "here_and_now"
                team = "technical"
            elif kind == "here_and_now":
                # As the server does: no specialist of the language online, no offer.
                not_offered += 1
                tier = "standard"
            else:
                tier = initial_priority(subscribed=kind == "subscribed")
            schedule = policy.schedule(priority=tier, arrived_at=arrived_at)
            conversation = Conversation(len(conversations) + 1, arrived_at, language, queue_language, team, tier,
                                        schedule.due_at, schedule.escalate_at)
            conversations.append(conversation)
            by_id[conversation.id] = conversation
            bisect.insort(queue, (conversation.score(), conversation.id))
            if tier != "here_and_now":
                heapq.heappush(escalations, (schedule.escalate_at, conversation.id))
        # Aging: re-score once, at the escalation moment, as the scheduler does.
        while escalations and escalations[0][0] <= now:
            _, conversation_id = heapq.heappop(escalations)
            conversation = by_id[conversation_id]
            if conversation.taken_at is None:
                queue.remove((conversation.score(), conversation_id))
                conversation.escalated = True
                bisect.insort(queue, (conversation.score(), conversation_id))
        if not queue:
            continue
        closed = frozenset(team for team, team_calendar in TEAM_CALENDARS.items()
                           if not _team_open(team, team_calendar, now, team_state))
        for agent in agents:
            agent.busy_until = [until for until in agent.busy_until if until > now]
            view = AgentView(id=agent.id, languages=agent.languages, teams=agent.teams, capacity=agent.capacity,
                             online=agent.on_shift(now), load=len(agent.busy_until),
                             closed_teams=frozenset() if agent.outside_hours else closed)
            while view.online and view.load < view.capacity and queue:
                chosen = next((entry for entry in queue
                               if can_take(view, _item(by_id[entry[1]])) is None), None)
                if chosen is None:
                    break
                queue.remove(chosen)
                conversation = by_id[chosen[1]]
                conversation.taken_at = now
                median = HANDLING_MEDIAN_MINUTES[conversation.team]
                handling = rng.lognormvariate(math.log(median), HANDLING_SIGMA)
                agent.busy_until.append(now + timedelta(minutes=handling))
                view = AgentView(**{**view.__dict__, "load": len(agent.busy_until)})
    return {"conversations": conversations, "ai_handled": ai_handled, "not_offered": not_offered, "end": START + (WEEK_MINUTES + DRAIN_MINUTES) * MINUTE}


def _specialist_online(agents: list[Agent], language: str, now: datetime) -> bool:
    item = QueueItem(0, language, "technical")
    return any(can_take(AgentView(id=agent.id, languages=agent.languages, teams=agent.teams,
                                  capacity=agent.capacity, online=agent.on_shift(now), load=0), item) is None
               for agent in agents)


def _item(conversation: Conversation) -> QueueItem:
    return QueueItem(conversation.id, conversation.queue_language, conversation.team)


def _team_open(team: str, team_calendar: TeamCalendar, now: datetime,
               cache: dict[str, tuple[bool, datetime | None]]) -> bool:
    state = cache.get(team)
    if state is None or (state[1] is not None and now >= state[1]):
        opened = is_open(team_calendar, now)
        state = (opened, next_closing(team_calendar, now) if opened else next_opening(team_calendar, now))
        cache[team] = state
    return state[0]


def report(result: dict, policy: SlaPolicy) -> tuple[str, list[str]]:
    conversations = result["conversations"]
    rows = ["| tier | conversations | first response within 24 h | within the tier's deadline | median wait | p90 wait | unanswered at the end |",
            "|---|---|---|---|---|---|---|"]
    summary = []
    by_tier: dict[str, list[Conversation]] = defaultdict(list)
    for conversation in conversations:
        by_tier[conversation.tier].append(conversation)
    for tier in ("here_and_now", "subscribed", "standard", "ai"):
        group = by_tier.get(tier, [])
        if not group:
            continue
        waits = [((c.taken_at or result["end"]) - c.arrived_at).total_seconds() / 60 for c in group]
        within_24 = sum(1 for c in group if c.taken_at and c.taken_at - c.arrived_at <= timedelta(hours=24))
        within_deadline = sum(1 for c in group if c.taken_at and c.taken_at <= c.due_at)
        unanswered = sum(1 for c in group if c.taken_at is None)
        rows.append(f"| {tier} | {len(group)} | {100 * within_24 / len(group):.1f}% | "
                    f"{100 * within_deadline / len(group):.1f}% ({policy.hours[tier]:g} h) | "
                    f"{_minutes(statistics.median(waits))} | {_minutes(percentile(waits, 0.9))} | {unanswered} |")
        summary.append(f"{tier} {100 * within_24 / len(group):.1f}% <=24h")
    # Where the 24-hour promise was missed: by team, language and Berlin arrival day, to show the staffing gap.
    missed: dict[str, int] = defaultdict(int)
    for c in conversations:
        if not c.taken_at or c.taken_at - c.arrived_at > timedelta(hours=24):
            missed[f"{c.team}/{c.queue_language}/{c.arrived_at.astimezone(BERLIN):%a}"] += 1
    if missed:
        rows.append("")
        rows.append("missed 24 h (team/language/arrival day): "
                    + ", ".join(f"{key} {count}" for key, count in sorted(missed.items(), key=lambda kv: -kv[1])))
    urgent = by_tier.get("here_and_now", [])
    served = sum(1 for c in urgent if c.taken_at and c.taken_at - c.arrived_at <= timedelta(minutes=5))
    line = (f"simulate: {len(conversations)} human conversations (+{result['ai_handled']} answered by the AI), "
            + ", ".join(summary) + f", here_and_now served within 5 min: {served}/{len(urgent)}"
            f" ({result['not_offered']} urgent requests not offered: no specialist of the language online)")
    return line, rows


def _minutes(value: float) -> str:
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--arrivals-per-day", type=float, default=230)
    parser.add_argument("--weekend-cover", action="store_true",
                        help="one support agent works weekend mornings outside the team's hours")
    args = parser.parse_args()
    policy = SlaPolicy()
    result = simulate(seed=args.seed, per_day=args.arrivals_per_day, weekend_cover=args.weekend_cover,
                      policy=policy)
    line, rows = report(result, policy)
    print(line)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
