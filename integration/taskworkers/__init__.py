"""A small Django app run by real task workers: Celery, and Django's tasks framework.

The tests (integration/tests/test_celery.py, test_django_tasks.py) start the
workers as subprocesses with DJANGO_SETTINGS_MODULE=integration.taskworkers.settings
and the TASKWORKERS_* variables that settings.py reads; servers.py holds what
they share (Redis, the session sampler, the worker processes).
"""

# What celery_app.close_pools() prints before a process's pool stats, as it exits.
STATS_AT_EXIT = "pool stats at exit:"
