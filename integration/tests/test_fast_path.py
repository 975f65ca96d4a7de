"""The take-back fast path: what a thread skips when it takes back its own parked connection."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from django.db.backends.signals import connection_created

import dj_db_conn_pool
from dj_db_conn_pool import liveness
from dj_db_conn_pool.container import pool_container
from integration.engines import Engine
from integration.helpers import request_cycle


def django_class(engine: Engine) -> type:
    """Return Django's own DatabaseWrapper beneath the pooled one."""
    pooled = type(connections[engine.alias])
    return next(k for k in pooled.__mro__ if k.__module__.startswith("django.db.backends."))


@pytest.fixture
def calls(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[Any]]]:
    """Record the calls of Django's get_connection_params() and _set_autocommit()."""
    seen: dict[str, list[Any]] = {"params": [], "autocommit": []}
    klass = django_class(engine)
    get_params = klass.get_connection_params  # type: ignore[attr-defined]
    set_autocommit = klass._set_autocommit  # type: ignore[attr-defined]

    def spy_params(self: Any) -> Any:
        seen["params"].append(self.alias)
        return get_params(self)

    def spy_autocommit(self: Any, autocommit: bool) -> None:
        seen["autocommit"].append(autocommit)
        set_autocommit(self, autocommit)

    monkeypatch.setattr(klass, "get_connection_params", spy_params)
    monkeypatch.setattr(klass, "_set_autocommit", spy_autocommit)
    yield seen


def driver_autocommit(engine: Engine) -> bool:
    connection = connections[engine.alias].connection
    if engine.family == "mysql":
        return bool(connection.get_autocommit())
    return bool(connection.autocommit)


def test_take_back_skips_connection_params_and_autocommit(
    engine: Engine, calls: dict[str, list[Any]]
) -> None:
    session = request_cycle(engine)  # opens the connection: Django's full connect()
    assert calls["params"] and calls["autocommit"]
    calls["params"].clear()
    calls["autocommit"].clear()
    assert {request_cycle(engine) for _ in range(3)} == {session}
    assert calls == {"params": [], "autocommit": []}


def test_autocommit_left_off_is_turned_back_on_at_take_back(
    engine: Engine, calls: dict[str, list[Any]]
) -> None:
    session = request_cycle(engine)
    connection = connections[engine.alias]
    connection.set_autocommit(False)
    connection.close()  # parked with autocommit off (its transaction rolled back)
    calls["autocommit"].clear()
    assert request_cycle(engine) == session  # taken back
    assert calls["autocommit"] == [True]
    connection.ensure_connection()
    assert connection.get_autocommit() and driver_autocommit(engine)


def test_take_back_after_settings_change_uses_the_new_pool(
    engine: Engine, pool_options: dict[str, Any], calls: dict[str, list[Any]]
) -> None:
    request_cycle(engine)
    first = [e for e in pool_container.entries() if e.name == engine.alias]
    # Edited in place, then closed, as Django's test set-up does (a dozing
    # connection, like a held one, keeps its settings until it is closed).
    pool_options["PING_INTERVAL"] = 5
    connections[engine.alias].close()
    calls["params"].clear()
    request_cycle(engine)
    assert calls["params"]  # the parameters were needed for the new pool
    entries = [e for e in pool_container.entries() if e.name == engine.alias]
    assert len(entries) == len(first) + 1
    assert all(e.config.ping_interval == 5 for e in entries if e not in first)


def test_connection_created_is_sent_at_connect_not_when_a_dozing_connection_wakes(
    engine: Engine,
) -> None:
    sent: list[str] = []

    def receiver(sender: Any, connection: Any, **kwargs: Any) -> None:
        sent.append(connection.alias)

    request_cycle(engine)
    connection_created.connect(receiver)
    try:
        for _ in range(3):
            request_cycle(engine)  # no connect(): the connection dozed on the wrapper
        assert sent == []
        connections[engine.alias].close()  # let go of it: the next request connects
        request_cycle(engine)
    finally:
        connection_created.disconnect(receiver)
    assert sent == [engine.alias]


def test_close_lets_go_of_a_dozing_connection_without_taking_it_back(engine: Engine) -> None:
    session = request_cycle(engine)
    connection = connections[engine.alias]
    before = dj_db_conn_pool.stats(engine.alias)[engine.alias]["checkouts"]
    connection.close()
    assert connection.connection is None
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["checkouts"] == before
    assert request_cycle(engine) == session  # still parked: taken back by connect()


def test_take_backs_are_counted_as_checkouts(engine: Engine) -> None:
    request_cycle(engine)
    before = dj_db_conn_pool.stats(engine.alias)[engine.alias]["checkouts"]
    for _ in range(4):
        request_cycle(engine)
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["checkouts"] == before + 4


@pytest.mark.parametrize(("may_be_dead", "pings"), [(True, 3), (False, 0)])
def test_pool_may_be_dead_decides_the_ping_before_the_idle_time(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, may_be_dead: bool, pings: int
) -> None:
    pooled = type(connections[engine.alias]).pool_hooks
    seen: list[Any] = []
    ping = pooled.ping
    request_cycle(engine)
    monkeypatch.setattr(pooled, "may_be_dead", staticmethod(lambda c: may_be_dead))
    monkeypatch.setattr(pooled, "ping", staticmethod(lambda c: seen.append(c) or ping(c)))
    for _ in range(3):
        time.sleep(2 * liveness.POLL_BYPASS)  # parked long enough to be looked at
        request_cycle(engine)
    assert len(seen) == pings


def test_connection_back_within_the_poll_bypass_is_not_looked_at(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pooled = type(connections[engine.alias]).pool_hooks
    looked: list[Any] = []
    request_cycle(engine)
    monkeypatch.setattr(liveness, "POLL_BYPASS", 60.0)  # every take-back is back-to-back
    may_be_dead = staticmethod(lambda c: looked.append(c) or True)
    monkeypatch.setattr(pooled, "may_be_dead", may_be_dead)
    for _ in range(3):
        request_cycle(engine)
    assert looked == []


def test_parked_connection_killed_by_the_server_is_replaced(engine: Engine) -> None:
    session = request_cycle(engine)  # parked now
    engine.kill_session(session)
    time.sleep(0.2)  # the server's goodbye reaches the socket
    invalidations = dj_db_conn_pool.stats(engine.alias)[engine.alias]["invalidations"]
    assert request_cycle(engine) != session
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["invalidations"] == invalidations + 1


def test_parked_connection_past_recycle_is_replaced_at_take_back(
    engine: Engine, pool_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(liveness, "POLL_BYPASS", 60.0)  # no poll or ping: only its age counts
    pool_options["RECYCLE"] = 0.5
    session = request_cycle(engine)
    assert request_cycle(engine) == session  # young: taken back as is
    time.sleep(0.6)
    assert request_cycle(engine) != session


def test_ping_interval_zero_pings_at_every_take_back(
    engine: Engine, pool_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pool_options["PING_INTERVAL"] = 0
    pooled = type(connections[engine.alias]).pool_hooks
    seen: list[Any] = []
    ping = pooled.ping
    request_cycle(engine)
    monkeypatch.setattr(pooled, "ping", staticmethod(lambda c: seen.append(c) or ping(c)))
    for _ in range(3):
        request_cycle(engine)  # back to back: within POLL_BYPASS, yet pinged
    assert len(seen) == 3
