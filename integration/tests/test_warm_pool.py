"""MIN_SIZE and IDLE_TIMEOUT on real servers: warm, refilled after a kill, shrunk when quiet."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connections

import dj_db_conn_pool
from conftest import TEST_DATABASE
from integration.engines import Engine
from integration.helpers import SessionSampler, backend_id, fan_out, in_a_thread, request_cycle

# How long the CREDENTIALS function below makes the maintenance thread's connects take.
BACKGROUND_CONNECT = 0.5


def slow_in_the_background(alias: str) -> dict[str, Any]:
    """CREDENTIALS that make the maintenance thread's connects slow, and no one else's."""
    if threading.current_thread().name == "dj_db_conn_pool maintenance":
        time.sleep(BACKGROUND_CONNECT)
    return {}


def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Wait until condition() holds (the maintenance thread works on its own)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def sessions(engine: Engine) -> int:
    return engine.count_sessions(TEST_DATABASE)


def test_min_size_opens_connections_ahead_of_need_without_delaying_the_first_request(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(
        POOL_SIZE=5,
        MAX_OVERFLOW=0,
        MIN_SIZE=3,
        CREDENTIALS=f"{__name__}.slow_in_the_background",
    )
    started = time.monotonic()
    in_a_thread(lambda: backend_id(engine))  # a thread that ends: its connection is no one's
    assert time.monotonic() - started < BACKGROUND_CONNECT  # it opened its own, and went
    assert eventually(lambda: sessions(engine) == 3)
    opened = dj_db_conn_pool.stats(engine.alias)[engine.alias]["connections_opened"]
    all_in = threading.Barrier(3)

    def request(number: int) -> None:  # three at once: each finds a warm connection
        close_old_connections()
        backend_id(engine)
        all_in.wait(10)
        close_old_connections()

    assert fan_out(3, request) == []
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["connections_opened"] == opened == 3


def test_min_size_refills_the_pool_after_the_server_kills_an_idle_session(
    engine: Engine, pool_options: dict[str, Any], figures: list[str]
) -> None:
    pool_options.update(POOL_SIZE=5, MAX_OVERFLOW=0, MIN_SIZE=3)
    request_cycle(engine)
    served = time.monotonic()
    assert eventually(lambda: sessions(engine) == 3)
    warmed = time.monotonic() - served
    assert warmed < 0.5  # warming starts once the first checkout is served, not a tick later
    figures.append(f"MIN_SIZE=3: 3 server sessions {warmed * 1000:.0f} ms after the first request")
    before = engine.session_ids(TEST_DATABASE)
    killed = min(before)
    engine.kill_session(killed)
    assert eventually(lambda: killed not in engine.session_ids(TEST_DATABASE))
    assert eventually(lambda: len(engine.session_ids(TEST_DATABASE)) == 3)
    after = engine.session_ids(TEST_DATABASE)
    assert killed not in after and len(after & before) == 2  # one replaced, two kept
    figures = dj_db_conn_pool.stats(engine.alias)[engine.alias]
    assert figures["invalidations"] == 1 and figures["connections_opened"] == 4
    request_cycle(engine)  # and requests never saw the dead one
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["connections_opened"] == 4


def test_idle_timeout_gives_sessions_back_down_to_min_size_after_a_burst(
    engine: Engine, pool_options: dict[str, Any], figures: list[str]
) -> None:
    pool_options.update(POOL_SIZE=8, MAX_OVERFLOW=0, MIN_SIZE=2, IDLE_TIMEOUT=1)
    all_in = threading.Barrier(8)

    def busy(number: int) -> None:  # eight requests at once, for about a second
        for _ in range(10):
            close_old_connections()
            with connections[engine.alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                all_in.wait(10)
                time.sleep(0.1)
            close_old_connections()

    with SessionSampler(engine, TEST_DATABASE, interval=0.1) as sampler:
        assert fan_out(8, busy) == []
        quiet_from = time.monotonic() - sampler.started
        assert eventually(lambda: sessions(engine) == 2, seconds=5)
        time.sleep(1.5)  # and it stays at MIN_SIZE
    assert sampler.peak == 8
    assert sessions(engine) == 2
    shrunk = next(t for t, count in sampler.series if t > quiet_from and count == 2)
    assert shrunk - quiet_from < 3  # IDLE_TIMEOUT, plus up to one sweep (0.5 s), plus slack
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["idle_closed"] == 6
    changes = [
        f"{t:.1f}s:{count}"
        for i, (t, count) in enumerate(sampler.series)
        if i == 0 or count != sampler.series[i - 1][1]
    ]
    figures.append(
        f"server sessions, 8 threads busy then quiet (IDLE_TIMEOUT=1, MIN_SIZE=2): quiet from "
        f"{quiet_from:.1f}s, at MIN_SIZE from {shrunk:.1f}s; changes {' '.join(changes)}; "
        f"last {sampler.series[-1][0]:.1f}s:{sampler.series[-1][1]}"
    )


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_warms_its_own_connections_and_leaves_the_parents_alone(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(POOL_SIZE=5, MAX_OVERFLOW=0, MIN_SIZE=2)
    request_cycle(engine)
    assert eventually(lambda: sessions(engine) == 2)
    parents = engine.session_ids(TEST_DATABASE)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first request warms a pool of its own
        code = 1
        try:
            os.close(read_end)
            request_cycle(engine)
            seen = eventually(lambda: sessions(engine) == 4)
            opened = dj_db_conn_pool.stats(engine.alias)[engine.alias]["connections_opened"]
            os.write(write_end, f"{int(seen)} {opened}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    report = os.read(read_end, 64).decode()
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    assert report == "1 2"  # 4 sessions: the parent's 2 and the child's own 2
    assert eventually(lambda: engine.session_ids(TEST_DATABASE) == parents)
    request_cycle(engine)  # the parent's warm connections still serve it
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["connections_opened"] == 2
