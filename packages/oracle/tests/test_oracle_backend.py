"""The Oracle engine without a server: driver modes, settings, hooks, pools in test runs."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from oracle_server import UNREACHABLE

from conftest import alias
from dj_db_conn_pool import PoolError
from dj_db_conn_pool.backends.oracle.base import DatabaseWrapper
from dj_db_conn_pool.container import pool_container
from dj_db_conn_pool.management.commands.dbpool import Command
from dj_db_conn_pool.mixin import PooledDatabaseWrapperMixin
from integration.missing_driver import import_error


def test_missing_driver_says_what_to_install() -> None:
    stderr = import_error("dj_db_conn_pool.backends.oracle.base", "oracledb", "cx_Oracle")
    assert "ImproperlyConfigured" in stderr
    assert "pip install django-db-connection-pool-oracle" in stderr


def test_engine_is_djangos_oracle_backend_with_the_pool() -> None:
    from django.db.backends.oracle.base import DatabaseWrapper as DjangoOracleWrapper

    assert issubclass(DatabaseWrapper, PooledDatabaseWrapperMixin)
    assert issubclass(DatabaseWrapper, DjangoOracleWrapper)
    assert DatabaseWrapper.close_pool is PooledDatabaseWrapperMixin.close_pool
    assert DatabaseWrapper.pool_hooks.can_reset_session is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"driver_mode": "fat"},
            r"\['driver_mode'\] = 'fat' is not valid: expected 'thin' or 'thick'",
        ),
        (
            {"init_oracle_client": {}},
            r"\['init_oracle_client'\] is set but .*'driver_mode'\] is None",
        ),
        (
            {"driver_mode": "thick", "init_oracle_client": {"libdir": "/x"}},
            r"\['init_oracle_client'\] = \{'libdir': '/x'\} is not valid: .*lib_dir, config_dir",
        ),
    ],
)
def test_wrong_driver_mode_settings_name_the_setting(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        with alias("oracle_settings", {**UNREACHABLE, "OPTIONS": options}):
            pass


def run_isolated(code: str) -> str:
    """Run code in a fresh interpreter, where python-oracledb has no mode yet."""
    prelude = (
        "from django.conf import settings\nsettings.configure()\n"
        "from dj_db_conn_pool.backends.oracle import modes\n"
        "import oracledb\n"
        "def attempt(mode, **client):\n"
        "    try:\n        modes.apply(modes.DriverMode(mode, client), 'db')\n"
        "    except Exception as error:\n        print(type(error).__name__, error)\n"
        "    print('thin' if oracledb.is_thin_mode() else 'thick')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_thick_mode_without_client_libraries_says_where_it_looked() -> None:
    output = run_isolated("attempt('thick', lib_dir='/nonexistent/instantclient')")
    assert "ImproperlyConfigured DATABASES['db']['OPTIONS']['driver_mode'] = 'thick'" in output
    assert "lib_dir='/nonexistent/instantclient'" in output
    assert "DPI-1047" in output  # python-oracledb's "cannot locate the Oracle Client library"
    assert output.endswith("thin\n")


def test_thin_mode_is_fixed_and_a_later_thick_alias_is_refused() -> None:
    output = run_isolated("attempt('thin')\nattempt('thin')\nattempt('thick')")
    lines = output.splitlines()
    assert lines[:2] == ["thin", "thin"]
    assert lines[2].startswith(
        "ImproperlyConfigured DATABASES['db']['OPTIONS']['driver_mode'] = 'thick'"
    )
    assert "Thick mode cannot start once a thin connection exists" in lines[2]


def test_driver_mode_keys_are_not_passed_to_oracledb() -> None:
    options = {"driver_mode": "thin", "events": True}
    with alias("oracle_params", {**UNREACHABLE, "OPTIONS": options}) as connection:
        assert connection.get_connection_params() == {"events": True}


def test_unreachable_server_is_a_pool_error_that_hides_the_password() -> None:
    with alias("oracle_down", UNREACHABLE) as connection:
        with pytest.raises(PoolError) as error:
            connection.ensure_connection()
    message = str(error.value)
    assert (
        "Pool 'oracle_down' could not connect to database 'svc' on '127.0.0.1' as 'scott'"
        in message
    )
    assert "tiger-secret" not in message


def test_session_reset_on_return_is_refused() -> None:
    settings = {**UNREACHABLE, "POOL_OPTIONS": {"RESET_ON_RETURN": "session"}}
    with alias("oracle_reset", settings) as connection:
        with pytest.raises(
            ImproperlyConfigured, match=r"\['RESET_ON_RETURN'\] = 'session' is not supported"
        ):
            connection.ensure_connection()


def test_test_user_gets_its_own_pool_and_teardown_retires_the_alias_pools() -> None:
    settings = {**UNREACHABLE, "TEST": {"USER": "test_scott", "PASSWORD": "t"}}
    with alias("oracle_test_run", settings) as connection:
        creation = connection.creation
        main_pool = pool_container.get(connection, {})  # pools open no connection until asked
        creation._switch_to_test_user(creation._get_test_db_params())  # as _create_test_db does
        assert connection.settings_dict["USER"] == "test_scott"
        test_pool = pool_container.get(connection, {})
        assert test_pool is not main_pool
        # Teardown: Django closes the alias's pools, then connects as the main user
        # to drop the test user, which here has no server to reach.
        with pytest.raises(PoolError):
            creation._destroy_test_db("svc", verbosity=0)
        assert main_pool.retired and test_pool.retired
        assert connection.settings_dict["USER"] == "scott"


def test_capacity_check_says_oracle_limits_are_not_read() -> None:
    command = ["--database", "oracle_capacity", "--check-capacity", "--workers", "4"]
    with alias("oracle_capacity", UNREACHABLE), pytest.raises(CommandError) as error:
        call_command(Command(), *command, stdout=io.StringIO())
    assert str(error.value) == (
        "Cannot check capacity: alias 'oracle_capacity' (dj_db_conn_pool.backends.oracle): "
        "the capacity check supports PostgreSQL and MySQL/MariaDB only, through psycopg, "
        "psycopg2 or mysqlclient."
    )
