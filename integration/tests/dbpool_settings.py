"""Settings for `python -m django dbpool` in test_operations: the app and one pooled alias."""

import os

_ENGINE = os.environ.get("DJ_DB_CONN_POOL_OPS_ENGINE", "postgresql")
_PREFIX = {"postgresql": "DJ_DB_CONN_POOL_PG", "mysql": "DJ_DB_CONN_POOL_MYSQL"}[_ENGINE]

SECRET_KEY = "dbpool-test-not-secret"
INSTALLED_APPS = ["dj_db_conn_pool"]
DATABASES = {
    "default": {
        "ENGINE": f"dj_db_conn_pool.backends.{_ENGINE}",
        "NAME": os.environ["DJ_DB_CONN_POOL_OPS_DATABASE"],
        "HOST": os.environ.get(f"{_PREFIX}_HOST", ""),
        "PORT": os.environ.get(f"{_PREFIX}_PORT", ""),
        "USER": os.environ.get(f"{_PREFIX}_USER", ""),
        "PASSWORD": os.environ.get(f"{_PREFIX}_PASSWORD", ""),
    }
}
USE_TZ = True
