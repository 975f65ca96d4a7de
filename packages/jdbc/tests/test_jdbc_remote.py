"""jdbc.oracle and both OceanBase modes, against servers that cannot run here.

Each test skips, saying which variables to set, unless its server and jar are
given (see jdbc_servers.py): Oracle through ojdbc, OceanBase through its driver.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import IntegrityError, models, transaction
from jdbc_servers import oceanbase_settings, oracle_settings

from conftest import alias

ALIAS = "jdbc_remote"

TARGETS = {
    "oracle": lambda: oracle_settings("dj_db_conn_pool.backends.jdbc.oracle"),
    "oceanbase-oracle": lambda: oceanbase_settings("oracle"),
    "oceanbase-mysql": lambda: oceanbase_settings("mysql"),
}


@pytest.fixture(params=list(TARGETS))
def remote(request: pytest.FixtureRequest) -> Iterator[Any]:
    with alias(ALIAS, TARGETS[request.param]()) as connection:
        yield connection


class Note(models.Model):
    title = models.CharField(max_length=50, unique=True)
    amount = models.DecimalField(max_digits=9, decimal_places=3, null=True)
    stamp = models.DateTimeField(null=True)
    day = models.DateField(null=True)
    took = models.DurationField(null=True)
    flag = models.BooleanField(default=False)
    body = models.TextField(blank=True)
    data = models.BinaryField(null=True)

    class Meta:
        app_label = "dj_db_conn_pool_jdbc_remote"


def one_row(connection: Any, sql: str, params: Any = None) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return tuple(cursor.fetchone())


def test_raw_sql_with_named_and_positional_parameters(remote: Any) -> None:
    dual = " FROM DUAL" if remote.vendor == "oracle" else ""
    assert one_row(remote, f"SELECT %s + 1{dual}", [41]) == (42,)
    assert one_row(remote, f"SELECT %(a)s * %(a)s{dual}", {"a": 3}) == (9,)


def test_orm_round_trip_and_atomic(remote: Any) -> None:
    with remote.schema_editor() as editor:
        editor.create_model(Note)
    notes = Note.objects.using(ALIAS)
    try:
        values = {
            "amount": decimal.Decimal("1.250"),
            "stamp": datetime.datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=datetime.timezone.utc),
            "day": datetime.date(2024, 2, 29),
            "took": datetime.timedelta(days=1, seconds=2),
            "flag": True,
            "body": "y" * 5000,
            "data": b"\x00\x01" * 3000,
        }
        note = notes.create(title="first", **values)
        again = notes.get(pk=note.pk)
        for field, value in values.items():
            assert getattr(again, field) == value, field
        assert notes.filter(title__startswith="fi").update(flag=False) == 1
        with pytest.raises(IntegrityError), transaction.atomic(using=ALIAS):
            notes.create(title="first")
        assert notes.count() == 1
    finally:
        with remote.schema_editor() as editor:
            editor.delete_model(Note)


def test_sessions_are_pooled(remote: Any) -> None:
    sql = {
        "oracle": "SELECT SYS_CONTEXT('USERENV', 'SID') FROM DUAL",
        "mysql": "SELECT CONNECTION_ID()",
    }[remote.vendor]
    first = one_row(remote, sql)
    remote.close()
    assert one_row(remote, sql) == first
