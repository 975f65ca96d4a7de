"""The generic JDBC engine (raw SQL) against PostgreSQL through pgjdbc, on both DB-API layers."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DataError, IntegrityError, ProgrammingError, transaction
from jdbc_servers import fetch, postgresql_settings

from conftest import alias
from dj_db_conn_pool.backends.jdbc import dbapi

ALIAS = "jdbc_postgresql"


@pytest.fixture(params=["jpype", "jaydebeapi"])
def postgresql(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A raw-SQL JDBC alias on PostgreSQL, through each DB-API layer in turn."""
    with alias(ALIAS, postgresql_settings(JDBC_DBAPI=request.param)) as connection:
        yield connection


def test_postgresql_types_come_back_as_psycopg_returns_them(postgresql: Any) -> None:
    (row,) = fetch(
        postgresql,
        "SELECT '2024-01-02 03:04:05.123456+02'::timestamptz, '2024-01-02 03:04:05'::timestamp,"
        " '2024-01-02'::date, '03:04:05.5'::time, 1.50::numeric(10, 2), true, '\\x00ff'::bytea,"
        " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, '{\"a\": 1}'::jsonb, ARRAY[1, 2],"
        " 7::int2, 2::bigint, 0.5::float8, NULL::text, repeat('x', 70000)",
    )
    utc = datetime.timezone.utc
    assert row == (
        datetime.datetime(2024, 1, 2, 1, 4, 5, 123456, tzinfo=utc),
        datetime.datetime(2024, 1, 2, 3, 4, 5),
        datetime.date(2024, 1, 2),
        datetime.time(3, 4, 5, 500000),
        decimal.Decimal("1.50"),
        True,
        b"\x00\xff",
        uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        '{"a": 1}',
        [1, 2],
        7,
        2,
        0.5,
        None,
        "x" * 70000,
    )
    assert row[0].utcoffset() == datetime.timedelta(0)
    assert [type(value) for value in row[10:13]] == [int, int, float]


def test_python_parameters_reach_postgresql_typed(postgresql: Any) -> None:
    aware = datetime.datetime(
        2024, 6, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=5))
    )
    values = [aware, decimal.Decimal("-0.001"), b"\x01\x02", uuid.uuid4(), None, 2**40, "é"]
    (row,) = fetch(
        postgresql,
        "SELECT %s::timestamptz, %s::numeric, %s::bytea, %s::uuid, %s::text, %s::bigint, %s::text",
        values,
    )
    assert row == tuple(values)


def test_executemany_and_savepoints_in_atomic(postgresql: Any) -> None:
    with transaction.atomic(using=ALIAS), postgresql.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE jdbc_t (id int PRIMARY KEY, day date) ON COMMIT DROP")
        cursor.executemany(
            "INSERT INTO jdbc_t VALUES (%(id)s, %(day)s)",
            [{"id": n, "day": datetime.date(2024, 1, 1 + n)} for n in range(10)],
        )
        with pytest.raises(IntegrityError), transaction.atomic(using=ALIAS):
            cursor.execute("INSERT INTO jdbc_t VALUES (%s, %s)", [1, None])
        cursor.execute("SELECT count(*), max(day) FROM jdbc_t")
        assert cursor.fetchone() == (10, datetime.date(2024, 1, 10))


def test_errors_follow_the_sqlstate(postgresql: Any) -> None:
    with pytest.raises(ProgrammingError) as missing:
        fetch(postgresql, "SELECT * FROM no_such_table")
    with pytest.raises(DataError):
        fetch(postgresql, "SELECT 1 / %s", [0])
    cause = missing.value.__cause__
    assert isinstance(cause, dbapi.ProgrammingError) and cause.sqlstate == "42P01"
    assert fetch(postgresql, "SELECT 1") == [(1,)]  # the connection is still usable


def test_oracle_dialect_reads_numbers_as_djangos_oracle_backend(postgresql: Any) -> None:
    # Oracle's NUMBER(p, s) rules, applied to PostgreSQL's numeric metadata.
    connection = dbapi.connect(postgresql.jdbc_settings(), dbapi.ORACLE, "test")
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 3::numeric(5, 0), 1.5::numeric(6, 2), 4::numeric, 2.25::numeric;")
        assert cursor.fetchone() == (3, decimal.Decimal("1.50"), 4, decimal.Decimal("2.25"))
    finally:
        connection.close()
