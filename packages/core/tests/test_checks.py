"""System checks: every mistake in a pooled alias's settings is reported, none connects."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core import checks
from django.db import connections
from django.test import override_settings

from dj_db_conn_pool.checks import TAG, check_alias
from dj_db_conn_pool.options import OPTIONS

POSTGRESQL = "dj_db_conn_pool.backends.postgresql"


def ids(messages: list[checks.CheckMessage]) -> list[str | None]:
    return [message.id for message in messages]


def pooled(**settings: Any) -> dict[str, Any]:
    """A pooled alias's settings, as written in DATABASES, for a server nobody reaches."""
    return {"ENGINE": POSTGRESQL, "NAME": "app", "HOST": "/nonexistent", **settings}


@contextmanager
def databases(**aliases: dict[str, Any]) -> Iterator[None]:
    """Give the checks these DATABASES, leaving the connection handler's own alone."""
    connections.settings  # noqa: B018 - computed from the real DATABASES, not from these
    with pytest.warns(UserWarning, match="DATABASES"), override_settings(DATABASES=aliases):
        yield


@pytest.fixture(autouse=True)
def postgresql_engine() -> None:
    if importlib.util.find_spec(POSTGRESQL) is None:
        pytest.skip(f"{POSTGRESQL} is not installed in this environment")


def test_valid_settings_pass_without_connecting() -> None:
    started = time.monotonic()
    messages = check_alias("default", pooled(POOL_OPTIONS={"POOL_SIZE": 3}, CONN_MAX_AGE=0))
    assert messages == []
    assert time.monotonic() - started < 1  # no connection attempt to /nonexistent


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("POOL_SZIE", "POOL_SIZE"), ("pool_size", "POOL_SIZE"), ("MAX_OVERFLW", "MAX_OVERFLOW")],
)
def test_mistyped_key_suggests_the_closest_valid_one(key: str, suggestion: str) -> None:
    (message,) = check_alias("main", pooled(POOL_OPTIONS={key: 5}))
    assert message.id == "dj_db_conn_pool.E002"
    assert message.level == checks.ERROR
    assert f"DATABASES['main']['POOL_OPTIONS']: unknown key {key!r}" in message.msg
    assert message.hint.startswith(f"Did you mean {suggestion!r}?")


def test_unknown_key_without_a_close_match_lists_the_valid_keys() -> None:
    (message,) = check_alias("main", pooled(POOL_OPTIONS={"COLOUR": "blue"}))
    assert message.id == "dj_db_conn_pool.E002"
    assert "Did you mean" not in message.hint
    assert message.hint == f"Valid keys: {', '.join(OPTIONS)}."


@pytest.mark.parametrize(
    ("key", "value"),
    [("POOL_SIZE", -1), ("MAX_OVERFLOW", "10"), ("TIMEOUT", 0), ("RESET_ON_RETURN", "discard")],
)
def test_impossible_value_names_it_and_the_valid_values(key: str, value: object) -> None:
    (message,) = check_alias("main", pooled(POOL_OPTIONS={key: value}))
    assert message.id == "dj_db_conn_pool.E003"
    assert f"DATABASES['main']['POOL_OPTIONS'][{key!r}] = {value!r} is not valid" in message.msg
    assert message.hint == f"Expected {OPTIONS[key].valid}."


def test_every_mistake_is_reported_at_once() -> None:
    messages = check_alias(
        "main", pooled(POOL_OPTIONS={"POOL_SIZE": -1, "TIMOUT": 5, "PRE_PING": "yes"})
    )
    assert ids(messages) == ["dj_db_conn_pool.E003", "dj_db_conn_pool.E002", "dj_db_conn_pool.E003"]


def test_pool_options_must_be_a_dict() -> None:
    (message,) = check_alias("main", pooled(POOL_OPTIONS=[("POOL_SIZE", 1)]))
    assert message.id == "dj_db_conn_pool.E001"
    assert "must be a dict, not list" in message.msg


@pytest.mark.parametrize("max_age", [60, None])
def test_conn_max_age_is_said_to_be_ignored(max_age: int | None) -> None:
    (message,) = check_alias("main", pooled(CONN_MAX_AGE=max_age))
    assert message.id == "dj_db_conn_pool.W001"
    assert message.level == checks.WARNING
    assert f"['CONN_MAX_AGE'] = {max_age!r}" in message.msg
    assert "is ignored" in message.msg and "RECYCLE" in message.hint


def test_a_long_reconnect_backoff_is_warned_about() -> None:
    assert check_alias("main", pooled(POOL_OPTIONS={"RECONNECT_BACKOFF": 10})) == []
    (message,) = check_alias("main", pooled(POOL_OPTIONS={"RECONNECT_BACKOFF": 30}))
    assert message.id == "dj_db_conn_pool.W002"
    assert "['RECONNECT_BACKOFF'] = 30" in message.msg and "10" in message.hint


