"""Django settings for the demo: one PostgreSQL database, pooled or not.

DJPOOL_DEMO_CONFIG picks the configuration; the server's address comes from
the DJ_DB_CONN_POOL_PG_* variables that integration/services.py returns.
"""

from __future__ import annotations

import os
from typing import Any

CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "stock": {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 0},
    "pooled": {
        "ENGINE": "dj_db_conn_pool.backends.postgresql",
        "POOL_OPTIONS": {"POOL_SIZE": 4, "MAX_OVERFLOW": 0},
    },
}

DATABASES = {
    "default": {
        "NAME": "djpool_demo",
        "HOST": os.environ["DJ_DB_CONN_POOL_PG_HOST"],
        "PORT": os.environ.get("DJ_DB_CONN_POOL_PG_PORT", ""),
        "USER": os.environ.get("DJ_DB_CONN_POOL_PG_USER", "postgres"),
        **CONFIGURATIONS[os.environ.get("DJPOOL_DEMO_CONFIG", "stock")],
    }
}
# app.py is loaded as the URLconf, after set-up; its model names its own app_label.
INSTALLED_APPS: list[str] = []
ROOT_URLCONF = "app"
MIDDLEWARE: list[str] = []
ALLOWED_HOSTS = ["*"]
SECRET_KEY = "djpool-demo-only"
DEBUG = False  # True would keep every query in memory
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
