"""Settings of the worker app, read from TASKWORKERS_* variables set by the tests.

TASKWORKERS_ENGINE: postgresql or mysql (integration/engines.py);
TASKWORKERS_DATABASE: the test run's database; TASKWORKERS_STOCK=1: Django's
stock ENGINE instead of the pooled one; TASKWORKERS_POOL_SIZE;
TASKWORKERS_CONN_MAX_AGE; TASKWORKERS_REDIS:
the broker and result backend of Celery.
"""

from __future__ import annotations

import importlib.util
import os

from integration import engines

_ENGINE = {"postgresql": engines.POSTGRESQL, "mysql": engines.MYSQL}[
    os.environ.get("TASKWORKERS_ENGINE", "postgresql")
]
_database = _ENGINE.settings(
    os.environ.get("TASKWORKERS_DATABASE", "djpool_taskworkers"),
    POOL_OPTIONS={
        "POOL_SIZE": int(os.environ.get("TASKWORKERS_POOL_SIZE", "1")),
        "MAX_OVERFLOW": 0,
        "TIMEOUT": 30,
    },
    CONN_MAX_AGE=int(os.environ.get("TASKWORKERS_CONN_MAX_AGE", "0")),
)
if os.environ.get("TASKWORKERS_STOCK") == "1":
    _database["ENGINE"] = f"django.db.backends.{_ENGINE.module}"
    del _database["POOL_OPTIONS"]
DATABASES = {"default": _database}

SECRET_KEY = "taskworkers-tests-only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "integration.taskworkers"]

# Django's tasks framework: built in from Django 6.0, the django-tasks backport on 5.2.
if importlib.util.find_spec("django_tasks_db"):
    if not importlib.util.find_spec("django.tasks"):
        INSTALLED_APPS.append("django_tasks")
    INSTALLED_APPS.append("django_tasks_db")
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

CELERY_REDIS = os.environ.get("TASKWORKERS_REDIS", "redis://127.0.0.1:6379/0")
