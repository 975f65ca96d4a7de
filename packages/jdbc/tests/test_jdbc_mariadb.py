"""The MySQL-mode JDBC engine against MariaDB through MariaDB Connector/J, on both DB-API layers.

This is dj_db_conn_pool.backends.jdbc.oceanbase.mysql with OPTIONS['JDBC_DRIVER']
= 'org.mariadb.jdbc.Driver': raw SQL, types, errors, Django's ORM and test
database creation, and what the pool does with JDBC connections.
"""

from __future__ import annotations

import datetime
import decimal
import io
import pickle
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, ProgrammingError, connections, models, transaction
from jdbc_servers import fetch, mariadb_settings

from conftest import TEST_DATABASE, alias
from dj_db_conn_pool import stats
from dj_db_conn_pool.backends.jdbc import dbapi, errors
from dj_db_conn_pool.management.commands.dbpool import Command
from integration.engines import MYSQL, Engine

ALIAS = "jdbc_mariadb"


@pytest.fixture(params=["jpype", "jaydebeapi"])
def mariadb(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A MySQL-mode JDBC alias on MariaDB, through each DB-API layer in turn."""
    with alias(ALIAS, mariadb_settings(TEST_DATABASE, JDBC_DBAPI=request.param)) as connection:
        yield connection


def test_statements_take_django_placeholders_and_escapes(mariadb: Any) -> None:
    assert fetch(mariadb, "SELECT %s + %s, '100%%'", [1, 2]) == [(3, "100%")]
    assert fetch(mariadb, "SELECT %(a)s * %(b)s, %(a)s", {"a": 6, "b": 7}) == [(42, 6)]
    assert fetch(mariadb, "SELECT '100%%'") == [("100%%",)]  # no parameters: sent as it is
    with pytest.raises(ProgrammingError, match="2 placeholders but 1 parameters"):
        fetch(mariadb, "SELECT %s, %s", [1])


COLUMNS = """
    CREATE TABLE jdbc_types (
        id INT PRIMARY KEY, big BIGINT UNSIGNED, amount DECIMAL(12, 3), ratio DOUBLE,
        flag TINYINT(1), name VARCHAR(50), body LONGTEXT, data LONGBLOB, day DATE,
        moment TIME(6), stamp DATETIME(6)
    )
"""
ROW = (
    1,
    2**64 - 1,
    decimal.Decimal("-1234.560"),
    0.25,
    True,
    "naïve ☃ 🎉",
    "x" * 100_000,
    bytes(range(256)) * 10,
    datetime.date(1999, 12, 31),
    datetime.time(23, 59, 58, 123456),
    datetime.datetime(2024, 2, 29, 12, 30, 45, 654321),
)


def test_columns_come_back_as_the_python_types_django_expects(mariadb: Any) -> None:
    with mariadb.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS jdbc_types")
        cursor.execute(COLUMNS)
        cursor.execute(f"INSERT INTO jdbc_types VALUES ({', '.join(['%s'] * len(ROW))})", ROW)
        cursor.execute(f"INSERT INTO jdbc_types (id) VALUES ({2})")
        cursor.execute("SELECT * FROM jdbc_types ORDER BY id")
        rows = cursor.fetchall()
        description = cursor.description
    assert rows[0] == ROW
    assert [type(value) for value in rows[0]] == [type(value) for value in ROW]
    assert rows[1] == (2,) + (None,) * (len(ROW) - 1)
    assert [column[0] for column in description] == [
        "id", "big", "amount", "ratio", "flag", "name", "body", "data", "day", "moment", "stamp"
    ]  # fmt: skip


def test_executemany_inserts_every_row_in_one_batch(mariadb: Any) -> None:
    rows = [(n, f"row {n}", None if n % 7 else decimal.Decimal(n) / 4) for n in range(500)]
    with mariadb.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS jdbc_batch")
        cursor.execute("CREATE TABLE jdbc_batch (id INT PRIMARY KEY, name TEXT, x DECIMAL(8,2))")
        cursor.executemany("INSERT INTO jdbc_batch VALUES (%s, %s, %s)", rows)
        assert cursor.rowcount == 500
        cursor.execute("SELECT id, name, x FROM jdbc_batch ORDER BY id")
        assert cursor.fetchall() == rows


def test_database_errors_are_djangos_by_sqlstate(mariadb: Any) -> None:
    with mariadb.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS jdbc_unique")
        cursor.execute("CREATE TABLE jdbc_unique (id INT PRIMARY KEY)")
        cursor.execute("INSERT INTO jdbc_unique VALUES (1)")
        with pytest.raises(IntegrityError) as duplicate:
            cursor.execute("INSERT INTO jdbc_unique VALUES (%s)", [1])
        with pytest.raises(ProgrammingError):
            cursor.execute("SELEKT 1")
    assert duplicate.value.args[0] == 1062  # the server's error code first, as in MySQLdb
    assert isinstance(duplicate.value.__cause__, dbapi.IntegrityError)


def test_database_errors_pickle_with_their_whole_chain(mariadb: Any) -> None:
    # Django's parallel test runner (with tblib), multiprocessing and task queues
    # pickle an error with its __cause__ and __context__: no live Java object there.
    with mariadb.cursor() as cursor, pytest.raises(ProgrammingError) as syntax:
        cursor.execute("SELEKT 1")
    chain: list[BaseException] = []
    error: BaseException | None = syntax.value
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert [type(e) for e in chain] == [ProgrammingError, dbapi.ProgrammingError, errors.JavaError]
    for error in chain:
        assert str(pickle.loads(pickle.dumps(error))) == str(error)
    assert "java.sql.SQLSyntaxErrorException" in str(chain[-1])  # the Java stack, as text


def test_out_of_range_values_are_integrity_errors_as_with_mysqlclient(mariadb: Any) -> None:
    # Django's MySQL backend turns these server errors (here 1690) into IntegrityError.
    with mariadb.cursor() as cursor, pytest.raises(IntegrityError) as out_of_range:
        cursor.execute("SELECT CAST(0 AS UNSIGNED) - 1")
    assert out_of_range.value.args[0] == 1690


def test_a_closed_cursor_refuses_statements(mariadb: Any) -> None:
    cursor = mariadb.cursor()
    cursor.close()
    with pytest.raises(ProgrammingError):
        cursor.execute("SELECT 1")


def test_callproc_calls_a_stored_procedure_with_in_parameters(mariadb: Any) -> None:
    with mariadb.cursor() as cursor:
        cursor.execute("DROP PROCEDURE IF EXISTS jdbc_proc")
        cursor.execute("CREATE PROCEDURE jdbc_proc(IN n INT) BEGIN SET @jdbc_proc = n * 2; END")
        assert cursor.callproc("jdbc_proc", [21]) == [21]
        cursor.execute("SELECT @jdbc_proc")
        assert cursor.fetchone() == (42,)
        cursor.execute("DROP PROCEDURE jdbc_proc")


def test_last_executed_query_inlines_the_parameters_as_mysqlclient_does(mariadb: Any) -> None:
    # The statement the cursor ran, not the one Django passes (execute wrappers change it).
    with mariadb.cursor() as cursor:
        cursor.execute("SELECT %s, %s, %s", [42, "it's", None])
        sent = mariadb.ops.last_executed_query(cursor, "", ())
        cursor.execute("SELECT %(a)s", {"a": b"\x01"})
        named = mariadb.ops.last_executed_query(cursor, "", ())
    assert (sent, named) == ("SELECT 42, 'it''s', NULL", "SELECT X'01'")


def test_schema_statements_take_bytes_defaults_with_quotes(mariadb: Any) -> None:
    value = b'"\'"\\'
    with mariadb.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS jdbc_defaults")
        cursor.execute("CREATE TABLE jdbc_defaults (id INT)")
    with mariadb.schema_editor() as editor:
        editor.execute("ALTER TABLE jdbc_defaults ADD COLUMN q LONGBLOB DEFAULT %s", [value])
    with mariadb.cursor() as cursor:
        cursor.execute("INSERT INTO jdbc_defaults (id) VALUES (1)")
        cursor.execute("SELECT q FROM jdbc_defaults")
        assert cursor.fetchall() == [(value,)]


def test_introspection_reads_the_jdbc_column_types(mariadb: Any) -> None:
    with mariadb.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS jdbc_introspected")
        cursor.execute(
            "CREATE TABLE jdbc_introspected (id SMALLINT AUTO_INCREMENT PRIMARY KEY, "
            "big BIGINT UNSIGNED, number INT, flag TINYINT(1), name VARCHAR(20), body LONGTEXT, "
            "stamp DATETIME(6), day DATE, moment TIME, ratio DOUBLE, amount DECIMAL(9, 2), "
            "bits MEDIUMBLOB, code VARBINARY(8))"
        )
        description = mariadb.introspection.get_table_description(cursor, "jdbc_introspected")
    types = {c.name: mariadb.introspection.get_field_type(c.type_code, c) for c in description}
    assert types == {
        "id": "SmallAutoField", "big": "PositiveBigIntegerField", "number": "IntegerField",
        "flag": "IntegerField", "name": "CharField", "body": "TextField",
        "stamp": "DateTimeField", "day": "DateField", "moment": "TimeField",
        "ratio": "FloatField", "amount": "DecimalField", "bits": "TextField", "code": "CharField",
    }  # fmt: skip


class Thing(models.Model):
    name = models.CharField(max_length=40, unique=True)
    count = models.IntegerField(default=0)
    price = models.DecimalField(max_digits=9, decimal_places=2, null=True)
    ratio = models.FloatField(null=True)
    active = models.BooleanField(default=True)
    seen = models.DateTimeField(null=True)
    day = models.DateField(null=True)
    moment = models.TimeField(null=True)
    took = models.DurationField(null=True)
    key = models.UUIDField(null=True)
    blob = models.BinaryField(null=True)
    doc = models.JSONField(null=True)
    notes = models.TextField(blank=True)

    class Meta:
        app_label = "dj_db_conn_pool_jdbc_tests"


@pytest.fixture
def things(mariadb: Any) -> Iterator[Any]:
    with mariadb.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS dj_db_conn_pool_jdbc_tests_thing")
    with mariadb.schema_editor() as editor:
        editor.create_model(Thing)
    yield Thing.objects.using(ALIAS)


VALUES = {
    "count": 7,
    "price": decimal.Decimal("12.50"),
    "ratio": 0.125,
    "active": False,
    "seen": datetime.datetime(2024, 3, 31, 1, 2, 3, 456789, tzinfo=datetime.timezone.utc),
    "day": datetime.date(2024, 2, 29),
    "moment": datetime.time(13, 14, 15, 161718),
    "took": datetime.timedelta(days=2, microseconds=3),
    "key": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "blob": b"\x00\xff" * 5000,
    "doc": {"a": [1, 2.5, None, "ü"]},
    "notes": "line\nnext 'quoted' \\ back",
}


def test_orm_saves_filters_updates_and_deletes(things: Any) -> None:
    thing = things.create(name="first", **VALUES)
    assert thing.pk is not None
    again = things.get(pk=thing.pk)
    for field, value in VALUES.items():
        assert getattr(again, field) == value, field
    assert again.seen.tzinfo is not None
    things.create(name="second", count=1)
    assert list(things.filter(count__gt=5).values_list("name", flat=True)) == ["first"]
    assert things.filter(name__startswith="sec").update(count=models.F("count") + 10) == 1
    assert things.get(name="second").count == 11
    assert things.filter(doc__a__1=2.5).count() == 1
    assert things.filter(name="first").delete() == (1, {"dj_db_conn_pool_jdbc_tests.Thing": 1})
    assert things.count() == 1


def test_atomic_rolls_back_and_savepoints_work(things: Any) -> None:
    with transaction.atomic(using=ALIAS):
        things.create(name="kept")
        with pytest.raises(IntegrityError), transaction.atomic(using=ALIAS):
            things.create(name="kept")  # the savepoint rolls back, the outer block goes on
        things.create(name="also kept")
    with pytest.raises(RuntimeError), transaction.atomic(using=ALIAS):
        things.create(name="gone")
        raise RuntimeError
    assert sorted(things.values_list("name", flat=True)) == ["also kept", "kept"]


def test_new_ids_come_from_lastrowid_without_returning(things: Any, mariadb: Any) -> None:
    # OceanBase and MySQL have no INSERT ... RETURNING: Django reads cursor.lastrowid.
    mariadb.features.can_return_columns_from_insert = False
    try:
        first, second = things.create(name="a"), things.create(name="b")
    finally:
        del mariadb.features.can_return_columns_from_insert
    assert second.pk == first.pk + 1
    assert things.get(pk=second.pk).name == "b"


def session_id(connection: Any) -> int:
    return int(fetch(connection, "SELECT CONNECTION_ID()")[0][0])


def test_connections_are_pooled_and_set_up_once(mariadb: Any) -> None:
    first = session_id(mariadb)
    mariadb.close()
    assert session_id(mariadb) == first
    mariadb.close()
    assert stats(ALIAS)[ALIAS]["connections_opened"] == 1
    assert fetch(mariadb, "SELECT @@SESSION.tx_isolation") == [("READ-COMMITTED",)]


def test_isolation_level_option_is_djangos_not_a_driver_property(mariadb: Any) -> None:
    options = {"JDBC_DBAPI": mariadb.settings_dict["OPTIONS"]["JDBC_DBAPI"]}
    settings = mariadb_settings(TEST_DATABASE, isolation_level="serializable", **options)
    with alias("jdbc_mariadb_serializable", settings) as connection:
        assert "isolation_level" not in connection.jdbc_settings().properties
        for _ in range(2):  # a new connection, then the same one from the pool
            assert fetch(connection, "SELECT @@SESSION.tx_isolation") == [("SERIALIZABLE",)]
            connection.close()


def test_a_transaction_left_open_is_rolled_back_on_return(mariadb: Any) -> None:
    with mariadb.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS jdbc_open")
        cursor.execute("CREATE TABLE jdbc_open (id INT) ENGINE=InnoDB")
    session = session_id(mariadb)
    mariadb.set_autocommit(False)
    with mariadb.cursor() as cursor:
        cursor.execute("INSERT INTO jdbc_open VALUES (1)")
    raw = mariadb.connection
    assert type(mariadb).pool_hooks.transaction_open(raw) is True
    mariadb.close()
    assert session_id(mariadb) == session  # the same session, without the row
    assert fetch(mariadb, "SELECT COUNT(*) FROM jdbc_open") == [(0,)]
    # JDBC cannot tell that a raw BEGIN opened one in autocommit mode: every return rolls back.
    assert type(mariadb).pool_hooks.transaction_open(mariadb.connection) is True
    with mariadb.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("INSERT INTO jdbc_open VALUES (2)")
    mariadb.close()
    assert session_id(mariadb) == session
    assert fetch(mariadb, "SELECT COUNT(*), @@in_transaction FROM jdbc_open") == [(0, 0)]


def test_a_killed_session_is_replaced_at_checkout(mariadb: Any) -> None:
    victim = session_id(mariadb)
    mariadb.close()
    observer = MYSQL.raw_connect()
    try:
        observer.cursor().execute(f"KILL {victim}")
    finally:
        observer.close()
    # Past liveness.POLL_BYPASS: a connection back sooner is lent unchecked, as a held one would be.
    time.sleep(0.2)
    assert session_id(mariadb) != victim  # the pre-ping found it dead
    assert stats(ALIAS)[ALIAS]["invalidations"] == 1


def test_threads_get_their_own_pooled_connections(mariadb: Any) -> None:
    sessions: list[int] = []
    both = threading.Barrier(2)

    def work() -> None:
        try:
            connection = connections[ALIAS]
            sessions.append(session_id(connection))
            both.wait(timeout=10)
        finally:
            connections[ALIAS].close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(sessions)) == 2
    assert stats(ALIAS)[ALIAS]["idle"] == 2


def test_test_database_is_created_and_recreated_over_jdbc(mariadb: Any) -> None:
    # What Django's test runner (and the Django suite runner) does with the alias.
    settings = mariadb_settings(
        TEST_DATABASE, JDBC_DBAPI=mariadb.settings_dict["OPTIONS"]["JDBC_DBAPI"]
    )
    settings["TEST"] = {"NAME": f"test_{TEST_DATABASE}_jdbc"}
    with alias("jdbc_mariadb_creation", settings) as connection:
        creation = connection.creation
        try:
            test_name = creation.create_test_db(verbosity=0, autoclobber=True)
            assert test_name == f"test_{TEST_DATABASE}_jdbc"
            # Again: "database exists" (1007) must lead to autoclobber, not to an exit.
            assert creation.create_test_db(verbosity=0, autoclobber=True) == test_name
            assert fetch(connection, "SELECT DATABASE()") == [(test_name,)]
            assert "django_content_type" in connection.introspection.table_names()
        finally:
            creation.destroy_test_db(TEST_DATABASE, verbosity=0)
        assert connection.settings_dict["NAME"] == TEST_DATABASE
        assert test_name not in [row[0] for row in fetch(connection, "SHOW DATABASES")]


def test_jaydebeapi_sends_one_command_per_statement_jpype_prepares_each_first(
    mariadb: Any,
) -> None:
    # jpype.dbapi2 asks for the parameters' metadata on every execute, which
    # Connector/J gets with a server-side prepare: a second round trip. One
    # reason JayDeBeApi is the default layer.
    def prepares() -> int:
        rows = fetch(mariadb, "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'")
        return int(rows[0][1])

    before = prepares()
    for n in range(10):
        assert fetch(mariadb, "SELECT %s", [n]) == [(n,)]
    extra = prepares() - before
    layer = mariadb.settings_dict["OPTIONS"]["JDBC_DBAPI"]
    assert extra == {"jaydebeapi": 0, "jpype": 11}[layer]  # 10, and the second SHOW's own


def test_capacity_check_leaves_jdbc_aliases_out_and_reads_the_native_ones(
    mysql: Engine,
) -> None:
    # The JDBC alias reaches the same MariaDB, but a JDBC engine may say "mysql"
    # of a server that is not MySQL (OceanBase): its limits are not read.
    reason = (
        f"alias '{ALIAS}' (dj_db_conn_pool.backends.jdbc.oceanbase.mysql): the capacity check "
        "supports PostgreSQL and MySQL/MariaDB only, through psycopg, psycopg2 or mysqlclient"
    )
    with alias(ALIAS, mariadb_settings(TEST_DATABASE)):
        command = ["--database", ALIAS, "--check-capacity", "--workers", "2"]
        with pytest.raises(CommandError) as error:
            call_command(Command(), *command, stdout=io.StringIO())
        assert str(error.value) == f"Cannot check capacity: {reason}."
        out = io.StringIO()
        call_command(Command(), "--database", mysql.alias, *command, stdout=out)
    output = out.getvalue()
    assert f"  not checked: {reason}\n" in output
    assert f"may open 40 ({mysql.alias} 2 x 20): fits" in output
    assert output.endswith(f"2 worker processes fit every limit of {mysql.alias}.\n")
