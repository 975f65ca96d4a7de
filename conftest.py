"""Django settings for every test folder: one alias per engine this env can reach.

The servers come from `make services` (integration/services.py), which exports
their settings as DJ_DB_CONN_POOL_* variables. Without them an engine's tests
skip, except under CI=true, where a missing server is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import django
import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from dj_db_conn_pool.container import pool_container
from integration import engines

# One database per run, so that runs on one machine never share tables.
TEST_DATABASE = f"djpool_tests_{os.getpid()}"


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


def pytest_unconfigure(config: object) -> None:
    connections.close_all()
    pool_container.close_all()
    for engine in engines.available():
        for database in (TEST_DATABASE, f"{TEST_DATABASE}_other"):
            engine.drop_database(database)


def _engine_fixture(engine: engines.Engine) -> Iterator[engines.Engine]:
    if not engine.configured:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"CI=true and the {engine.alias} server is not running: run `make services`"
            )
        pytest.skip(f"{engine.env_prefix}_HOST is not set: run `make services`")
    yield engine
    connections.close_all()
    pool_container.close_all()


@pytest.fixture(params=engines.params())
def engine(request: pytest.FixtureRequest) -> Iterator[engines.Engine]:
    """Each installed engine in turn, with every pool retired after the test."""
    yield from _engine_fixture(request.param)


@pytest.fixture
def postgresql() -> Iterator[engines.Engine]:
    """The PostgreSQL engine, with every pool retired after the test."""
    yield from _engine_fixture(engines.POSTGRESQL)


@pytest.fixture
def postgis() -> Iterator[engines.Engine]:
    """The PostGIS engine (Debian's PostgreSQL), with every pool retired after the test."""
    yield from _engine_fixture(engines.POSTGIS)


@pytest.fixture
def mysql() -> Iterator[engines.Engine]:
    """The MariaDB engine, with every pool retired after the test."""
    yield from _engine_fixture(engines.MYSQL)


@contextmanager
def alias(name: str, settings_dict: dict[str, Any]) -> Iterator[Any]:
    """Add a database alias to Django for the block; yield its connection."""
    # Django fills in the defaults of every key, as for DATABASES (which needs a default).
    configured = connections.configure_settings({DEFAULT_DB_ALIAS: {}, name: settings_dict})
    connections.settings[name] = configured[name]
    try:
        yield connections[name]
    finally:
        connections[name].close()
        pool_container.close_alias(name)
        del connections.settings[name]
        try:
            delattr(connections._connections, name)
        except AttributeError:
            pass


@contextmanager
def alias_settings(name: str, **changes: Any) -> Iterator[None]:
    """Change an alias's settings in place, as Django's test runner does, then restore them."""
    settings_dict = connections.settings[name]
    saved = {key: settings_dict.get(key, _MISSING) for key in changes}
    settings_dict.update(changes)
    try:
        yield
    finally:
        connections[name].close()
        for key, value in saved.items():
            if value is _MISSING:
                settings_dict.pop(key, None)
            else:
                settings_dict[key] = value


_MISSING = object()


@pytest.fixture
def pool_options(engine: engines.Engine) -> Iterator[dict[str, Any]]:
    """The alias's POOL_OPTIONS, which a test may fill in before connecting."""
    options: dict[str, Any] = {}
    with alias_settings(engine.alias, POOL_OPTIONS=options):
        yield options


_FIGURES: list[str] = []


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Lines a test measured, printed together at the end of the run."""
    lines: list[str] = []
    yield lines
    _FIGURES.extend(f"{request.node.name}: {line}" for line in lines)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("measured")
        for line in _FIGURES:
            terminalreporter.write_line(line)
