"""MIN_SIZE and IDLE_TIMEOUT over the fake driver: warm, refill, trim, the thread, the fork."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy.pool import QueuePool

from dj_db_conn_pool import maintenance

from .conftest import MakePool


def wait_for(condition: object, seconds: float = 3.0) -> bool:
    """Wait until condition() is true (the maintenance thread works on its own)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)
    return bool(condition())  # type: ignore[operator]


def test_min_size_connections_are_opened_into_the_queue_as_idle_ones(
    make_pool: MakePool,
) -> None:
    entry, driver = make_pool(pool_size=3, max_overflow=0, min_size=3)
    entry.give_back(entry.checkout(), reusable=True)
    maintenance.tend(entry)
    assert len(driver.open_connections()) == 3
    assert entry.state()["open"] == entry.state()["idle"] == 3
    held = [entry.checkout() for _ in range(3)]  # noqa: F841 (held until the end)
    assert len(driver.connections) == 3  # no request opened one


def test_warming_waits_for_the_first_checkout_which_opens_its_own(make_pool: MakePool) -> None:
    entry, driver = make_pool(pool_size=3, max_overflow=0, min_size=2)
    maintenance.tend(entry)  # the pool was just made: its first request is opening one
    assert driver.connections == []
    entry.give_back(entry.checkout(), reusable=True)
    maintenance.tend(entry)
    assert len(driver.connections) == 2


def test_pool_without_min_size_opens_nothing_ahead(make_pool: MakePool) -> None:
    entry, driver = make_pool(pool_size=3, max_overflow=0)
    entry.give_back(entry.checkout(), reusable=True)
    maintenance.tend(entry)
    assert len(driver.connections) == 1


def test_idle_connection_the_server_killed_is_replaced_in_the_background(
    make_pool: MakePool,
) -> None:
    entry, driver = make_pool(pool_size=3, max_overflow=0, min_size=2)
    entry.give_back(entry.checkout(), reusable=True)
    maintenance.tend(entry)
    killed = driver.connections[0]
    killed.kill()
    maintenance.tend(entry)
    assert killed.closed
    assert len(driver.open_connections()) == 2
    assert entry.counters["invalidations"] == 1
    assert entry.pool.checkedin() == 2  # and no empty slot left for a request to open into


def test_parked_connection_the_server_killed_is_replaced_and_healthy_ones_stay_parked(
    make_pool: MakePool,
) -> None:
    entry, driver = make_pool(pool_size=3, max_overflow=0, min_size=2)
    first, second = entry.checkout(), entry.checkout()
    assert entry.give_back(first, reusable=True, park=True)
    assert entry.give_back(second, reusable=True, park=True)
    first.dbapi_connection.kill()
    time.sleep(0.01)  # past the socket poll's bypass
    maintenance.tend(entry)
    assert first.dbapi_connection.closed and entry.counters["invalidations"] == 1
    assert second in entry.parking  # untouched
    assert len(driver.open_connections()) == 2  # refilled


def test_discarded_connection_is_replaced_without_leaving_an_empty_slot(
    make_pool: MakePool,
) -> None:
    entry, driver = make_pool(pool_size=3, max_overflow=0, min_size=2)
    entry.give_back(entry.checkout(), reusable=True)
    maintenance.tend(entry)
    entry.give_back(entry.checkout(), reusable=False)
    assert entry.state()["open"] == 1
    maintenance.tend(entry)
    assert entry.state()["open"] == entry.pool.checkedin() == 2
    assert len(driver.connections) == 3


def test_idle_connection_past_recycle_is_replaced_in_the_background(make_pool: MakePool) -> None:
    entry, driver = make_pool(pool_size=2, max_overflow=0, min_size=1, recycle=60)
    entry.give_back(entry.checkout(), reusable=True)
    maintenance.tend(entry)
    maintenance.tend(entry, now=time.monotonic() + 61)
    assert [c.closed for c in driver.connections] == [True, False]


def test_idle_connections_soft_evicted_are_replaced_in_the_background(
    make_pool: MakePool,
) -> None:
    entry, driver = make_pool(pool_size=3, max_overflow=0, min_size=2)
    entry.give_back(entry.checkout(), reusable=True)
    maintenance.tend(entry)
    entry.soft_evict(time.monotonic(), "the server turned read-only")
    maintenance.tend(entry)
    assert [c.closed for c in driver.connections] == [True, True, False, False]
    assert entry.pool.checkedin() == 2


