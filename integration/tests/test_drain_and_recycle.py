"""drain() empties a pool at once without failing the requests in flight; RECYCLE is jittered."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import close_old_connections, connections

import dj_db_conn_pool
from conftest import TEST_DATABASE
from dj_db_conn_pool import pool as pool_module
from dj_db_conn_pool.container import pool_container
from integration.engines import Engine
from integration.helpers import backend_id, fan_out, request_cycle


def sessions_within(engine: Engine, most: int) -> bool:
    """Wait (up to 2 s) for the server to list at most `most` sessions: a closed one's
    backend takes a moment to go."""
    deadline = time.monotonic() + 2
    while engine.count_sessions(TEST_DATABASE) > most and time.monotonic() < deadline:
        time.sleep(0.02)
    return engine.count_sessions(TEST_DATABASE) <= most


def test_drain_closes_idle_connections_now_and_checked_out_ones_on_return(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(POOL_SIZE=4, MAX_OVERFLOW=0)
    both_out = threading.Barrier(3)
    drained = threading.Event()
    held: dict[str, Any] = {}

    def holder() -> None:  # inside a request when the drain comes
        close_old_connections()
        held["session"] = backend_id(engine)
        both_out.wait(10)
        drained.wait(10)
        held["after"] = backend_id(engine)  # its request goes on, on its own connection
        close_old_connections()

    def idler(number: int) -> None:
        request_cycle(engine)
        both_out.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert fan_out(2, idler) == []  # two more connections, back in the pool
    assert engine.count_sessions(TEST_DATABASE) == 3
    dj_db_conn_pool.drain(engine.alias)
    assert sessions_within(engine, 1)  # only the one in use is left
    drained.set()
    thread.join()
    assert held["after"] == held["session"]
    assert sessions_within(engine, 0)
    assert request_cycle(engine) != held["session"]  # a fresh pool, a fresh session


def test_recycle_is_cut_by_up_to_a_tenth_per_connection(
    engine: Engine, pool_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20 connections opened at once with RECYCLE=5 expire over at least 0.4 s.
    monkeypatch.setattr(pool_module, "_jitter", __import__("random").Random(20))
    pool_options.update(POOL_SIZE=20, MAX_OVERFLOW=0, RECYCLE=5)
    all_out = threading.Barrier(20)

    def client(number: int) -> None:
        with connections[engine.alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            all_out.wait(10)

    assert fan_out(20, client) == []
    (entry,) = [e for e in pool_container.entries() if e.name == engine.alias]
    opened = time.monotonic()
    expiries = [record.info[pool_module.EXPIRES_AT] for record in list(entry.pool._pool.queue)]
    assert len(expiries) == 20
    assert max(expiries) - min(expiries) >= 0.4
    assert all(opened + 4.5 - 1 <= at <= opened + 5 for at in expiries)


def test_connection_past_recycle_is_replaced_at_checkout_from_the_queue(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(STICKY=False, RECYCLE=0.5)
    session = request_cycle(engine)
    assert request_cycle(engine) == session
    time.sleep(0.6)
    invalidations = dj_db_conn_pool.stats(engine.alias)[engine.alias]["invalidations"]
    assert request_cycle(engine) != session
    # Its time was up: not counted as a fault.
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["invalidations"] == invalidations
