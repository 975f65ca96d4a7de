"""The Celery app of the worker tests: Redis broker and result backend, one task.

TASKWORKERS_TOUCH_DB_AT_WORKER_INIT=1 adds a worker_init handler that runs a
query in the worker's main process before it forks; TASKWORKERS_TOUCH_DB_AT_CHILD_INIT=1
a worker_process_init handler that runs one in each child, as apps that warm a
cache or read a flag there do (the hazard that test_celery.py pins). See docs/celery.md.
"""

from __future__ import annotations

import json
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.taskworkers.settings")

from celery import Celery
from celery.signals import (
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
)
from django.conf import settings

from integration.taskworkers import STATS_AT_EXIT

app = Celery("taskworkers")
app.conf.update(
    broker_url=settings.CELERY_REDIS,
    result_backend=settings.CELERY_REDIS,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_track_started=os.environ.get("TASKWORKERS_TRACK_STARTED") == "1",
)


@app.task(name="taskworkers.bump")
def bump(token: str, locked: bool) -> str:
    from .tasks import run

    return run(token, locked)


def touch_database(**kwargs: Any) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


if os.environ.get("TASKWORKERS_TOUCH_DB_AT_WORKER_INIT") == "1":
    worker_init.connect(touch_database, weak=False)
if os.environ.get("TASKWORKERS_TOUCH_DB_AT_CHILD_INIT") == "1":
    worker_process_init.connect(touch_database, weak=False)


def close_pools(role: str) -> None:
    """Print this process's pool stats, then end its pooled sessions.

    billiard ends a prefork child with os._exit, so no atexit handler runs:
    without this, the server sees the child's sessions drop without a goodbye.
    """
    from django.db import connections

    from dj_db_conn_pool import stats

    print(f"{STATS_AT_EXIT} {role} {json.dumps(stats().get('default', {}))}", flush=True)
    for connection in connections.all(initialized_only=True):
        connection.close()
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()


@worker_process_shutdown.connect
def close_child_pools(**kwargs: Any) -> None:
    close_pools("child")


@worker_shutdown.connect
def close_main_pools(**kwargs: Any) -> None:
    """The main process: it runs the tasks of a threads or solo pool."""
    close_pools("main")