def test_warming_keeps_within_the_bound_and_never_takes_a_waiters_permit(
    make_pool: MakePool,
) -> None:
    entry, driver = make_pool(pool_size=2, max_overflow=0, min_size=2)
    first = entry.checkout()
    second = entry.checkout()
    entry.give_back(second, reusable=False)  # one open, one permit free
    assert entry.gate is not None and entry.gate.free == 1
    other = entry.checkout()  # noqa: F841 (the last permit, held)
    maintenance.tend(entry)
    assert len(driver.open_connections()) == 2  # no third: the bound holds
    entry.give_back(first, reusable=True)
    assert entry.gate.free == 1


def test_idle_timeout_closes_idle_connections_down_to_min_size(make_pool: MakePool) -> None:
    entry, driver = make_pool(pool_size=4, max_overflow=0, min_size=1, idle_timeout=10)
    held = [entry.checkout() for _ in range(4)]
    for checkout in held:
        entry.give_back(checkout, reusable=True)
    maintenance.tend(entry)  # young: all kept
    assert len(driver.open_connections()) == 4
    maintenance.tend(entry, now=time.monotonic() + 11)
    assert len(driver.open_connections()) == 1
    assert entry.counters["idle_closed"] == 3
    assert entry.counters["invalidations"] == 0
    assert entry.state()["open"] == entry.pool.checkedin() == 1  # their slots went with them


def test_parked_connections_count_as_idle_for_idle_timeout(make_pool: MakePool) -> None:
    entry, driver = make_pool(pool_size=3, max_overflow=0, idle_timeout=10)
    held = [entry.checkout() for _ in range(3)]
    for checkout in held:
        assert entry.give_back(checkout, reusable=True, park=True)
    maintenance.tend(entry, now=time.monotonic() + 5)
    assert len(entry.parking) == 3  # not idle long enough
    maintenance.tend(entry, now=time.monotonic() + 11)
    assert len(entry.parking) == 0
    assert driver.open_connections() == []
    assert not entry.reclaim(held[0])  # its owner finds it gone and connects again
    assert entry.gate is not None and entry.gate.free == 3


def test_the_thread_warms_a_watched_pool_without_the_checkout_waiting(
    make_pool: MakePool,
) -> None:
    entry, driver = make_pool(pool_size=3, max_overflow=0, min_size=3)

    def slow_connect() -> object:  # half a second, for the maintenance thread only
        if threading.current_thread().name == "dj_db_conn_pool maintenance":
            time.sleep(0.5)
        return driver.connect()

    entry._open_connection = slow_connect
    started = time.monotonic()
    checkout = entry.checkout()  # the container watches a pool when it makes it
    maintenance.watch(entry)
    assert time.monotonic() - started < 0.5
    assert wait_for(lambda: len(driver.open_connections()) == 3)
    entry.give_back(checkout, reusable=True)
    entry.retire()
    assert wait_for(lambda: entry not in maintenance._watched)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_forgets_the_parents_thread_and_pools(make_pool: MakePool) -> None:
    entry, driver = make_pool(pool_size=2, max_overflow=0, min_size=2)
    entry.give_back(entry.checkout(), reusable=True)
    maintenance.watch(entry)
    assert wait_for(lambda: len(driver.open_connections()) == 2)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it inherited, then leave
        try:
            inherited = len(maintenance._watched) + (maintenance._thread is not None)
            os.write(write_end, str(inherited).encode())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read_end, 10) == b"0"
    os.close(read_end)
    os.close(write_end)
    assert entry in maintenance._watched and maintenance._thread is not None


def test_sqlalchemy_internals_used_to_open_and_drop_slots_exist() -> None:
    # maintenance.py opens into and drops from QueuePool's queue the way its own
    # _do_get() and dispose() do: this fails first if SQLAlchemy renames them.
    pool = QueuePool(lambda: None, pool_size=1)
    for name in ("_inc_overflow", "_dec_overflow", "_create_connection", "_do_return_conn"):
        assert callable(getattr(pool, name)), name
    assert hasattr(pool._pool, "mutex") and hasattr(pool._pool, "queue")
