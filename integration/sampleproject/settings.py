"""Settings of the sample project; DJ_DB_CONN_POOL_SAMPLE_ENGINE picks the engine."""

import os

_ENGINE = os.environ.get("DJ_DB_CONN_POOL_SAMPLE_ENGINE", "postgresql")
_PREFIX = {"postgresql": "DJ_DB_CONN_POOL_PG", "mysql": "DJ_DB_CONN_POOL_MYSQL"}[_ENGINE]


def _database(name: str) -> dict:
    return {
        "ENGINE": f"dj_db_conn_pool.backends.{_ENGINE}",
        "NAME": name,
        "HOST": os.environ.get(f"{_PREFIX}_HOST", ""),
        "PORT": os.environ.get(f"{_PREFIX}_PORT", ""),
        "USER": os.environ.get(f"{_PREFIX}_USER", ""),
        "PASSWORD": os.environ.get(f"{_PREFIX}_PASSWORD", ""),
        "POOL_OPTIONS": {"POOL_SIZE": 3, "MAX_OVERFLOW": 2},
    }


SECRET_KEY = "sample-project-not-secret"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
# A suffix per run keeps concurrent runs on one machine apart.
_SUFFIX = os.environ.get("DJ_DB_CONN_POOL_SAMPLE_SUFFIX", "")
DATABASES = {
    "default": _database(f"djpool_sample{_SUFFIX}"),
    "other": _database(f"djpool_sample_other{_SUFFIX}"),
}
USE_TZ = True
TIME_ZONE = "Europe/Paris"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
