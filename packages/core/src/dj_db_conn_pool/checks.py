"""System checks for every pooled alias of DATABASES; none of them connects to a server."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import credentials
from .options import OPTIONS, current_defaults, problems

# RECONNECT_BACKOFF beyond this many seconds keeps an app failing long after an outage.
SLOW_RECONNECT = 10

TAG = "dj_db_conn_pool"
ENGINE_PREFIX = "dj_db_conn_pool."

# What to install for each engine this project ships (the core's extras).
INSTALL = {
    "dj_db_conn_pool.backends.postgresql": (
        "django-db-connection-pool-postgresql",
        "pip install 'django-db-connection-pool[postgresql]' (psycopg 3) "
        "or 'django-db-connection-pool[psycopg2]'",
    ),
    "dj_db_conn_pool.backends.postgis": (
        "django-db-connection-pool-postgresql",
        "pip install 'django-db-connection-pool[postgresql]', and the GDAL and GEOS "
        "libraries that GeoDjango needs",
    ),
    "dj_db_conn_pool.backends.mysql": (
        "django-db-connection-pool-mysql",
        "pip install 'django-db-connection-pool[mysql]' (mysqlclient)",
    ),
    "dj_db_conn_pool.backends.oceanbase": (
        "django-db-connection-pool-mysql",
        "pip install 'django-db-connection-pool[mysql]' (mysqlclient; OceanBase's MySQL mode)",
    ),
    "dj_db_conn_pool.backends.oracle": (
        "django-db-connection-pool-oracle",
        "pip install 'django-db-connection-pool[oracle]' (python-oracledb)",
    ),
    **{
        f"dj_db_conn_pool.backends.{engine}": (
            "django-db-connection-pool-jdbc",
            "pip install 'django-db-connection-pool-jdbc[oracle]' or '[mysql]' for the "
            "ORM modes, and the JDBC driver's jar (OPTIONS['JDBC_CLASSPATH'])",
        )
        for engine in (
            "jdbc",
            "jdbc.oracle",
            "jdbc.oceanbase",
            "jdbc.oceanbase.mysql",
            "jdbc.oceanbase.oracle",
        )
    },
}


def pooled_databases() -> dict[str, dict[str, Any]]:
    """Return the aliases of settings.DATABASES whose ENGINE is one of ours."""
    return {
        alias: settings_dict
        for alias, settings_dict in settings.DATABASES.items()
        if str(settings_dict.get("ENGINE") or "").startswith(ENGINE_PREFIX)
    }


def check_databases(**kwargs: Any) -> list[checks.CheckMessage]:
    """Check every pooled alias's settings, as written, without connecting."""
    messages: list[checks.CheckMessage] = []
    for alias, settings_dict in pooled_databases().items():
        messages.extend(check_alias(alias, settings_dict))
    return messages


def check_alias(alias: str, settings_dict: Mapping[str, Any]) -> list[checks.CheckMessage]:
    """Return the problems of one pooled alias's settings."""
    return [
        *_check_pool_options(alias, settings_dict.get("POOL_OPTIONS")),
        *_check_django_pool(alias, settings_dict),
        *_check_conn_max_age(alias, settings_dict),
        *_check_engine(alias, str(settings_dict["ENGINE"])),
        *_check_credentials(alias, settings_dict.get("POOL_OPTIONS")),
        *_check_reconnect_backoff(alias, settings_dict.get("POOL_OPTIONS")),
        *_check_idle_timeout(alias, settings_dict.get("POOL_OPTIONS")),
    ]


def _check_pool_options(alias: str, pool_options: Any) -> list[checks.CheckMessage]:
    where = f"DATABASES[{alias!r}]['POOL_OPTIONS']"
    messages: list[checks.CheckMessage] = []
    for problem in problems(pool_options):
        if problem.kind == "not a dict":
            hint, code = f"Use a dict of these keys: {', '.join(OPTIONS)}.", "E001"
            message = problem.describe(where)
        elif problem.kind == "unknown key":
            hint, code = _key_hint(problem.key), "E002"
            message = f"{where}: unknown key {problem.key!r}."
        else:
            hint, code = f"Expected {OPTIONS[problem.key].valid}.", "E003"
            message = f"{where}[{problem.key!r}] = {problem.value!r} is not valid."
        messages.append(checks.Error(message, hint=hint, obj=alias, id=f"dj_db_conn_pool.{code}"))
    return messages


def _key_hint(key: Any) -> str:
    valid = f"Valid keys: {', '.join(OPTIONS)}."
    if not isinstance(key, str):
        return valid
    close = difflib.get_close_matches(key.upper(), OPTIONS, n=1, cutoff=0.6)
    return f"Did you mean {close[0]!r}? {valid}" if close else valid


