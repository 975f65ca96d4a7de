"""Django's tasks framework through the pooled ENGINE: django-tasks-db's db_worker.

django.tasks is built into Django 6.x; on 5.2 the django-tasks backport
provides it (integration/taskworkers/settings.py picks). Two db_worker
processes drain TASKS tasks, half of them select_for_update() inside atomic():
none fails, the counters are exact, the server never sees more sessions than
the two pools allow, and each worker ends with nothing checked out.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack

import pytest

from conftest import TEST_DATABASE
from integration.engines import Engine
from integration.taskworkers.servers import (
    SessionSampler,
    Worker,
    app_env,
    check_rows,
    rows,
    run_app,
)

pytest.importorskip("django_tasks_db", reason="django-tasks-db is in the `test` envs only")

TASKS = 300
WORKERS = 2


def test_db_workers_run_every_task_within_the_pool_bound(
    postgresql: Engine, figures: list[str]
) -> None:
    env = app_env(postgresql, TEST_DATABASE, pool_size=1)
    run_app(env, "setup")
    run_app(env, "enqueue", str(TASKS))
    command = [sys.executable, "-m", "integration.taskworkers", "db-worker"]
    with SessionSampler(postgresql, TEST_DATABASE) as sampler, ExitStack() as stack:
        workers = [stack.enter_context(Worker(command, env)) for _ in range(WORKERS)]
        for worker in workers:
            assert worker.wait(90) == 0, worker.output()
    statuses = dict(
        rows(
            postgresql,
            TEST_DATABASE,
            "SELECT status, COUNT(*) FROM django_tasks_database_dbtaskresult GROUP BY status",
        )
    )
    assert statuses == {"SUCCESSFUL": TASKS}
    sessions = check_rows(postgresql, TEST_DATABASE, TASKS)
    for worker in workers:
        pool = json.loads(worker.output().strip().splitlines()[-1])
        assert pool["checked_out"] == 0, pool
    assert sampler.peak <= WORKERS, f"{sampler.peak} sessions, bound {WORKERS}"
    figures.append(f"{TASKS} tasks, {sessions} sessions ran them, peak {sampler.peak}")
