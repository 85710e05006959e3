"""Token buckets per connection and event class."""
from __future__ import annotations

from chatserver.realtime.limits import Limiter, Rate

RATES = {"message": Rate(burst=3, per_second=1.0), "*": Rate(burst=2, per_second=10.0)}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill() -> None:
    clock = Clock()
    limiter = Limiter(RATES, clock=clock)
    assert [limiter.allow("a", "message") for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5
    assert not limiter.allow("a", "message")
    clock.now += 0.5
    assert limiter.allow("a", "message")
    clock.now += 100  # refill is capped at the burst
    assert [limiter.allow("a", "message") for _ in range(4)] == [True, True, True, False]


def test_connections_and_event_classes_are_separate() -> None:
    limiter = Limiter(RATES, clock=Clock())
    for _ in range(3):
        limiter.allow("a", "message")
    assert not limiter.allow("a", "message")
    assert limiter.allow("b", "message")
    assert limiter.allow("a", "history") and limiter.allow("a", "queue") and not limiter.allow("a", "accept")


def test_forget_drops_a_connections_buckets() -> None:
    limiter = Limiter(RATES, clock=Clock())
    for _ in range(3):
        limiter.allow("a", "message")
    limiter.forget("a")
    assert limiter.allow("a", "message")


def test_a_clients_connections_share_one_bucket() -> None:
    limiter = Limiter(RATES, clock=Clock())
    assert limiter.connect("tab1", "client:1") and limiter.connect("tab2", "client:1")
    assert limiter.connect("other", "client:2")
    assert [limiter.allow("tab1", "message"), limiter.allow("tab2", "message"), limiter.allow("tab1", "message"),
            limiter.allow("tab2", "message")] == [True, True, True, False]
    assert limiter.allow("other", "message")


def test_connections_per_owner_are_capped_and_freed_on_forget() -> None:
    limiter = Limiter(RATES, clock=Clock(), max_connections=2)
    assert limiter.connect("a", "client:1") and limiter.connect("b", "client:1")
    assert not limiter.connect("c", "client:1")
    assert limiter.connect("d", "client:2")
    limiter.forget("a")
    assert limiter.connect("c", "client:1")
    limiter.forget("b")
    limiter.forget("c")
    # The last connection gone, the owner's bucket goes too: nothing grows without bound.
    assert not any(key[0] == "owner:client:1" for key in limiter._buckets)
