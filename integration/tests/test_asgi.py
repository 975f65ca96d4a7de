"""The pool under a real ASGI server: uvicorn (and granian), 32 clients, bound 4.

Under ASGI each request runs its sync work (a sync view, or an async view's
sync_to_async calls) in a thread of its own, which ends with the request: the
connection must go back to the pool at the end of every request, whatever
CONN_MAX_AGE says, and never wait for the garbage collector.
"""

from __future__ import annotations

import time

import pytest

from conftest import TEST_DATABASE
from integration import serving
from integration.engines import Engine
from integration.helpers import SessionSampler

POOL_OPTIONS = {"POOL_SIZE": 4, "MAX_OVERFLOW": 0, "TIMEOUT": 10}
BOUND = 4
CLIENTS = 32
# What each client asks for, in order: ORM reads and writes from sync and
# async views, and row-locking increments inside atomic().
PATHS = ["/sync/", "/async/", "/atomic/", "/async/", "/sync/", "/atomic/"]
# Some clients first hang up mid-request, in a view holding a connection
# (sleeping on the server) or awaiting after its ORM work.
DISCONNECTS = ["/slow/?seconds=0.5", "/slow-async/?seconds=0.5"]


def load_and_check(kind: str, engine: Engine, conn_max_age: int, figures: list[str]) -> None:
    """Serve the app, run the clients, and check errors, the bound and the returns."""
    serving.reset_tables(engine)
    with serving.serve(
        kind, engine, TEST_DATABASE, conn_max_age=conn_max_age, pool_options=POOL_OPTIONS
    ) as server:

        def client(number: int) -> list[serving.Response]:
            if number % 8 < len(DISCONNECTS):
                server.disconnect_mid_request(DISCONNECTS[number % 8])
            return [server.get(path) for path in PATHS]

        started = time.monotonic()
        with SessionSampler(engine, TEST_DATABASE) as sessions:
            responses = serving.run_clients(CLIENTS, client)
            after = serving.wait_for_returns(server)
        elapsed = time.monotonic() - started
        output = server.output()

    errors = [response for response in responses if response.status != 200]
    figures.append(
        f"{len(responses)} requests in {elapsed:.1f} s, {len(errors)} errors, "
        f"peak {sessions.peak} sessions ({sessions.samples} samples), "
        f"after: {after['checked_out']} checked out, {after['open']} open"
    )
    assert not errors, (
        f"{len(errors)} of {len(responses)} failed, e.g. {errors[:3]}; server output:\n{output}"
    )
    assert sessions.samples > 0
    assert sessions.peak <= BOUND, f"{sessions.peak} server sessions, bound {BOUND}"
    assert after["checked_out"] == 0 and after["waiting"] == 0, after
    assert after["open"] <= BOUND, after
    atomic_done = sum(response.path == "/atomic/" for response in responses)
    assert serving.counter_value(engine, TEST_DATABASE) == atomic_done


@pytest.mark.parametrize("conn_max_age", [0, 60], ids=lambda age: f"max_age_{age}")
def test_uvicorn_32_clients_bound_4_no_errors_and_all_returned(
    engine: Engine, conn_max_age: int, figures: list[str]
) -> None:
    load_and_check("uvicorn", engine, conn_max_age, figures)


def test_granian_32_clients_bound_4_no_errors_and_all_returned(
    postgresql: Engine, figures: list[str]
) -> None:
    load_and_check("granian", postgresql, 60, figures)
