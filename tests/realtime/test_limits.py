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