def _check_django_pool(alias: str, settings_dict: Mapping[str, Any]) -> list[checks.CheckMessage]:
    if not (settings_dict.get("OPTIONS") or {}).get("pool"):
        return []
    return [
        checks.Error(
            f"DATABASES[{alias!r}]['OPTIONS']['pool'] turns on Django's own connection pool, "
            f"which cannot be combined with ENGINE {settings_dict['ENGINE']!r}.",
            hint="Remove OPTIONS['pool'] and size the pool with POOL_OPTIONS, "
            "or use Django's stock ENGINE.",
            obj=alias,
            id="dj_db_conn_pool.E004",
        )
    ]


def _check_conn_max_age(alias: str, settings_dict: Mapping[str, Any]) -> list[checks.CheckMessage]:
    max_age = settings_dict.get("CONN_MAX_AGE", 0)
    if max_age == 0:
        return []
    return [
        checks.Warning(
            f"DATABASES[{alias!r}]['CONN_MAX_AGE'] = {max_age!r} is ignored with a pooled "
            "ENGINE: the connection goes back to the pool at the end of every request, and "
            "the pool keeps it open.",
            hint="Remove CONN_MAX_AGE (or set it to 0); POOL_OPTIONS['RECYCLE'] caps a "
            "connection's age.",
            obj=alias,
            id="dj_db_conn_pool.W001",
        )
    ]


def _check_engine(alias: str, engine: str) -> list[checks.CheckMessage]:
    where = f"DATABASES[{alias!r}]['ENGINE'] = {engine!r}"
    distribution, command = INSTALL.get(engine, (None, None))
    try:
        found = importlib.util.find_spec(f"{engine}.base") is not None
    except ImportError:  # its package is missing
        found = False
    if not found:
        if distribution is None:
            hint = (
                f"This version ships {', '.join(INSTALL)}; 1.x's ODBC and django-tenants "
                "engines are not part of it (see docs/migration-from-1x.md)."
            )
        else:
            hint = f"Install {distribution}: {command}."
        return [
            checks.Error(
                f"{where} is not installed.", hint=hint, obj=alias, id="dj_db_conn_pool.E005"
            )
        ]
    try:
        importlib.import_module(f"{engine}.base")
    except (ImproperlyConfigured, ImportError, OSError) as error:  # OSError: a C library
        hint = f"{command}." if command else "Install the driver that the error names."
        return [
            checks.Error(
                f"{where} cannot load its database driver: {error}",
                hint=hint,
                obj=alias,
                id="dj_db_conn_pool.E006",
            )
        ]
    return []


def register_checks() -> None:
    """Register the checks with Django's registry, under the "dj_db_conn_pool" tag."""
    checks.register(check_databases, TAG)


def _check_credentials(alias: str, pool_options: Any) -> list[checks.CheckMessage]:
    path = pool_options.get("CREDENTIALS") if isinstance(pool_options, Mapping) else None
    if not isinstance(path, str) or problems({"CREDENTIALS": path}):
        return []  # absent, or E003 says it is not a dotted path
    try:
        credentials.load(alias, path)
    except ImproperlyConfigured as error:
        hint = "Name a function (alias) -> dict of DATABASES keys, importable by the server."
        return [checks.Error(str(error), hint=hint, obj=alias, id="dj_db_conn_pool.E007")]
    return []


def _check_reconnect_backoff(alias: str, pool_options: Any) -> list[checks.CheckMessage]:
    if not isinstance(pool_options, Mapping):
        return []
    cap = pool_options.get("RECONNECT_BACKOFF")
    if not isinstance(cap, (int, float)) or isinstance(cap, bool) or cap <= SLOW_RECONNECT:
        return []
    return [
        checks.Warning(
            f"DATABASES[{alias!r}]['POOL_OPTIONS']['RECONNECT_BACKOFF'] = {cap!r}: after an "
            f"outage, requests may keep failing for up to {cap}s once the database is back.",
            hint=f"Keep it at {SLOW_RECONNECT} seconds or less (the default is 1.0).",
            obj=alias,
            id="dj_db_conn_pool.W002",
        )
    ]


def _check_idle_timeout(alias: str, pool_options: Any) -> list[checks.CheckMessage]:
    if problems(pool_options):
        return []  # E003 says what is wrong
    resolved = {**current_defaults(), **(pool_options or {})}
    idle_timeout, recycle = resolved["IDLE_TIMEOUT"], resolved["RECYCLE"]
    if idle_timeout is None or recycle == -1 or idle_timeout < recycle:
        return []
    return [
        checks.Warning(
            f"DATABASES[{alias!r}]['POOL_OPTIONS']['IDLE_TIMEOUT'] = {idle_timeout!r} has no "
            f"effect: RECYCLE = {recycle!r} replaces every connection sooner.",
            hint="Set IDLE_TIMEOUT below RECYCLE, or leave it out.",
            obj=alias,
            id="dj_db_conn_pool.W003",
        )
    ]
