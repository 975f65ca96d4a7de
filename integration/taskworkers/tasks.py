"""The ORM work every task does, and its Django task (django.tasks, or the backport on 5.2)."""

from __future__ import annotations

import importlib.util
import os

from django.db import connection, transaction
from django.db.models import F

from .models import Counter, TaskRun

LOCKED, PLAIN = 1, 2  # the counters' ids


def current_session() -> str:
    """Return the server's id of this connection's session, unique for the server's life."""
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute("SELECT CONNECTION_ID()")
        else:  # a backend pid can be reused: its start time makes it unique
            cursor.execute(
                "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            )
        return "@".join(str(value) for value in cursor.fetchone())


def run(token: str, locked: bool) -> str:
    """Add one to a counter (locking its row if `locked`), record the run; return the session."""
    if locked:
        with transaction.atomic():
            counter = Counter.objects.select_for_update().get(pk=LOCKED)
            counter.value += 1
            counter.save(update_fields=["value"])
    else:
        Counter.objects.filter(pk=PLAIN).update(value=F("value") + 1)
    session = current_session()
    TaskRun.objects.create(token=token, session=session, pid=os.getpid())
    return session


def reset() -> None:
    """Empty what the tasks write and start both counters at 0."""
    TaskRun.objects.all().delete()
    Counter.objects.all().delete()
    Counter.objects.bulk_create([Counter(pk=LOCKED), Counter(pk=PLAIN)])


if importlib.util.find_spec("django.tasks"):
    from django.tasks import task
else:
    from django_tasks import task  # type: ignore[no-redef]


@task()
def bump(token: str, locked: bool) -> str:
    """The Django task: run() in the db_worker process."""
    return run(token, locked)
