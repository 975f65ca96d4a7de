"""The pool under gunicorn's gevent workers: 64 clients, bound 4, one worker.

PostgreSQL only: psycopg 3 waits through gevent once gevent has patched
`select`, psycopg2 once psycogreen's callback is set (the test-psycopg2 env;
see integration/webapp/gunicorn_gevent.py). mysqlclient waits in C and blocks
the whole worker (docs/gevent.md).
"""

from __future__ import annotations

import threading
import time

import pytest

from conftest import TEST_DATABASE
from integration import serving
from integration.engines import Engine
from integration.helpers import SessionSampler

BOUND = 4
CLIENTS = 64
PATHS = ["/sync/", "/atomic/", "/sync/", "/atomic/"]


# Without --preload, and with it (the config then patches in the master).
KINDS = ["gunicorn-gevent", "gunicorn-gevent-preload"]


@pytest.mark.parametrize(
    ("kind", "conn_max_age"),
    [("gunicorn-gevent", 0), ("gunicorn-gevent", 60), ("gunicorn-gevent-preload", 60)],
    ids=lambda value: f"max_age_{value}" if isinstance(value, int) else value,
)
def test_gevent_64_clients_bound_4_no_errors_and_all_returned(
    postgresql: Engine, kind: str, conn_max_age: int, figures: list[str]
) -> None:
    serving.reset_tables(postgresql)
    options = {"POOL_SIZE": BOUND, "MAX_OVERFLOW": 0, "TIMEOUT": 10}
    with serving.serve(
        kind,
        postgresql,
        TEST_DATABASE,
        conn_max_age=conn_max_age,
        pool_options=options,
    ) as server:
        started = time.monotonic()
        with SessionSampler(postgresql, TEST_DATABASE) as sessions:
            responses = serving.run_clients(
                CLIENTS, lambda number: [server.get(path) for path in PATHS]
            )
            after = serving.wait_for_returns(server)
        elapsed = time.monotonic() - started
        output = server.output()

    errors = [response for response in responses if response.status != 200]
    figures.append(
        f"{len(responses)} requests in {elapsed:.1f} s, {len(errors)} errors, "
        f"peak {sessions.peak} sessions, after: {after['checked_out']} checked out"
    )
    assert not errors, f"{len(errors)} failed, e.g. {errors[:3]}; server output:\n{output}"
    assert 0 < sessions.peak <= BOUND, f"{sessions.peak} server sessions, bound {BOUND}"
    assert after["checked_out"] == 0 and after["waiting"] == 0, after
    atomic_done = sum(response.path == "/atomic/" for response in responses)
    assert serving.counter_value(postgresql, TEST_DATABASE) == atomic_done


@pytest.mark.parametrize("kind", KINDS)
def test_gevent_waiters_get_pool_timeout_and_the_worker_stays_responsive(
    postgresql: Engine, kind: str, figures: list[str]
) -> None:
    """All 4 connections sleep 3 s on the server; the other 60 clients wait TIMEOUT (1 s)."""
    timeout, hold = 1.0, 3.0
    serving.reset_tables(postgresql)
    options = {"POOL_SIZE": BOUND, "MAX_OVERFLOW": 0, "TIMEOUT": timeout}
    with serving.serve(
        kind, postgresql, TEST_DATABASE, conn_max_age=0, pool_options=options
    ) as server:
        probes: list[serving.Response] = []

        def probe() -> None:
            # While every connection is out and 60 requests wait: a view without
            # the database must still be served at once by the same worker.
            for _ in range(5):
                time.sleep(0.3)
                probes.append(server.get("/stats/", timeout=10))

        prober = threading.Thread(target=probe)
        prober.start()
        responses = serving.run_clients(
            CLIENTS, lambda number: [server.get(f"/slow/?seconds={hold}")]
        )
        prober.join()
        after = serving.wait_for_returns(server)
        output = server.output()

    served = [response for response in responses if response.status == 200]
    refused = [response for response in responses if response.status == 503]
    slowest_probe = max(probe.elapsed for probe in probes)
    figures.append(
        f"{len(served)} served, {len(refused)} PoolTimeout after "
        f"{min(r.elapsed for r in refused):.2f}-{max(r.elapsed for r in refused):.2f} s, "
        f"slowest /stats/ probe {slowest_probe:.3f} s"
    )
    assert len(served) == BOUND and len(refused) == CLIENTS - BOUND, (
        f"{[r.status for r in responses]}\n{output}"
    )
    assert all(response.body.startswith("PoolTimeout: ") for response in refused), refused[0]
    assert "TIMEOUT=1.0s" in refused[0].body, refused[0].body
    assert all(timeout - 0.05 <= r.elapsed < timeout + 1.5 for r in refused), [
        round(r.elapsed, 2) for r in refused
    ]
    assert all(probe.status == 200 for probe in probes), probes
    # A blocked worker answers only between queries (3 s); 1 s leaves room for a busy machine.
    assert slowest_probe < 1.0, f"the worker was blocked for {slowest_probe:.2f} s"
    assert after["checked_out"] == 0 and after["timeouts"] == CLIENTS - BOUND, after
