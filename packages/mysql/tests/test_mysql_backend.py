"""What the MySQL engine adds to the core: the in-transaction flag, and Django's OPTIONS."""

from __future__ import annotations

from django.db import connections

from conftest import TEST_DATABASE, alias_settings
from dj_db_conn_pool.backends.mysql.native import transaction_open
from integration.engines import Engine
from integration.missing_driver import import_error


def test_missing_driver_says_what_to_install() -> None:
    stderr = import_error("dj_db_conn_pool.backends.mysql.base", "MySQLdb")
    assert "ImproperlyConfigured" in stderr
    assert "pip install django-db-connection-pool-mysql" in stderr


def test_in_transaction_flag_follows_the_server(mysql: Engine) -> None:
    raw = mysql.raw_connect(TEST_DATABASE)
    try:
        cursor = raw.cursor()
        assert transaction_open(raw) is False
        cursor.execute("BEGIN")
        assert transaction_open(raw) is True
        raw.rollback()
        assert transaction_open(raw) is False
        cursor.execute("CREATE TABLE IF NOT EXISTS flag_probe (x INT) ENGINE=InnoDB")
        raw.autocommit(False)
        cursor.execute("SELECT 1")  # touches no table: InnoDB opens no transaction yet
        assert transaction_open(raw) is False
        cursor.execute("SELECT * FROM flag_probe")
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
