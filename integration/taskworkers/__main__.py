"""python -m integration.taskworkers setup | enqueue N | db-worker

setup: create the tables (migrate), reset the counters, empty the queue; enqueue: N Django
tasks, half of them locking a row; db-worker: run django-tasks-db's db_worker
until the queue is empty, end its last turn as the others end
(close_old_connections()), then print this process's pool stats as JSON.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration.taskworkers.settings")


def main(argv: list[str]) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    from integration.taskworkers import tasks

    action = argv[0]
    if action == "setup":
        from django_tasks_db.models import DBTaskResult

        call_command("migrate", run_syncdb=True, verbosity=0)
        tasks.reset()
        DBTaskResult.objects.all().delete()
    elif action == "enqueue":
        for number in range(int(argv[1])):
            tasks.bump.enqueue(f"dt-{number}", number % 2 == 0)
    elif action == "db-worker":
        call_command(
            "db_worker", batch=True, interval=0, startup_delay=False, reload=False, verbosity=0
        )
        from django.db import close_old_connections

        from dj_db_conn_pool import stats

        # --batch returns right after its last, empty, poll, without the
        # close_old_connections() that ends every other turn of its loop.
        close_old_connections()
        print(json.dumps(stats().get("default", {})))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
