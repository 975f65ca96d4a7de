"""What the MySQL engine adds to the core: the in-transaction flag, and Django's OPTIONS."""

from __future__ import annotations

import ctypes

import pytest
from django.db import connections

from conftest import TEST_DATABASE, alias_settings
from dj_db_conn_pool.backends.mysql import native
from dj_db_conn_pool.backends.mysql.native import transaction_open
from integration.engines import Engine
from integration.missing_driver import import_error


def test_missing_driver_says_what_to_install() -> None:
    stderr = import_error("dj_db_conn_pool.backends.mysql.base", "MySQLdb")
    assert "ImproperlyConfigured" in stderr
    assert "pip install django-db-connection-pool-mysql" in stderr


def test_no_open_transaction_is_proven_only_by_the_status_word(mysql: Engine) -> None:
    raw = mysql.raw_connect(TEST_DATABASE)
    try:
        # Connector/C here: the word is read in place, and the call agrees with it.
        assert isinstance(native.status_word(raw), ctypes.c_uint)
        call = native._Asked(native._native(raw))

        def may_be_open() -> bool:
            from_call = call.value & native._PROOF_MASK != native._SERVER_STATUS_AUTOCOMMIT
            readings = {transaction_open(raw), from_call}
            assert len(readings) == 1, "the struct and the call disagree"
            return readings.pop()

        cursor = raw.cursor()
        assert may_be_open() is False
        cursor.execute("BEGIN")
        assert may_be_open() is True
        raw.rollback()
        assert may_be_open() is False
        cursor.execute("CREATE TABLE IF NOT EXISTS flag_probe (x INT) ENGINE=InnoDB")
        raw.autocommit(False)
        # Touches no table, so InnoDB has no transaction yet; but a failed first
        # statement would open one without a word: with autocommit off, never proven.
        cursor.execute("SELECT 1")
        assert may_be_open() is True
        raw.autocommit(True)
        assert may_be_open() is False
        # The first result's word, more results pending: not proven either.
        cursor.execute("SELECT 1; SELECT 2")
        assert may_be_open() is True
        cursor.fetchall()
        while cursor.nextset():
            cursor.fetchall()
        assert may_be_open() is False
    finally:
        raw.close()


def test_status_word_is_asked_for_where_the_struct_does_not_fit(
    mysql: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = mysql.raw_connect(TEST_DATABASE)
    try:
        pointer = native._native(raw)
        assert native._find_status(raw, pointer, (10**9, 0, 0, 0)) is None  # no such neighbours
        monkeypatch.setattr(native, "_status_offset", 0)  # where the word is not
        assert isinstance(native.status_word(raw), native._Asked)
        raw.cursor().execute("BEGIN")
        assert transaction_open(raw) is True
    finally:
        raw.close()


def test_isolation_level_option_is_honoured_on_every_checkout(mysql: Engine) -> None:
    with alias_settings(mysql.alias, OPTIONS={"isolation_level": "serializable"}):
        for _ in range(2):  # a new connection, then the same one from the pool
            connection = connections[mysql.alias]
            with connection.cursor() as cursor:
                cursor.execute("SELECT @@SESSION.tx_isolation")
                assert cursor.fetchone()[0] == "SERIALIZABLE"  # MariaDB 10.11 names it tx_isolation
            connection.close()


READ_ONLY_MESSAGE = (
    "The MariaDB server is running with the --read-only option so it cannot execute this statement"
)


def test_read_only_refusal_soft_evicts_the_connection_and_older_idle_ones(mysql: Engine) -> None:
    # The server's read_only is global and shared with other tests: the error
    # the server would raise is raised through Django's error path instead.
    import MySQLdb

    import dj_db_conn_pool

    wrapper = connections[mysql.alias]
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
    with pytest.raises(Exception) as raised, wrapper.wrap_database_errors:
        raise MySQLdb.OperationalError(1290, READ_ONLY_MESSAGE)
    assert type(raised.value).__name__ == "OperationalError"
    held = wrapper.connection
    wrapper.close()
    assert not held.open  # discarded on return, not pooled
    assert dj_db_conn_pool.stats(mysql.alias)[mysql.alias]["evictions"] == 1


def test_only_read_only_refusals_count_as_read_only(mysql: Engine) -> None:
    import MySQLdb

    from dj_db_conn_pool.backends.mysql.base import MySQLHooks

    assert MySQLHooks.read_only_error(MySQLdb.OperationalError(1290, READ_ONLY_MESSAGE))
    raw = mysql.raw_connect(TEST_DATABASE)
    try:  # the same error number for another option: secure_file_priv
        with pytest.raises(MySQLdb.OperationalError) as raised:
            raw.cursor().execute("SELECT 1 INTO OUTFILE '/djpool-no-such-dir/x'")
    finally:
        raw.close()
    assert not MySQLHooks.read_only_error(raised.value)
    other_option = READ_ONLY_MESSAGE.replace("--read-only", "--secure-file-priv")
    assert not MySQLHooks.read_only_error(MySQLdb.OperationalError(1290, other_option))
    assert not MySQLHooks.read_only_error(MySQLdb.IntegrityError(1062, "Duplicate entry"))


def test_connection_the_server_killed_is_closed_not_abandoned(
    mysql: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    # libmariadb closes the socket when it finds the connection lost, while
    # mysqlclient still reports it open with the old descriptor number: the
    # driver's own loss, safe to close, not a descriptor closed behind its back.
    from django.db import OperationalError

    from dj_db_conn_pool import pool

    wrapper = connections[mysql.alias]
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        (session,) = cursor.fetchone()
    mysql.kill_session(session)
    held = wrapper.connection
    abandoned = len(pool._abandoned)
    with pytest.raises(OperationalError), wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
    wrapper.close()
    assert len(pool._abandoned) == abandoned
    assert "without closing it" not in caplog.text
    assert not held.open  # closed by the pool
