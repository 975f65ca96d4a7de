"""Settings of the serving tests' project, from DJ_DB_CONN_POOL_WEBAPP_* variables.

ENGINE (postgresql | mysql) picks the server, whose address comes from the
same DJ_DB_CONN_POOL_* variables as the tests'; DATABASE names the database;
CONN_MAX_AGE and POOL_OPTIONS (JSON) are the settings the tests vary;
STOCK=1 swaps in Django's own ENGINE, for comparisons (bench/).
"""

from __future__ import annotations

import json
import os

from integration import engines

_ENGINE = {engine.module: engine for engine in engines.ALL}[
    os.environ.get("DJ_DB_CONN_POOL_WEBAPP_ENGINE", "postgresql")
]

DATABASES = {
    "default": _ENGINE.settings(
        os.environ["DJ_DB_CONN_POOL_WEBAPP_DATABASE"],
        CONN_MAX_AGE=int(os.environ.get("DJ_DB_CONN_POOL_WEBAPP_CONN_MAX_AGE", "0")),
        POOL_OPTIONS=json.loads(os.environ.get("DJ_DB_CONN_POOL_WEBAPP_POOL_OPTIONS", "{}")),
    )
}
if os.environ.get("DJ_DB_CONN_POOL_WEBAPP_STOCK") == "1":
    DATABASES["default"]["ENGINE"] = f"django.db.backends.{_ENGINE.module}"
    del DATABASES["default"]["POOL_OPTIONS"]
INSTALLED_APPS = ["dj_db_conn_pool", "integration.webapp"]
MIDDLEWARE = ["integration.webapp.middleware.PoolTimeoutMiddleware"]
ROOT_URLCONF = "integration.webapp.urls"
ALLOWED_HOSTS = ["127.0.0.1"]
SECRET_KEY = "djpool-webapp-not-secret"
DEBUG = False  # True would keep every query in memory
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# Errors of views go to stderr, which the tests show when a request fails.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
