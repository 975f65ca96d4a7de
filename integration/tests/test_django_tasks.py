"""Django's tasks framework through the pooled ENGINE: django-tasks-db's db_worker.

django.tasks is built into Django 6.x; on 5.2 the django-tasks backport
provides it (integration/taskworkers/settings.py picks). WORKERS db_worker
processes drain TASKS tasks, half of them select_for_update() inside atomic():
none fails, the counters are exact, the server never sees more sessions than
the pools allow, and each worker ends with nothing checked out.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import ExitStack
from typing import Any

import pytest

from conftest import TEST_DATABASE
from integration.engines import Engine
from integration.helpers import SessionSampler
from integration.taskworkers.servers import (
    Worker,
    app_env,
    check_rows,
    prepare,
    rows,
    run_app,
)

pytest.importorskip("django_tasks_db", reason="django-tasks-db is in the `test` envs only")

TASKS = 200
WORKERS = 2


def drain(engine: Engine, **variables: Any) -> tuple[int, int, float, list[dict[str, Any]]]:
    """Enqueue TASKS tasks and run WORKERS db_workers until the queue is empty.

    Check every task succeeded once; return the sessions that ran them, the
    most sessions sampled at once, the seconds taken, and each worker's pool stats.
    """
    env = app_env(engine, TEST_DATABASE, pool_size=1, **variables)
    prepare(engine, TEST_DATABASE, env)
    run_app(env, "enqueue", str(TASKS))
    command = [sys.executable, "-m", "integration.taskworkers", "db-worker"]
    start = time.monotonic()
    with SessionSampler(engine, TEST_DATABASE) as sampler, ExitStack() as stack:
        workers = [stack.enter_context(Worker(command, env)) for _ in range(WORKERS)]
        for worker in workers:
            assert worker.wait(90) == 0, worker.output()
    seconds = time.monotonic() - start
    statuses = dict(
        rows(
            engine,
            TEST_DATABASE,
            "SELECT status, COUNT(*) FROM django_tasks_database_dbtaskresult GROUP BY status",
        )
    )
    assert statuses == {"SUCCESSFUL": TASKS}
    sessions = check_rows(engine, TEST_DATABASE, TASKS)
    pools = [json.loads(worker.output().strip().splitlines()[-1]) for worker in workers]
    return sessions, sampler.peak, seconds, pools


@pytest.mark.parametrize("database", ["postgresql", "mysql"])
def test_db_workers_run_every_task_within_the_pool_bound(
    database: str, request: pytest.FixtureRequest, figures: list[str]
) -> None:
    engine = request.getfixturevalue(database)
    sessions, peak, seconds, pools = drain(engine)
    assert [pool["checked_out"] for pool in pools] == [0] * WORKERS, pools
    assert peak <= WORKERS, f"{peak} sessions, bound {WORKERS}"
    figures.append(f"{TASKS} tasks in {seconds:.1f} s, {sessions} sessions ran them, peak {peak}")


def test_db_worker_reuses_sessions_only_through_the_pool(
    postgresql: Engine, figures: list[str]
) -> None:
    # db_worker calls close_old_connections() around every turn of its loop:
    # with the stock ENGINE and CONN_MAX_AGE=0, every task gets a new session.
    sessions, _, seconds, _ = drain(postgresql, stock=1)
    assert sessions == TASKS
    figures.append(f"stock: {TASKS} tasks in {seconds:.1f} s, {sessions} sessions ran them")
