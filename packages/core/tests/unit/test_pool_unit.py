"""The pool's logic over the fake driver: no Django settings, no server, a few seconds."""

from __future__ import annotations

import gc
import os
import socket
import threading
import time

import pytest

from dj_db_conn_pool import errors, fork, leaks, liveness, thread_exit
from dj_db_conn_pool.gate import FairGate

from .fakedb import Error, lend, make_pool


def test_a_returned_connection_is_parked_and_taken_back_unchanged() -> None:
    entry, server = make_pool()
    checkout = lend(entry)
    assert entry.give_back(checkout, reusable=True, park=True)
    assert entry.state()["checked_out"] == 0 and entry.state()["idle"] == 1
    assert entry.reclaim(checkout)
    assert entry.state()["checked_out"] == 1
    assert len(server.opened) == 1 and checkout.dbapi_connection.received == []


def test_the_return_rolls_back_only_a_transaction_that_may_be_open() -> None:
    entry, _ = make_pool()
    checkout = lend(entry)
    connection = checkout.dbapi_connection
    entry.give_back(checkout, reusable=True, park=True)
    assert connection.received == []  # nothing sent when nothing is open
    entry.reclaim(checkout)
    connection.execute("BEGIN")
    entry.give_back(checkout, reusable=True, park=True)
    assert connection.received == ["BEGIN", "ROLLBACK"] and not connection.in_transaction
    assert entry.counters["rollbacks_on_return"] == 1


def test_autocommit_changed_behind_the_pool_is_restored() -> None:
    entry, _ = make_pool()
    checkout = lend(entry)
    connection = checkout.dbapi_connection
    connection.autocommit = False  # as a raw SET autocommit=0 would
    connection.execute("INSERT")
    entry.give_back(checkout, reusable=True, park=True)
    assert connection.autocommit is True and not connection.in_transaction


def test_a_rollback_that_fails_discards_the_connection() -> None:
    entry, server = make_pool()
    checkout = lend(entry)
    checkout.dbapi_connection.execute("BEGIN")
    checkout.dbapi_connection.killed = True
    assert not entry.give_back(checkout, reusable=True, park=True)
    assert checkout.dbapi_connection.closed and not server.open
    assert entry.counters["invalidations"] == 1


def test_a_parked_connection_killed_by_the_server_is_replaced() -> None:
    entry, server = make_pool()
    checkout = lend(entry)
    entry.give_back(checkout, reusable=True, park=True)
    checkout.dbapi_connection.kill()
    time.sleep(2 * liveness.POLL_BYPASS)  # past the moment in which it is taken back unchecked
    assert not entry.reclaim(checkout)
    assert checkout.dbapi_connection.closed
    assert lend(entry).dbapi_connection is server.opened[1]


def test_a_parked_connection_is_taken_over_only_when_the_pool_is_full() -> None:
    entry, server = make_pool(pool_size=1, max_overflow=0, timeout=0.05)
    mine = lend(entry)
    entry.give_back(mine, reusable=True, park=True)
    theirs = entry.checkout()  # the pool is full: the parked one is taken over
    assert theirs is mine and len(server.opened) == 1
    assert not entry.reclaim(mine)  # its first holder lost it


def test_within_pool_size_a_new_holder_gets_its_own_connection() -> None:
    entry, server = make_pool(pool_size=2, max_overflow=0)
    mine = lend(entry)
    entry.give_back(mine, reusable=True, park=True)
    theirs = lend(entry)
    assert theirs is not mine and len(server.opened) == 2
    assert entry.reclaim(mine)


def test_an_overflow_connection_is_not_parked() -> None:
    entry, _ = make_pool(pool_size=1, max_overflow=1)
    first, second = lend(entry), lend(entry)
    assert not entry.give_back(second, reusable=True, park=True)
    assert entry.give_back(first, reusable=True, park=True)


def test_a_full_pool_times_out_and_a_full_waiting_room_refuses_at_once() -> None:
    # (Held in variables: a checkout that is collected gives its place back.)
    entry, _ = make_pool(pool_size=1, max_overflow=0, timeout=0.1, max_waiting=0)
    held = lend(entry)
    started = time.monotonic()
    with pytest.raises(errors.TooManyRequests, match="MAX_WAITING=0"):
        entry.checkout()
    assert time.monotonic() - started < 0.05
    entry2, _ = make_pool(pool_size=1, max_overflow=0, timeout=0.1)
    held2 = lend(entry2)
    with pytest.raises(errors.PoolTimeout, match=r"TIMEOUT=0\.1s"):
        entry2.checkout()
    assert entry.counters["refused"] == 1 and entry2.counters["timeouts"] == 1
    assert held.dbapi_connection is not held2.dbapi_connection


def test_a_waiter_gets_the_connection_returned_and_parked_ones_go_to_waiters() -> None:
    entry, _ = make_pool(pool_size=1, max_overflow=0, timeout=2)
    mine = lend(entry)
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(entry.checkout()))
    waiter.start()
    while not entry.waiting:
        time.sleep(0.001)
    # Someone waits: the return is for real, not a park.
    assert not entry.give_back(mine, reusable=True, park=True)
    waiter.join(2)
    assert len(got) == 1


