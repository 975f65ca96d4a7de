"""A server that turned read-only: its connections are not lent again (soft eviction)."""

from __future__ import annotations

from .conftest import MakePool


def test_connection_whose_server_turned_read_only_is_discarded_with_the_older_ones(
    make_pool: MakePool,
) -> None:
    entry, _driver = make_pool(pool_size=3, max_overflow=0)
    first, second, third = entry.checkout(), entry.checkout(), entry.checkout()
    entry.give_back(second, reusable=True)  # idle in the queue
    first.dbapi_connection.read_only = True  # the server's report, after a round trip
    entry.give_back(first, reusable=True)
    assert first.dbapi_connection.closed
    assert entry.counters["evictions"] == 1
    again = entry.checkout()  # the queued one is replaced before it is lent
    assert second.dbapi_connection.closed
    assert again.dbapi_connection not in (first.dbapi_connection, second.dbapi_connection)
    entry.give_back(third, reusable=True)  # out during the eviction: closed on return
    assert third.dbapi_connection.closed
    entry.give_back(again, reusable=True)  # opened after it: pooled
    assert not again.dbapi_connection.closed
    assert entry.counters["evictions"] == 1


def test_connection_opened_on_a_read_only_server_is_lent_again(make_pool: MakePool) -> None:
    entry, driver = make_pool()
    driver.read_only = True  # an alias pointed at a standby on purpose
    first = entry.checkout()
    entry.give_back(first, reusable=True)
    assert entry.checkout().dbapi_connection is first.dbapi_connection
    assert entry.counters["evictions"] == 0


def test_soft_eviction_closes_parked_connections_at_once(make_pool: MakePool) -> None:
    entry, _driver = make_pool(pool_size=2, max_overflow=0)
    parked, seeing = entry.checkout(), entry.checkout()
    assert entry.give_back(parked, reusable=True, park=True)
    entry.soft_evict(seeing.opened_at, "a write was refused as read-only")
    assert parked.dbapi_connection.closed
    assert not entry.reclaim(parked)
    entry.soft_evict(seeing.opened_at, "the same connection again")
    assert entry.counters["evictions"] == 1  # one per server change, not per error
    entry.give_back(seeing, reusable=True)
    assert seeing.dbapi_connection.closed


def test_ping_that_finds_the_server_read_only_replaces_the_connection(
    make_pool: MakePool,
) -> None:
    entry, _driver = make_pool(ping_interval=0)  # pinged at every checkout
    first = entry.checkout()
    entry.give_back(first, reusable=True)
    first.dbapi_connection.read_only = True  # as the ping's reply would report it
    second = entry.checkout()
    assert first.dbapi_connection.received["ping"] == 1
    assert first.dbapi_connection.closed
    assert second.dbapi_connection is not first.dbapi_connection
    assert entry.counters["evictions"] == 1
