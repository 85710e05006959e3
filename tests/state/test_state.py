"""The same behaviour tests for every SharedState backend."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import uuid4

import pytest
import redis

from chatserver.state import MemoryState, QueueEntry, RedisState, SharedState, make_state
from chatserver.state.keys import Keys

if TYPE_CHECKING:
    from .conftest import FakeClock


def ids(state: SharedState) -> list[int]:
    """Return the queued conversation ids in queue order."""
    return [entry.conversation_id for entry in state.queue_entries()]


# --- queue


def test_queue_starts_empty(state: SharedState) -> None:
    assert state.queue_entries() == []


def test_queue_orders_by_score_then_numeric_id(state: SharedState) -> None:
    # 10 vs 2 catches a lexicographic tie-break ("10" < "2").
    for conversation_id, score in [(10, 5.0), (2, 5.0), (7, 1.5), (100, 5.0), (3, -2.0), (1, 9.0)]:
        state.queue_put(conversation_id=conversation_id, score=score, summary={"id": conversation_id})
    assert ids(state) == [3, 7, 2, 10, 100, 1]
    assert [entry.score for entry in state.queue_entries()] == [-2.0, 1.5, 5.0, 5.0, 5.0, 9.0]


def test_queue_scores_and_large_ids_round_trip_exactly(state: SharedState) -> None:
    big = 2**62
    state.queue_put(conversation_id=big, score=0.1 + 0.2, summary={})
    state.queue_put(conversation_id=5, score=0.3, summary={})
    entries = state.queue_entries()
    # 0.3 < 0.1 + 0.2 in binary floating point; a lossy score would tie them.
    assert [(e.conversation_id, e.score) for e in entries] == [(5, 0.3), (big, 0.1 + 0.2)]


def test_queue_put_updates_score_and_summary(state: SharedState) -> None:
    state.queue_put(conversation_id=1, score=1.0, summary={"team": "support"})
    state.queue_put(conversation_id=2, score=2.0, summary={"team": "design"})
    state.queue_put(conversation_id=1, score=3.0, summary={"team": "technical", "language": "fr"})
    assert state.queue_entries() == [
        QueueEntry(conversation_id=2, score=2.0, summary={"team": "design"}),
        QueueEntry(conversation_id=1, score=3.0, summary={"team": "technical", "language": "fr"}),
    ]


def test_queue_remove(state: SharedState) -> None:
    state.queue_put(conversation_id=1, score=1.0, summary={})
    state.queue_put(conversation_id=2, score=2.0, summary={})
    assert state.queue_remove(conversation_id=1) is True
    assert state.queue_remove(conversation_id=1) is False
    assert state.queue_remove(conversation_id=999) is False
    assert ids(state) == [2]


def test_queue_replace(state: SharedState) -> None:
    state.queue_put(conversation_id=1, score=1.0, summary={"old": True})
    state.queue_put(conversation_id=2, score=2.0, summary={"old": True})
    state.queue_replace(
        entries=[
            QueueEntry(conversation_id=2, score=9.0, summary={"new": True}),
            QueueEntry(conversation_id=10, score=0.5, summary={"new": True}),
        ]
    )
    assert state.queue_entries() == [
        QueueEntry(conversation_id=10, score=0.5, summary={"new": True}),
        QueueEntry(conversation_id=2, score=9.0, summary={"new": True}),
    ]
    state.queue_replace(entries=iter([]))
    assert state.queue_entries() == []


def test_queue_replace_with_invalid_entry_keeps_old_queue(state: SharedState) -> None:
    state.queue_put(conversation_id=1, score=1.0, summary={"a": 1})
    with pytest.raises(TypeError):
        state.queue_replace(
            entries=[
                QueueEntry(conversation_id=2, score=1.0, summary={}),
                QueueEntry(conversation_id=3, score=1.0, summary={"bad": object()}),
            ]
        )
    assert state.queue_entries() == [QueueEntry(conversation_id=1, score=1.0, summary={"a": 1})]


def test_queue_rejects_nan_score_and_negative_id(state: SharedState) -> None:
    with pytest.raises(ValueError):
        state.queue_put(conversation_id=1, score=float("nan"), summary={})
    with pytest.raises(ValueError):
        state.queue_put(conversation_id=-1, score=1.0, summary={})
    assert state.queue_entries() == []


def test_queue_summary_is_isolated_from_callers(state: SharedState) -> None:
    summary = {"preview": "hi", "tags": ["a"]}
    state.queue_put(conversation_id=1, score=1.0, summary=summary)
    summary["preview"] = "changed"
    summary["tags"].append("b")
    first = state.queue_entries()[0]
    assert first.summary == {"preview": "hi", "tags": ["a"]}
    first.summary["tags"].append("c")
    first.summary["extra"] = 1
    assert state.queue_entries()[0].summary == {"preview": "hi", "tags": ["a"]}


# --- presence


def test_presence_touch_and_expire(state: SharedState, clock: FakeClock) -> None:
    assert state.present_agents() == set()
    state.presence_touch(agent_id=1, connection_id="c1", ttl=30)
    state.presence_touch(agent_id=2, connection_id="c2", ttl=60)
    assert state.present_agents() == {1, 2}
    clock.advance(29.9)
    assert state.present_agents() == {1, 2}
    clock.advance(0.1)  # exactly at agent 1's expiry: gone
    assert state.present_agents() == {2}
    clock.advance(30)
    assert state.present_agents() == set()


def test_presence_touch_refreshes(state: SharedState, clock: FakeClock) -> None:
    state.presence_touch(agent_id=1, connection_id="c1", ttl=30)
    clock.advance(20)
    state.presence_touch(agent_id=1, connection_id="c1", ttl=30)
    clock.advance(20)
    assert state.present_agents() == {1}
    clock.advance(10)
    assert state.present_agents() == set()


def test_presence_expired_connection_does_not_return_without_touch(state: SharedState, clock: FakeClock) -> None:
    state.presence_touch(agent_id=1, connection_id="c1", ttl=10)
    clock.advance(11)
    assert state.present_agents() == set()
    clock.advance(-5)  # a pruned connection stays gone even if a reader's clock lags
    assert state.present_agents() == set()


def test_presence_drop(state: SharedState) -> None:
    state.presence_touch(agent_id=1, connection_id="c1", ttl=30)
    state.presence_drop(agent_id=1, connection_id="c1")
    state.presence_drop(agent_id=1, connection_id="never-seen")
    state.presence_drop(agent_id=42, connection_id="c1")
    assert state.present_agents() == set()


def test_agent_with_several_connections_stays_present_until_all_gone(state: SharedState, clock: FakeClock) -> None:
    state.presence_touch(agent_id=7, connection_id="tab-a", ttl=30)
    state.presence_touch(agent_id=7, connection_id="tab:b", ttl=60)  # ids may contain ":"
    state.presence_touch(agent_id=8, connection_id="tab-a", ttl=30)  # same connection id, other agent
    state.presence_drop(agent_id=7, connection_id="tab-a")
    assert state.present_agents() == {7, 8}
    clock.advance(30)
    assert state.present_agents() == {7}
    clock.advance(30)
    assert state.present_agents() == set()

    state.presence_touch(agent_id=7, connection_id="tab-a", ttl=30)
    state.presence_touch(agent_id=7, connection_id="tab:b", ttl=30)
    state.presence_drop(agent_id=7, connection_id="tab:b")
    assert state.present_agents() == {7}
    state.presence_drop(agent_id=7, connection_id="tab-a")
    assert state.present_agents() == set()


def test_presence_rejects_non_positive_ttl(state: SharedState) -> None:
    with pytest.raises(ValueError):
        state.presence_touch(agent_id=1, connection_id="c", ttl=0)
    assert state.present_agents() == set()


# --- statuses


def test_agent_statuses(state: SharedState) -> None:
    assert state.agent_statuses(agent_ids=[1, 2]) == {}
    assert state.agent_statuses(agent_ids=[]) == {}
    state.agent_status_set(agent_id=1, status="online")
    state.agent_status_set(agent_id=2, status="away")
    state.agent_status_set(agent_id=1, status="away")
    assert state.agent_statuses(agent_ids=[1, 2, 3]) == {1: "away", 2: "away"}
    assert state.agent_statuses(agent_ids=(i for i in [2, 2])) == {2: "away"}
    with pytest.raises(ValueError):
        state.agent_status_set(agent_id=1, status="busy")
    assert state.agent_statuses(agent_ids=[1]) == {1: "away"}


# --- load


def test_load_reserve_up_to_capacity_and_release(state: SharedState) -> None:
    assert state.load_get(agent_ids=[1, 2]) == {1: 0, 2: 0}
    assert [state.load_reserve(agent_id=1, capacity=2) for _ in range(3)] == [True, True, False]
    assert state.load_get(agent_ids=[1, 2]) == {1: 2, 2: 0}
    state.load_release(agent_id=1)
    assert state.load_get(agent_ids=[1]) == {1: 1}
    assert state.load_reserve(agent_id=1, capacity=2) is True
    assert state.load_reserve(agent_id=2, capacity=0) is False
    assert state.load_get(agent_ids=[]) == {}


def test_load_release_floors_at_zero(state: SharedState) -> None:
    state.load_release(agent_id=1)
    assert state.load_get(agent_ids=[1]) == {1: 0}
    state.load_reserve(agent_id=1, capacity=3)
    state.load_release(agent_id=1)
    state.load_release(agent_id=1)
    assert state.load_get(agent_ids=[1]) == {1: 0}
    assert state.load_reserve(agent_id=1, capacity=1) is True


def test_load_reserve_never_exceeds_capacity_under_concurrency(state: SharedState) -> None:
    threads_count, capacity = 20, 5
    barrier = threading.Barrier(threads_count)
    results: list[bool] = []
    results_lock = threading.Lock()

    def reserve() -> None:
        barrier.wait()
        granted = state.load_reserve(agent_id=1, capacity=capacity)
        with results_lock:
            results.append(granted)

    threads = [threading.Thread(target=reserve) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == threads_count
    assert results.count(True) == capacity
    assert state.load_get(agent_ids=[1]) == {1: capacity}


def test_load_set_overwrites_only_given_agents(state: SharedState) -> None:
    state.load_reserve(agent_id=1, capacity=5)
    state.load_reserve(agent_id=2, capacity=5)
    state.load_reserve(agent_id=3, capacity=5)
    state.load_set(loads={1: 4, 2: 0, 4: 2})
    assert state.load_get(agent_ids=[1, 2, 3, 4]) == {1: 4, 2: 0, 3: 1, 4: 2}
    assert state.load_reserve(agent_id=1, capacity=5) is True
    assert state.load_reserve(agent_id=1, capacity=5) is False
    state.load_set(loads={})
    with pytest.raises(ValueError):
        state.load_set(loads={3: 9, 1: -1})
    assert state.load_get(agent_ids=[1, 3]) == {1: 5, 3: 1}


# --- locks


def test_lock_is_exclusive_and_only_owner_releases(state: SharedState) -> None:
    assert state.lock_acquire(name="repair", owner="a", ttl=30) is True
    assert state.lock_acquire(name="repair", owner="b", ttl=30) is False
    assert state.lock_acquire(name="other", owner="b", ttl=30) is True
    state.lock_release(name="repair", owner="b")  # not the owner: no effect
    assert state.lock_acquire(name="repair", owner="b", ttl=30) is False
    state.lock_release(name="repair", owner="a")
    assert state.lock_acquire(name="repair", owner="b", ttl=30) is True
    state.lock_release(name="never-taken", owner="a")


def test_lock_expiry_lets_another_owner_take_it(state: SharedState, lapse: Callable[[float], None]) -> None:
    assert state.lock_acquire(name="repair", owner="a", ttl=0.2) is True
    assert state.lock_acquire(name="repair", owner="b", ttl=0.2) is False
    lapse(0.25)
    assert state.lock_acquire(name="repair", owner="b", ttl=30) is True
    # The late former owner can neither release nor renew b's lease.
    state.lock_release(name="repair", owner="a")
    assert state.lock_acquire(name="repair", owner="a", ttl=30) is False


def test_lock_owner_can_renew(state: SharedState, lapse: Callable[[float], None]) -> None:
    assert state.lock_acquire(name="repair", owner="a", ttl=0.3) is True
    lapse(0.15)
    assert state.lock_acquire(name="repair", owner="a", ttl=0.3) is True
    lapse(0.2)  # past the first lease, inside the renewed one
    assert state.lock_acquire(name="repair", owner="b", ttl=30) is False


# --- plumbing


# --- counters


def test_counter_adds_and_reads(state: SharedState) -> None:
    assert state.counter_get(name="tokens") == 0
    assert state.counter_add(name="tokens", amount=120, ttl=60) == 120
    assert state.counter_add(name="tokens", amount=30, ttl=60) == 150
    assert state.counter_get(name="tokens") == 150
    assert state.counter_get(name="other") == 0


def test_counter_concurrent_adds_are_not_lost(state: SharedState) -> None:
    def add() -> None:
        for _ in range(50):
            state.counter_add(name="busy", amount=1, ttl=60)

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert state.counter_get(name="busy") == 400


def test_counter_expires_from_its_creation(state: SharedState, lapse: Callable[[float], None]) -> None:
    state.counter_add(name="day", amount=5, ttl=0.3)
    lapse(0.2)
    state.counter_add(name="day", amount=5, ttl=0.3)  # does not extend the lifetime
    lapse(0.25)
    assert state.counter_get(name="day") == 0
    assert state.counter_add(name="day", amount=1, ttl=0.3) == 1


# --- claims and member sets


def test_claim_once_is_won_once_until_it_expires(state: SharedState, lapse: Callable[[float], None]) -> None:
    assert state.claim_once(name="jti:a", ttl=0.3) is True
    assert state.claim_once(name="jti:a", ttl=0.3) is False
    assert state.claim_once(name="jti:b", ttl=0.3) is True
    lapse(0.4)
    assert state.claim_once(name="jti:a", ttl=0.3) is True


def test_claim_once_has_one_winner_among_threads(state: SharedState) -> None:
    wins: list[bool] = []

    def claim() -> None:
        wins.append(state.claim_once(name="race", ttl=60))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


def test_members_expire_one_by_one(state: SharedState, lapse: Callable[[float], None]) -> None:
    assert state.members_get(name="sockets:1") == set()
    state.members_add(name="sockets:1", member="sid-a", ttl=0.3)
    state.members_add(name="sockets:1", member="sid-b", ttl=5)
    state.members_add(name="sockets:2", member="sid-c", ttl=5)
    assert state.members_get(name="sockets:1") == {"sid-a", "sid-b"}
    lapse(0.4)
    assert state.members_get(name="sockets:1") == {"sid-b"}
    state.members_remove(name="sockets:1", member="sid-b")
    state.members_remove(name="sockets:1", member="never-there")
    assert state.members_get(name="sockets:1") == set()
    assert state.members_get(name="sockets:2") == {"sid-c"}


# --- job queues


def test_jobs_come_out_oldest_first(state: SharedState) -> None:
    for number in range(3):
        assert state.job_push(queue="ai", payload={"n": number}, limit=10)
    assert [state.job_pop(queue="ai", timeout=0.1) for _ in range(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert state.job_pop(queue="ai", timeout=0.05) is None


def test_job_push_is_bounded(state: SharedState) -> None:
    assert state.job_push(queue="small", payload={"n": 1}, limit=2)
    assert state.job_push(queue="small", payload={"n": 2}, limit=2)
    assert not state.job_push(queue="small", payload={"n": 3}, limit=2)
    assert state.job_pop(queue="small", timeout=0.1) == {"n": 1}
    assert state.job_push(queue="small", payload={"n": 3}, limit=2)


def test_job_pop_waits_for_a_push(state: SharedState) -> None:
    timer = threading.Timer(0.2, lambda: state.job_push(queue="later", payload={"late": True}, limit=5))
    timer.start()
    assert state.job_pop(queue="later", timeout=2) == {"late": True}
    timer.join()


def test_message_queue_url_and_ping(state: SharedState) -> None:
    assert state.ping() is True
    if isinstance(state, RedisState):
        assert state.message_queue_url == os.environ["TEST_REDIS_URL"]
    else:
        assert state.message_queue_url is None


def test_make_state_picks_backend() -> None:
    assert isinstance(make_state(redis_url=None), MemoryState)
    assert isinstance(make_state(redis_url=""), MemoryState)
    backend = make_state(redis_url="redis://127.0.0.1:1/0", prefix="x:")  # connects lazily
    try:
        assert isinstance(backend, RedisState)
        assert backend.keys.queue() == "x:queue"
    finally:
        backend.close()


def test_keys_share_the_prefix() -> None:
    keys = Keys("p:")
    names = [
        keys.queue(),
        keys.queue_summaries(),
        keys.presence(),
        keys.agent_status(),
        keys.agent_load(),
        keys.lock("x"),
    ]
    assert all(name.startswith("p:") for name in names)
    assert len(set(names)) == len(names)
    assert Keys().queue() == "chatserver:queue"
    assert Keys("a*[b]:").pattern() == r"a\*\[b\]:*"


def test_redis_writes_only_under_prefix_with_expected_ttls(redis_client: redis.Redis, clock: FakeClock) -> None:
    prefix = f"test:{uuid4().hex}:"
    keys = Keys(prefix)
    backend = RedisState(os.environ["TEST_REDIS_URL"], prefix=prefix, clock=clock)
    try:
        backend.queue_put(conversation_id=1, score=1.0, summary={})
        backend.presence_touch(agent_id=1, connection_id="c", ttl=30)
        backend.agent_status_set(agent_id=1, status="online")
        backend.load_reserve(agent_id=1, capacity=1)
        backend.lock_acquire(name="repair", owner="a", ttl=30)
        found = set(redis_client.scan_iter(match=keys.pattern()))
        assert found == {
            keys.queue(),
            keys.queue_summaries(),
            keys.presence(),
            keys.agent_status(),
            keys.agent_load(),
            keys.lock("repair"),
        }
        # Durable keys have no TTL; presence and locks clean themselves up.
        for name in (keys.queue(), keys.queue_summaries(), keys.agent_status(), keys.agent_load()):
            assert redis_client.pttl(name) == -1, name
        assert 30_000 < redis_client.pttl(keys.presence()) <= (30 + Keys.PRESENCE_GRACE) * 1000
        # A shorter-lived connection never shortens the key's lifetime.
        backend.presence_touch(agent_id=2, connection_id="c", ttl=1)
        assert redis_client.pttl(keys.presence()) > 30_000
        assert 0 < redis_client.pttl(keys.lock("repair")) <= 30_000
    finally:
        backend.close()
        found = list(redis_client.scan_iter(match=keys.pattern()))
        if found:
            redis_client.delete(*found)