def test_min_size_above_pool_size_is_an_error() -> None:
    (message,) = check_alias("main", pooled(POOL_OPTIONS={"POOL_SIZE": 2, "MIN_SIZE": 3}))
    assert message.id == "dj_db_conn_pool.E003"
    assert "['MIN_SIZE'] = 3" in message.msg and "at most POOL_SIZE" in message.hint


@pytest.mark.parametrize(("idle_timeout", "warned"), [(900, True), (60, False), (None, False)])
def test_idle_timeout_not_below_recycle_is_said_to_do_nothing(
    idle_timeout: int | None, warned: bool
) -> None:
    messages = check_alias("main", pooled(POOL_OPTIONS={"IDLE_TIMEOUT": idle_timeout}))
    assert ids(messages) == (["dj_db_conn_pool.W003"] if warned else [])
    if warned:
        assert "['IDLE_TIMEOUT'] = 900 has no effect" in messages[0].msg
        assert "RECYCLE = 900" in messages[0].msg


def test_djangos_own_pool_is_an_error() -> None:
    (message,) = check_alias("main", pooled(OPTIONS={"pool": {"min_size": 2}}))
    assert message.id == "dj_db_conn_pool.E004"
    assert "['OPTIONS']['pool']" in message.msg and "POOL_OPTIONS" in message.hint


@pytest.mark.parametrize(
    "engine",
    ["dj_db_conn_pool.backends.odbc", "dj_db_conn_pool.backends.postgresql.django_tenants"],
)
def test_engine_of_1x_that_2x_lacks_is_an_error(engine: str) -> None:
    (message,) = check_alias("main", pooled(ENGINE=engine))
    assert message.id == "dj_db_conn_pool.E005"
    assert f"{engine!r} is not installed" in message.msg
    assert "migration-from-1x" in message.hint


@pytest.mark.parametrize(
    ("engine", "distribution"),
    [
        ("dj_db_conn_pool.backends.oracle", "django-db-connection-pool-oracle"),
        ("dj_db_conn_pool.backends.jdbc.oracle", "django-db-connection-pool-jdbc"),
    ],
)
def test_engine_not_installed_here_names_its_distribution(engine: str, distribution: str) -> None:
    (message,) = check_alias("main", pooled(ENGINE=engine))
    assert message.id == "dj_db_conn_pool.E005"
    assert f"Install {distribution}" in message.hint


@pytest.mark.parametrize(
    ("engine", "blocked", "install"),
    [
        (
            POSTGRESQL,
            ("psycopg", "psycopg2"),
            "pip install 'django-db-connection-pool[postgresql]'",
        ),
        ("dj_db_conn_pool.backends.mysql", ("MySQLdb",), "'django-db-connection-pool[mysql]'"),
    ],
)
def test_missing_driver_says_which_distribution_to_install(
    engine: str, blocked: tuple[str, ...], install: str
) -> None:
    if importlib.util.find_spec(engine) is None:
        pytest.skip(f"{engine} is not installed in this environment")
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "from django.conf import settings\n"
        "settings.configure()\n"
        "from dj_db_conn_pool.checks import check_alias\n"
        f"for message in check_alias('main', {{'ENGINE': {engine!r}}}):\n"
        "    print(message.id, message.msg, message.hint, sep='\\n')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    message_id, msg, hint = result.stdout.strip().split("\n", 2)
    assert message_id == "dj_db_conn_pool.E006"
    assert "cannot load its database driver" in msg
    assert install in hint


def test_stock_engines_are_left_alone() -> None:
    with databases(
        default={"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        stock={"ENGINE": "django.db.backends.postgresql", "POOL_OPTIONS": {"NOPE": 1}},
    ):
        assert checks.run_checks(tags=[TAG]) == []


def test_the_app_registers_the_checks_and_manage_py_check_runs_them() -> None:
    apps = ["django.contrib.contenttypes", "dj_db_conn_pool"]
    with (
        databases(
            default={"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
            pooled=pooled(POOL_OPTIONS={"POOL_SZIE": 5}, CONN_MAX_AGE=None),
        ),
        override_settings(INSTALLED_APPS=apps),
    ):
        assert TAG in checks.registry.registry.tags_available()
        # No tags and no databases: what `manage.py check` runs.
        messages = [m for m in checks.run_checks() if m.id and m.id.startswith(TAG)]
    assert ids(messages) == ["dj_db_conn_pool.E002", "dj_db_conn_pool.W001"]
    assert all(message.obj == "pooled" for message in messages)
