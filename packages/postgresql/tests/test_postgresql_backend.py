"""What the PostgreSQL engine adds to the core: driver facts and Django's OPTIONS."""

from __future__ import annotations

import pytest
from django.db import connections, transaction

from conftest import alias_settings
from integration.engines import Engine
from integration.missing_driver import import_error


def test_missing_driver_says_what_to_install() -> None:
    stderr = import_error("dj_db_conn_pool.backends.postgresql.base", "psycopg", "psycopg2")
    assert "ImproperlyConfigured" in stderr
    assert "pip install 'django-db-connection-pool-postgresql[psycopg]'" in stderr


def test_transaction_state_is_read_from_the_driver(postgresql: Engine) -> None:
    connection = connections[postgresql.alias]
    wrapper_class = type(connection)
    connection.ensure_connection()
    raw = connection.connection
    assert wrapper_class.pool_hooks.transaction_open(raw) is False
    with transaction.atomic(using=postgresql.alias):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert wrapper_class.pool_hooks.transaction_open(raw) is True
    assert wrapper_class.pool_hooks.transaction_open(raw) is False


def test_isolation_level_option_is_honoured_on_every_checkout(postgresql: Engine) -> None:
    from django.db.backends.postgresql.psycopg_any import IsolationLevel

    with alias_settings(postgresql.alias, OPTIONS={"isolation_level": IsolationLevel.SERIALIZABLE}):
        for _ in range(2):  # a new connection, then the same one from the pool
            connection = connections[postgresql.alias]
            with transaction.atomic(using=postgresql.alias), connection.cursor() as cursor:
                cursor.execute("SHOW transaction_isolation")
                assert cursor.fetchone()[0] == "serializable"
            assert connection.isolation_level == IsolationLevel.SERIALIZABLE
            connection.close()


def test_server_side_binding_option_is_honoured(postgresql: Engine) -> None:
    from django.db.backends.postgresql.base import is_psycopg3

    if not is_psycopg3:
        pytest.skip("server_side_binding is a psycopg 3 option")
    from django.db.backends.postgresql.base import ServerBindingCursor

    with alias_settings(postgresql.alias, OPTIONS={"server_side_binding": True}):
        connection = connections[postgresql.alias]
        connection.ensure_connection()
        assert connection.connection.cursor_factory is ServerBindingCursor


def test_options_change_routes_to_a_new_pool(postgresql: Engine) -> None:
    connection = connections[postgresql.alias]
    with connection.cursor() as cursor:
        cursor.execute("SHOW application_name")
        before = cursor.fetchone()[0]
    connection.close()
    with alias_settings(postgresql.alias, OPTIONS={"application_name": "djpool-probe"}):
        with connections[postgresql.alias].cursor() as cursor:
            cursor.execute("SHOW application_name")
            assert cursor.fetchone()[0] == "djpool-probe" != before
