"""The SLA scheduler run by two processes' services on one database, with an injected clock: each step happens once."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from chatserver import config as config_module
from chatserver.db import upgrade
from chatserver.events import SlaBreached, SlaWarning
from chatserver.wiring import build_services

from ..support import Stack


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(datetime.now(timezone.utc).replace(microsecond=0))


@pytest.fixture(scope="module")
def pair(stack: Stack, tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[list]:
    """Two service containers, as two processes would build them, sharing the stack's database and Redis."""
    settings = config_module.from_env({**stack.env(), "TEAM_HOURS_DEFAULT": "always",
                                       "LANGUAGE_DETECTOR": "py3langid", "OPENAI_API_KEY": ""})
    settings = config_module.finalize(settings, instance_path=str(tmp_path_factory.mktemp("instance")))
    upgrade(settings["DATABASE_URL"])
    # Embedded mode is one process with in-process state: there the "second
    # process" is the same services running the scheduler again.
    count = 2 if stack.redis_url else 1
    containers = [build_services(settings, spawn=lambda *args, **kwargs: None, clock=clock) for _ in range(count)]
    yield containers * (3 - count)
    for container in containers:
        container.engine.dispose()
        container.state.close()


def collect(containers: list, kinds: tuple[type, ...]) -> list:
    seen: list = []
    for container in {id(container): container for container in containers}.values():
        container.events.subscribe(lambda event: seen.append(event) if isinstance(event, kinds) else None)
    return seen


def test_two_schedulers_age_warn_and_record_each_conversation_once(pair: list, clock: Clock) -> None:
    first, second = pair
    seen = collect(pair, (SlaWarning, SlaBreached))
    client = first.admin.create_client(email="late@example.com", name="Late")
    subscribed = first.admin.create_client(email="sub@example.com", name="Sub",
                                           subscription_active_until="2099-01-01T00:00:00Z")
    standard_id = first.chat.post_visitor_message(client_id=client.id, message_client_id="m1",
                                                  text="My invoice address is wrong").conversation["id"]
    clock.now += timedelta(hours=19)
    fresh_id = second.chat.post_visitor_message(client_id=subscribed.id, message_client_id="m1",
                                                text="I cannot log in to my account").conversation["id"]
    order = [entry.conversation_id for entry in first.state.queue_entries()]
    assert order.index(fresh_id) < order.index(standard_id)

    clock.now += timedelta(hours=1, seconds=1)  # 20 h: the escalation point
    assert first.sla.run()["escalated"] == 1
    assert second.sla.run()["escalated"] == 0
    order = [entry.conversation_id for entry in second.state.queue_entries()]
    assert order.index(standard_id) < order.index(fresh_id)
    # A repair rebuilds the same order from the database.
    second.chat.repair()
    assert [entry.conversation_id for entry in first.state.queue_entries()] == order

    clock.now += timedelta(hours=3, minutes=1)  # 59 minutes before the standard ticket's deadline
    for _ in range(3):
        first.sla.run()
        second.sla.run()
    # The subscribed ticket (4 h, due at 23 h) went past its warning and its
    # deadline between two runs: it is recorded as breached, not warned late.
    clock.now += timedelta(hours=1)
    for _ in range(3):
        second.sla.run()
        first.sla.run()
    happened = [(type(event).__name__, event.conversation["id"]) for event in seen]
    assert sorted(happened) == sorted([("SlaWarning", standard_id), ("SlaBreached", standard_id),
                                       ("SlaBreached", fresh_id)])
    assert happened.index(("SlaWarning", standard_id)) < happened.index(("SlaBreached", standard_id))
    breaches = first.sla.breaches()
    assert [entry["id"] for entry in breaches] == [standard_id, fresh_id]  # newest first
    assert breaches[0]["sla_breached_at"] == clock.now.isoformat().replace("+00:00", "Z")
    assert breaches[0]["first_response_at"] is None


def test_a_conversation_is_promoted_to_here_and_now_once(pair: list, clock: Clock) -> None:
    first, second = pair
    client = first.admin.create_client(email="urgent@example.com", name="Urgent")
    conversation_id = first.chat.post_visitor_message(client_id=client.id, message_client_id="m1",
                                                      text="Production is down").conversation["id"]
    assert first.chat.promote_here_and_now(conversation_id=conversation_id)
    assert not second.chat.promote_here_and_now(conversation_id=conversation_id)
    top = second.state.queue_entries()[0]
    assert top.conversation_id == conversation_id and top.summary["priority"] == "here_and_now"
    assert top.summary["team"] == "technical"