def test_the_gate_serves_waiters_in_arrival_order() -> None:
    gate = FairGate(1)
    assert gate.try_acquire()
    order: list[int] = []

    def wait(number: int) -> None:
        assert gate.acquire(5, None)
        order.append(number)
        gate.release()

    threads = []
    for number in range(5):
        thread = threading.Thread(target=wait, args=(number,))
        thread.start()
        threads.append(thread)
        while gate.waiting <= number:
            time.sleep(0.001)
    gate.release()
    for thread in threads:
        thread.join()
    assert order == [0, 1, 2, 3, 4]


def test_a_permit_freed_by_a_finalizer_reaches_a_waiter() -> None:
    gate = FairGate(1)
    assert gate.try_acquire()
    gate.release_later()  # what Checkout.__del__ does: no lock
    assert gate.acquire(1, None)


def test_a_connection_past_recycle_is_replaced() -> None:
    entry, server = make_pool(recycle=0.05)
    checkout = lend(entry)
    entry.give_back(checkout, reusable=True, park=True)
    time.sleep(0.06)
    assert not entry.reclaim(checkout)
    assert lend(entry).dbapi_connection is server.opened[1]


def test_recycle_is_cut_by_up_to_a_tenth_per_connection() -> None:
    entry, _ = make_pool(pool_size=20, recycle=100)
    opened = time.monotonic()
    held = [lend(entry) for _ in range(20)]
    expiries = [checkout.expires_at - opened for checkout in held]
    assert all(89.9 <= expiry <= 100.1 for expiry in expiries)
    assert max(expiries) - min(expiries) > 1


@pytest.mark.parametrize("back", ["returned", "parked then taken back"])
def test_a_connection_whose_descriptor_was_reused_is_abandoned_not_closed(back: str) -> None:
    entry, _ = make_pool()
    checkout = lend(entry)
    connection = checkout.dbapi_connection
    other = socket.socket()
    os.dup2(other.fileno(), connection.fileno())  # the number now names another socket
    if back == "returned":
        assert not entry.give_back(checkout, reusable=True)
    else:  # parking looks at no descriptor (an fstat per request): taking it does
        assert entry.give_back(checkout, reusable=True, park=True)
        time.sleep(2 * liveness.POLL_BYPASS)
        assert not entry.reclaim(checkout)
    assert not connection.closed  # closing it would close the other socket
    assert entry.counters["invalidations"] == 1
    assert connection not in list(fork._opened)  # nor will a forked child touch it
    other.close()


def test_retire_closes_idle_connections_now_and_checked_out_ones_on_return() -> None:
    entry, server = make_pool()
    busy, idle = lend(entry), lend(entry)
    entry.give_back(idle, reusable=True, park=True)
    entry.retire()
    assert idle.dbapi_connection.closed and not busy.dbapi_connection.closed
    entry.give_back(busy, reusable=True, park=True)
    assert busy.dbapi_connection.closed and not server.open


def test_a_connect_failure_is_a_pool_error_without_the_password() -> None:
    entry, server = make_pool()
    server.down = True
    with pytest.raises(errors.PoolError) as raised:
        entry.checkout()
    assert "the fake server" in str(raised.value) and "hunter2" not in str(raised.value)
    assert entry.gate is not None and entry.gate.free == entry.gate.capacity


def test_a_leaked_checkout_is_reported_once_with_its_stack(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry, _ = make_pool(leak_timeout=0.01)
    held = lend(entry)
    time.sleep(0.02)
    assert leaks.check([entry]) == 1
    assert "LEAK_TIMEOUT=0.01s" in caplog.text and "lend" in caplog.text
    assert leaks.check([entry]) == 0
    entry.give_back(held, reusable=True)


def test_take_backs_count_as_checkouts() -> None:
    entry, _ = make_pool()
    checkout = lend(entry)
    for _ in range(3):
        entry.give_back(checkout, reusable=True, park=True)
        entry.reclaim(checkout)
    assert entry.counters["checkouts"] == 4
    entry.give_back(checkout, reusable=True)
    assert entry.counters["checkouts"] == 4


class Holder:
    def __init__(self) -> None:
        self.ended = threading.Event()

    def pool_thread_ended(self) -> None:
        self.ended.set()


def test_a_thread_that_ends_tells_its_holders_without_the_collector() -> None:
    holder = Holder()
    gc.disable()
    try:
        thread = threading.Thread(target=thread_exit.release_at_exit, args=(holder,))
        thread.start()
        thread.join()
        assert holder.ended.wait(1)
    finally:
        gc.enable()


def test_a_connect_error_is_the_drivers_class() -> None:
    entry, server = make_pool()
    server.down = True
    with pytest.raises(errors.PoolError) as raised:
        entry.checkout()
    assert isinstance(raised.value.__cause__, Error)
