"""PoolEntry over the fake driver: checkout, overflow, return, park, revive, recycle, retire."""

from __future__ import annotations

import gc
import os
import socket
import time

import pytest

from dj_db_conn_pool import liveness
from dj_db_conn_pool.errors import PoolError, PoolTimeout, TooManyRequests
from dj_db_conn_pool.figures import COUNTERS, STATE

from .conftest import MakePool

# Long enough for a returned connection to be past the socket poll's bypass.
PAST_BYPASS = liveness.POLL_BYPASS * 5


def test_returned_connection_is_lent_again_without_reconnecting(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    first = entry.checkout()
    entry.give_back(first, reusable=True)
    second = entry.checkout()
    assert second.dbapi_connection is first.dbapi_connection
    assert entry.counters["connections_opened"] == 1
    assert entry.counters["checkouts"] == 2


def test_connections_beyond_pool_size_are_closed_when_returned(make_pool: MakePool) -> None:
    entry, driver = make_pool(pool_size=1, max_overflow=1)
    first, second = entry.checkout(), entry.checkout()
    assert entry.state()["overflow_in_use"] == 1
    entry.give_back(first, reusable=True)
    entry.give_back(second, reusable=True)
    assert [c.closed for c in driver.connections] == [False, True]
    assert entry.state() == {
        "open": 1,
        "checked_out": 0,
        "idle": 1,
        "overflow_in_use": 0,
        "waiting": 0,
    }


def test_checkout_past_the_bound_raises_pool_timeout_after_timeout(make_pool: MakePool) -> None:
    entry, driver = make_pool(pool_size=1, max_overflow=0, timeout=0.05)
    held = entry.checkout()  # noqa: F841 (collected, it would give its permit back)
    started = time.monotonic()
    with pytest.raises(PoolTimeout, match=r"TIMEOUT=0\.05s"):
        entry.checkout()
    assert time.monotonic() - started >= 0.05
    assert entry.counters["timeouts"] == 1
    assert len(driver.connections) == 1


def test_checkout_past_max_waiting_is_refused_at_once(make_pool: MakePool) -> None:
    entry, _driver = make_pool(pool_size=1, max_overflow=0, timeout=5, max_waiting=0)
    held = entry.checkout()  # noqa: F841
    started = time.monotonic()
    with pytest.raises(TooManyRequests, match="MAX_WAITING=0"):
        entry.checkout()
    assert time.monotonic() - started < 1
    assert entry.counters["refused"] == 1


def test_failed_connect_is_a_pool_error_without_the_secret_and_frees_its_permit(
    make_pool: MakePool,
) -> None:
    entry, driver = make_pool(pool_size=1, max_overflow=0, secret="hunter2", reconnect_backoff=0)
    driver.refuse = driver.Error("password hunter2 refused")
    with pytest.raises(PoolError) as raised:
        entry.checkout()
    assert "hunter2" not in str(raised.value)
    assert "********" in str(raised.value)
    assert entry.gate is not None and entry.gate.free == entry.gate.capacity
    driver.refuse = None
    entry.checkout()  # the permit was given back: no PoolTimeout


def test_returned_connection_with_a_transaction_open_is_rolled_back(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    checkout.dbapi_connection.execute("BEGIN")
    entry.give_back(checkout, reusable=True)
    assert not checkout.dbapi_connection.in_transaction
    assert checkout.dbapi_connection.received["rollback"] == 1
    assert entry.counters["rollbacks_on_return"] == 1


def test_returned_connection_without_a_transaction_is_not_rolled_back(
    make_pool: MakePool,
) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    checkout.dbapi_connection.execute("SELECT 1")  # autocommit: no transaction
    entry.give_back(checkout, reusable=True)
    assert checkout.dbapi_connection.received["rollback"] == 0
    assert entry.counters["rollbacks_on_return"] == 0


@pytest.mark.parametrize("configured", [True, False])
def test_autocommit_changed_behind_the_pool_is_restored_on_return(
    make_pool: MakePool, configured: bool
) -> None:
    entry, _driver = make_pool(autocommit=configured)
    checkout = entry.checkout()
    checkout.dbapi_connection.autocommit = not configured
    entry.give_back(checkout, reusable=True)
    assert entry.checkout().dbapi_connection.autocommit is configured


def test_unusable_connection_is_closed_on_return_and_counted(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    entry.give_back(checkout, reusable=False)
    assert checkout.dbapi_connection.closed
    assert entry.counters["invalidations"] == 1
    assert entry.state()["checked_out"] == 0


def test_connection_whose_cleaning_fails_is_discarded(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    checkout.dbapi_connection.execute("BEGIN")
    checkout.dbapi_connection.killed = True  # the rollback fails
    entry.give_back(checkout, reusable=True)
    assert checkout.dbapi_connection.closed
    assert entry.checkout().dbapi_connection is not checkout.dbapi_connection


def test_idle_connection_killed_by_the_server_is_replaced_at_checkout(
    make_pool: MakePool,
) -> None:
    entry, _driver = make_pool()  # PING_INTERVAL 30s: only the socket poll says "ping"
    first = entry.checkout()
    entry.give_back(first, reusable=True)
    first.dbapi_connection.kill()
    time.sleep(PAST_BYPASS)
    second = entry.checkout()
    assert second.dbapi_connection is not first.dbapi_connection
    assert first.dbapi_connection.received["ping"] == 1
    assert entry.counters["invalidations"] == 1


def test_quiet_idle_connection_is_lent_without_a_ping(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    first = entry.checkout()
    entry.give_back(first, reusable=True)
    time.sleep(PAST_BYPASS)
    entry.checkout()
    assert first.dbapi_connection.received["ping"] == 0


def test_connection_idle_past_ping_interval_is_pinged(make_pool: MakePool) -> None:
    entry, _driver = make_pool(ping_interval=0.01)
    first = entry.checkout()
    entry.give_back(first, reusable=True)
    time.sleep(0.02)
    assert entry.checkout().dbapi_connection is first.dbapi_connection
    assert first.dbapi_connection.received["ping"] == 1


def test_connection_without_a_socket_is_pinged_at_every_checkout(make_pool: MakePool) -> None:
    entry, _driver = make_pool(sockets=False)
    first = entry.checkout()
    entry.give_back(first, reusable=True)
    time.sleep(PAST_BYPASS)
    entry.checkout()
    assert first.dbapi_connection.received["ping"] == 1


def test_no_ping_without_pre_ping(make_pool: MakePool) -> None:
    entry, _driver = make_pool(pre_ping=False, sockets=False, ping_interval=0)
    first = entry.checkout()
    entry.give_back(first, reusable=True)
    time.sleep(PAST_BYPASS)
    entry.checkout()
    assert first.dbapi_connection.received["ping"] == 0


def test_connection_past_recycle_is_replaced_without_counting_an_invalidation(
    make_pool: MakePool,
) -> None:
    entry, _driver = make_pool(recycle=0.01)
    first = entry.checkout()
    entry.give_back(first, reusable=True)
    time.sleep(0.02)
    second = entry.checkout()
    assert second.dbapi_connection is not first.dbapi_connection
    assert first.dbapi_connection.closed
    assert entry.counters["invalidations"] == 0


def test_parked_connection_is_idle_and_taken_back_by_its_holder(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    assert entry.give_back(checkout, reusable=True, park=True)
    assert entry.state()["checked_out"] == 0 and entry.state()["idle"] == 1
    assert entry.lent() == []
    assert entry.reclaim(checkout)
    assert entry.lent() == [checkout]
    entry.give_back(checkout, reusable=True)
    assert entry.counters["checkouts"] == 2


def test_parked_connection_is_not_parked_when_sticky_is_off(make_pool: MakePool) -> None:
    entry, _driver = make_pool(sticky=False)
    checkout = entry.checkout()
    assert not entry.give_back(checkout, reusable=True, park=True)
    assert not entry.reclaim(checkout)


def test_parked_connection_is_taken_over_rather_than_opening_an_overflow_one(
    make_pool: MakePool,
) -> None:
    entry, driver = make_pool(pool_size=1, max_overflow=1)
    mine = entry.checkout()
    entry.give_back(mine, reusable=True, park=True)
    other = entry.checkout()
    assert other is mine  # the same loan, now another holder's
    assert len(driver.connections) == 1
    assert not entry.reclaim(mine)


def test_within_pool_size_a_connection_is_opened_rather_than_taking_over(
    make_pool: MakePool,
) -> None:
    entry, _driver = make_pool(pool_size=2, max_overflow=0)
    mine = entry.checkout()
    entry.give_back(mine, reusable=True, park=True)
    other = entry.checkout()
    assert other.dbapi_connection is not mine.dbapi_connection
    assert entry.reclaim(mine)


def test_parked_connection_killed_by_the_server_is_not_taken_back(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    entry.give_back(checkout, reusable=True, park=True)
    checkout.dbapi_connection.kill()
    time.sleep(PAST_BYPASS)
    assert not entry.reclaim(checkout)
    assert checkout.dbapi_connection.closed
    assert entry.state()["checked_out"] == 0


def test_parked_connection_past_recycle_is_not_taken_back(make_pool: MakePool) -> None:
    entry, _driver = make_pool(recycle=0.01)
    checkout = entry.checkout()
    entry.give_back(checkout, reusable=True, park=True)
    time.sleep(0.02)
    assert not entry.reclaim(checkout)
    assert entry.checkout().dbapi_connection is not checkout.dbapi_connection


def test_retire_closes_idle_and_parked_connections_and_lent_ones_on_return(
    make_pool: MakePool,
) -> None:
    entry, _driver = make_pool(pool_size=3, max_overflow=0)
    idle, parked, lent = entry.checkout(), entry.checkout(), entry.checkout()
    entry.give_back(idle, reusable=True)
    entry.give_back(parked, reusable=True, park=True)
    entry.retire()
    assert idle.dbapi_connection.closed and parked.dbapi_connection.closed
    assert not lent.dbapi_connection.closed
    assert not entry.give_back(lent, reusable=True, park=True)  # never parked once retired
    assert lent.dbapi_connection.closed
    assert entry.gate is not None and entry.gate.free == entry.gate.capacity


def test_connection_whose_socket_was_replaced_is_abandoned_never_closed(
    make_pool: MakePool,
) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    connection = checkout.dbapi_connection
    connection.execute("BEGIN")
    # Close the descriptor behind the driver's back; another socket gets its number.
    stranger, peer = socket.socketpair()
    os.dup2(stranger.fileno(), connection.fileno())
    entry.give_back(checkout, reusable=True)
    assert not connection.closed
    assert connection.received["rollback"] == 0  # nothing sent over someone else's socket
    assert entry.counters["invalidations"] == 1
    assert entry.state()["checked_out"] == 0
    assert entry.gate is not None and entry.gate.free == entry.gate.capacity
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(1)  # the stranger's peer heard nothing
    stranger.close()
    peer.close()


def test_parked_connection_whose_socket_was_replaced_is_abandoned(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    entry.give_back(checkout, reusable=True, park=True)
    stranger, peer = socket.socketpair()
    os.dup2(stranger.fileno(), checkout.dbapi_connection.fileno())
    time.sleep(PAST_BYPASS)
    assert not entry.reclaim(checkout)
    assert not checkout.dbapi_connection.closed
    assert entry.state()["checked_out"] == 0
    assert entry.checkout().dbapi_connection is not checkout.dbapi_connection
    stranger.close()
    peer.close()


def test_checkout_collected_without_a_return_gives_back_its_permit(make_pool: MakePool) -> None:
    entry, _driver = make_pool(pool_size=1, max_overflow=0, timeout=0.05)
    checkout = entry.checkout()
    connection = checkout.dbapi_connection
    connection.execute("BEGIN")
    del checkout
    gc.collect()
    again = entry.checkout()  # no PoolTimeout: the finalizer gave the permit back
    assert again.dbapi_connection is connection
    assert not connection.in_transaction  # SQLAlchemy's reset ran our clean()


def test_figures_are_the_declared_keys(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    assert set(entry.state()) == {figure.key for figure in STATE}
    assert set(entry.counters) == {figure.key for figure in COUNTERS}


def test_take_backs_count_as_checkouts(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    for _ in range(3):
        entry.give_back(checkout, reusable=True, park=True)
        assert entry.reclaim(checkout)
    assert entry.counters["checkouts"] == 4
    entry.give_back(checkout, reusable=True)
    assert entry.counters["checkouts"] == 4


@pytest.mark.parametrize("way", ["unusable", "socket replaced"])
def test_open_figure_counts_only_connections_really_open(make_pool: MakePool, way: str) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    if way == "unusable":
        entry.give_back(checkout, reusable=False)
    else:
        stranger, peer = socket.socketpair()
        os.dup2(stranger.fileno(), checkout.dbapi_connection.fileno())
        entry.give_back(checkout, reusable=True)
        stranger.close()
        peer.close()
    assert entry.state()["open"] == 0
    assert entry.state()["idle"] == 0


@pytest.mark.parametrize("way", ["given back reusable", "holder collected"])
def test_connection_the_driver_closed_is_not_lent_again(make_pool: MakePool, way: str) -> None:
    entry, _driver = make_pool(sockets=False, pool_size=1, max_overflow=0)
    checkout = entry.checkout()
    checkout.dbapi_connection.close()
    if way == "given back reusable":
        entry.give_back(checkout, reusable=True)
    else:
        del checkout
    assert not entry.checkout().dbapi_connection.closed
