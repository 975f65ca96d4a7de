"""Django settings for every test folder: one alias per engine this env can reach.

The servers come from `make services` (integration/services.py), which exports
their settings as DJ_DB_CONN_POOL_* variables. Without them an engine's tests
skip, except under CI=true, where a missing server is a failure.
"""

from __future__ import annotations

import os

import django
from django.conf import settings

from integration import engines

TEST_DATABASE = "djpool_tests"


def pytest_configure(config: object) -> None:
    if settings.configured:
        return
    databases = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        **{engine.alias: engine.settings(TEST_DATABASE) for engine in engines.available()},
    }
    settings.configure(
        DATABASES=databases,
        USE_TZ=True,
        TIME_ZONE="UTC",
        INSTALLED_APPS=["django.contrib.contenttypes"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()
    for engine in engines.available():
        engine.recreate_database(TEST_DATABASE)


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "false")
