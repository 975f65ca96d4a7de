"""Reconnect backoff over the fake driver: one attempt per interval while connecting fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dj_db_conn_pool import backoff, pool
from dj_db_conn_pool.errors import PoolError

from .conftest import MakePool


class Clock:
    """time.monotonic() for backoff.py and pool.py, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock()
    monkeypatch.setattr(backoff, "time", clock)
    monkeypatch.setattr(pool, "time", clock)
    yield clock


def test_while_connecting_fails_other_checkouts_fail_at_once_without_an_attempt(
    make_pool: MakePool, clock: Clock
) -> None:
    entry, driver = make_pool(reconnect_backoff=1.0, secret="hunter2")
    driver.refuse = driver.Error("connection refused (password hunter2)")
    with pytest.raises(PoolError, match="could not connect"):
        entry.checkout()
    for _ in range(100):
        with pytest.raises(PoolError) as raised:
            entry.checkout()
    message = str(raised.value)
    assert "unreachable since" in message and "next attempt in" in message, message
    assert "RECONNECT_BACKOFF=1.0" in message and "hunter2" not in message, message
    assert driver.attempts == 1
    assert entry.counters["connect_failures"] == 1
    assert entry.counters["connects_skipped"] == 100
    assert entry.gate is not None and entry.gate.free == entry.gate.capacity


def test_intervals_double_up_to_the_cap_with_jitter(clock: Clock) -> None:
    gate = backoff.ReconnectBackoff(cap=1.0)
    intervals = []
    for _ in range(8):
        gate.admit()
        gate.failed("refused")
        assert gate.outage is not None
        intervals.append(gate.outage.next_attempt - clock.now)
        clock.now = gate.outage.next_attempt
    for failures, interval in enumerate(intervals, start=1):
        nominal = min(1.0, backoff.FIRST * 2 ** (failures - 1))
        assert nominal / 2 <= interval <= nominal
    assert max(intervals) <= 1.0


def test_an_attempt_in_flight_holds_the_others_back(clock: Clock) -> None:
    gate = backoff.ReconnectBackoff(cap=1.0)
    gate.failed("refused")
    assert gate.outage is not None
    clock.now = gate.outage.next_attempt
    gate.admit()  # this one connects (slowly)...
    with pytest.raises(backoff.Unreachable):
        gate.admit()  # ...and this one, at the same instant, does not


def test_a_slow_failed_attempt_does_not_push_the_next_one_away(clock: Clock) -> None:
    gate = backoff.ReconnectBackoff(cap=1.0)
    gate.failed("refused")
    assert gate.outage is not None
    clock.now = gate.outage.next_attempt
    gate.admit()
    clock.now += 5.0  # a connect timeout later, it fails too
    gate.failed("timed out")
    gate.admit()  # at once: the interval counts from the last attempt's start


def test_first_success_ends_the_backoff(make_pool: MakePool, clock: Clock) -> None:
    entry, driver = make_pool(reconnect_backoff=1.0)
    driver.refuse = driver.Error("connection refused")
    for _ in range(10):  # ten failed attempts: the interval is at its cap
        with pytest.raises(PoolError):
            entry.checkout()
        clock.now += 1.0
    driver.refuse = None
    clock.now += 1.0  # never more than the cap after the server is back
    entry.give_back(entry.checkout(), reusable=True)
    assert entry.backoff.outage is None
    assert driver.attempts == 11
    entry.checkout()  # and no backoff is left


def test_zero_turns_it_off(make_pool: MakePool, clock: Clock) -> None:
    entry, driver = make_pool(reconnect_backoff=0)
    driver.refuse = driver.Error("connection refused")
    for _ in range(5):
        with pytest.raises(PoolError, match="could not connect"):
            entry.checkout()
    assert driver.attempts == 5
    assert entry.counters["connects_skipped"] == 0
