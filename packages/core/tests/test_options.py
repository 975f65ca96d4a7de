"""POOL_OPTIONS and setup(): every mistake is a clear ImproperlyConfigured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.sqlite3 import base as sqlite

import dj_db_conn_pool
from dj_db_conn_pool import options
from dj_db_conn_pool.mixin import PooledDatabaseWrapperMixin


class SQLiteWrapper(PooledDatabaseWrapperMixin, sqlite.DatabaseWrapper):
    """A pooled wrapper over Django's SQLite backend: enough to build and validate."""


def wrapper(**settings: object) -> SQLiteWrapper:
    return SQLiteWrapper({"ENGINE": "x", "NAME": ":memory:", "OPTIONS": {}, **settings}, "main")


@pytest.fixture(autouse=True)
def restore_defaults() -> Iterator[None]:
    saved = options.current_defaults()
    yield
    options.setup(**{key.lower(): value for key, value in saved.items()})


def test_defaults_are_the_documented_ones() -> None:
    assert options.resolve(None, "default") == {
        "POOL_SIZE": 10,
        "MAX_OVERFLOW": 10,
        "RECYCLE": 900,
        "PRE_PING": True,
        "PING_INTERVAL": 30,
        "TIMEOUT": 30,
        "USE_LIFO": False,
        "ECHO": False,
        "MAX_WAITING": None,
        "RESET_ON_RETURN": "rollback",
        "LEAK_TIMEOUT": None,
        "STICKY": True,
        "SLOW_CHECKOUT": 1.0,
        "CREDENTIALS": None,
        "RECONNECT_BACKOFF": 1.0,
        "MIN_SIZE": 0,
        "IDLE_TIMEOUT": None,
    }


def test_given_options_override_defaults() -> None:
    resolved = options.resolve({"POOL_SIZE": 3, "USE_LIFO": True}, "default")
    assert resolved["POOL_SIZE"] == 3 and resolved["USE_LIFO"] is True
    assert resolved["MAX_OVERFLOW"] == 10


def test_unknown_key_names_the_alias_and_the_valid_keys() -> None:
    with pytest.raises(ImproperlyConfigured) as error:
        wrapper(POOL_OPTIONS={"POOL_SZIE": 5})
    message = str(error.value)
    assert "DATABASES['main']['POOL_OPTIONS']" in message
    assert "'POOL_SZIE'" in message
    assert "POOL_SIZE" in message and "MAX_OVERFLOW" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("POOL_SIZE", -1, "an integer >= 0"),
        ("POOL_SIZE", "10", "an integer >= 0"),
        ("POOL_SIZE", True, "an integer >= 0"),
        ("MAX_OVERFLOW", -2, "-1 for no limit"),
        ("RECYCLE", 0, "seconds > 0, or -1"),
        ("TIMEOUT", 0, "seconds > 0"),
        ("PRE_PING", "yes", "True or False"),
        ("ECHO", "loud", "True, False or 'debug'"),
        ("MAX_WAITING", -1, "None (no limit) or an integer >= 0"),
        ("RESET_ON_RETURN", "discard", "'rollback' or 'session'"),
        ("LEAK_TIMEOUT", 0, "None (off) or seconds > 0"),
        ("MIN_SIZE", -1, "an integer >= 0, at most POOL_SIZE"),
        ("MIN_SIZE", 11, "an integer >= 0, at most POOL_SIZE"),  # POOL_SIZE is 10
        ("IDLE_TIMEOUT", 0, "None (off) or seconds > 0"),
    ],
)
def test_bad_value_names_key_value_and_valid_values(key: str, value: object, expected: str) -> None:
    with pytest.raises(ImproperlyConfigured) as error:
        wrapper(POOL_OPTIONS={key: value})
    message = str(error.value)
    assert f"[{key!r}] = {value!r}" in message
    assert expected in message


def test_pool_options_must_be_a_dict() -> None:
    with pytest.raises(ImproperlyConfigured, match="must be a dict, not list"):
        wrapper(POOL_OPTIONS=[("POOL_SIZE", 1)])


def test_djangos_own_pool_option_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"\['OPTIONS'\]\['pool'\].*POOL_OPTIONS"):
        wrapper(OPTIONS={"pool": True})


def test_setup_changes_defaults_of_later_pools() -> None:
    dj_db_conn_pool.setup(pool_size=100, max_overflow=50)
    resolved = options.resolve({}, "default")
    assert resolved["POOL_SIZE"] == 100 and resolved["MAX_OVERFLOW"] == 50


def test_setup_refuses_unknown_arguments_and_bad_values() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"unknown argument 'pool_sise'.*pool_size"):
        dj_db_conn_pool.setup(pool_sise=1)
    with pytest.raises(ImproperlyConfigured, match="'max_overflow' = -5"):
        dj_db_conn_pool.setup(max_overflow=-5)
    assert options.current_defaults()["MAX_OVERFLOW"] == 10  # nothing half-applied


def test_min_size_may_reach_pool_size_or_any_size_without_a_limit() -> None:
    assert options.resolve({"POOL_SIZE": 4, "MIN_SIZE": 4}, "default")["MIN_SIZE"] == 4
    assert options.resolve({"POOL_SIZE": 0, "MIN_SIZE": 40}, "default")["MIN_SIZE"] == 40
    with pytest.raises(ImproperlyConfigured, match=r"\['MIN_SIZE'\] = 5 is not valid"):
        options.resolve({"POOL_SIZE": 4, "MIN_SIZE": 5}, "default")


def test_setup_checks_min_size_against_the_pool_size_given_with_it() -> None:
    dj_db_conn_pool.setup(pool_size=20, min_size=15)
    assert options.current_defaults()["MIN_SIZE"] == 15
    with pytest.raises(ImproperlyConfigured, match="'min_size' = 15 is not valid"):
        dj_db_conn_pool.setup(pool_size=10)  # below the MIN_SIZE set before
    assert options.current_defaults()["POOL_SIZE"] == 20
