"""The DB-API 2.0 module of the JDBC engines: Django's `Database` for them.

A Connection wraps one java.sql.Connection, opened here the same way for both
DB-API layers (layers.py) by calling the driver class directly, so that jars
added to a running JVM work from any thread. Cursors take Django's `%s` and
`%(name)s` placeholders, bind Python values as Java ones, return the Python
types Django expects, and raise the PEP 249 errors of errors.py.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import jpype
from django.core.exceptions import ImproperlyConfigured

from . import jvm, placeholders
from .config import JDBCSettings
from .convert import to_java
from .errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
    translating,
)
from .layers import LAYERS, Layer

apilevel = "2.0"
threadsafety = 1  # connections are not shared between threads
paramstyle = "format"  # Django's; sent to JDBC as qmark

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Connection",
    "Cursor",
    "DBAPITypeObject",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Dialect",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Warning",
    "connect",
]

PING_TIMEOUT = 10  # seconds that Connection.ping() gives the server

# PEP 249's constructors: the Python types convert.to_java() binds.
Binary = bytes
Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime


def DateFromTicks(ticks: float) -> datetime.date:
    return datetime.date.fromtimestamp(ticks)


def TimeFromTicks(ticks: float) -> datetime.time:
    return datetime.datetime.fromtimestamp(ticks).time()


def TimestampFromTicks(ticks: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ticks)


class DBAPITypeObject:
    """PEP 249's type objects: equal to each java.sql.Types code of their kind."""

    def __init__(self, *codes: int) -> None:
        self.codes = frozenset(codes)

    def __eq__(self, other: object) -> bool:
        return other in self.codes

    def __hash__(self) -> int:
        return hash(self.codes)


STRING = DBAPITypeObject(1, 12, -1, -15, -9, -16, 2005, 2011)
BINARY = DBAPITypeObject(-2, -3, -4, 2004)
NUMBER = DBAPITypeObject(-7, 16, -6, 5, 4, -5, 6, 7, 8, 2, 3, 100, 101)
DATETIME = DBAPITypeObject(91, 92, 93, 2013, 2014, -101, -102)
ROWID = DBAPITypeObject(-8)


@dataclass(frozen=True)
class Dialect:
    """What a family of databases needs of the DB-API layer."""

    name: str
    oracle: bool = False  # NUMBER as Django's Oracle backend reads it, NULL as VARCHAR, no ';'
    insert_ids: bool = False  # MySQL: cursor.lastrowid after an INSERT
    text_uuids: bool = False  # bind uuid.UUID as text (MariaDB's UUID type), not java.util.UUID


GENERIC = Dialect("generic")
MYSQL = Dialect("mysql", insert_ids=True, text_uuids=True)
ORACLE = Dialect("oracle", oracle=True)


@functools.cache
def _layer(name: str, oracle: bool) -> Layer:
    return LAYERS[name](oracle)


def _driver(class_name: str, where: str) -> Any:
    try:
        driver_class = jpype.JClass(class_name)
    except Exception as error:  # JPype raises TypeError for a class it cannot find
        raise ImproperlyConfigured(
            f"{where}: the JVM has no class {class_name!r} ({error}). Its classpath: "
            f"{jvm.searched()}. Add the driver's jar to OPTIONS['JDBC_CLASSPATH'] or CLASSPATH."
        ) from error
    return driver_class()


def connect(settings: JDBCSettings, dialect: Dialect, where: str) -> Connection:
    """Open a connection; `where` names the alias's OPTIONS for error messages."""
    jvm.ensure_started(settings.classpath, f"{where}['JDBC_CLASSPATH']")
    driver = _driver(settings.driver, f"{where}['JDBC_DRIVER']")
    properties = jpype.JClass("java.util.Properties")()
    for key, value in settings.properties.items():
        properties.setProperty(key, value)
    with translating():
        jconn = driver.connect(settings.url, properties)
    if jconn is None:  # JDBC's way of saying "not my URL"
        raise ImproperlyConfigured(
            f"{where}: the driver {settings.driver!r} does not take the URL "
            f"{settings.url!r}; check JDBC_URL, or JDBC_DRIVER and HOST, PORT and NAME."
        )
    layer = _layer(settings.layer, dialect.oracle)
    with translating():
        return Connection(layer.wrap(jconn), jconn, layer, dialect)


class Connection:
    """One JDBC connection, through the chosen DB-API layer."""

    Error = Error  # PEP 249's optional extension, which some code reads

    def __init__(self, raw: Any, jconn: Any, layer: Layer, dialect: Dialect) -> None:
        self._raw = raw
        self.jconn = jconn
        self.layer = layer
        self.dialect = dialect

    def __repr__(self) -> str:
        return f"<JDBC connection {self.jconn} via {self.layer.name}>"

    def cursor(self) -> Cursor:
        return Cursor(self)

    def commit(self) -> None:
        with translating():
            self.jconn.commit()

    def rollback(self) -> None:
        with translating():
            self.jconn.rollback()

    def close(self) -> None:
        with translating():
            self.jconn.close()

    @property
    def autocommit(self) -> bool:
        with translating():
            return bool(self.jconn.getAutoCommit())

    @autocommit.setter
    def autocommit(self, enabled: bool) -> None:
        with translating():
            self.jconn.setAutoCommit(bool(enabled))

    @property
    def closed(self) -> bool:
        """Return whether the driver knows the connection is closed (no round trip)."""
        try:
            return bool(self.jconn.isClosed())
        except Exception:
            return True

    def ping(self) -> None:
        """Raise OperationalError unless the server answers (JDBC's isValid())."""
        with translating():
            valid = self.jconn.isValid(PING_TIMEOUT)
        if not valid:
            raise OperationalError(f"the server did not answer within {PING_TIMEOUT}s")


class Cursor:
    """A DB-API cursor that speaks Django's placeholders."""

    arraysize = 100

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._layer = connection.layer
        self._dialect = connection.dialect
        with translating():
            self._raw = self._layer.cursor(connection._raw)
        self.statement: str | None = None  # the last statement, as sent
        self.query: tuple[str, Any] | None = None  # the last statement and parameters, as given
        self._description: list[tuple[Any, ...]] | None = None
        self._inserted = False
        self._closed = False

    def _check_open(self) -> None:
        # PEP 249: a closed cursor raises on any operation (the layers' would not).
        if self._closed:
            raise ProgrammingError("the cursor is closed")

    def _prepare(self, sql: str, params: Any) -> tuple[str, list[Any]]:
        self._check_open()
        values: list[Any]
        if params is None:
            jdbc_sql, values = sql, []
        else:
            jdbc_sql, values = placeholders.convert(sql, params)
        if self._dialect.oracle and jdbc_sql.endswith((";", "/")):
            jdbc_sql = jdbc_sql[:-1]  # as Django's Oracle backend does for oracledb
        self.statement = jdbc_sql
        self._description = None
        if self._dialect.text_uuids:
            values = [str(value) if isinstance(value, uuid.UUID) else value for value in values]
        return jdbc_sql, [to_java(value) for value in values]

    def execute(self, sql: str, params: Any = None) -> Cursor:
        self.query = (sql, params)
        jdbc_sql, values = self._prepare(sql, params)
        self._inserted = self._dialect.insert_ids and jdbc_sql.lstrip()[:6].upper() == "INSERT"
        with translating():
            self._layer.execute(self._raw, jdbc_sql, values, self._inserted)
        return self

    def executemany(self, sql: str, param_list: Iterable[Any]) -> Cursor:
        rows = list(param_list)
        if not rows:
            return self
        self.query = (sql, None)
        jdbc_sql, first = self._prepare(sql, rows[0])
        batch = [first] + [self._prepare(sql, row)[1] for row in rows[1:]]
        self._inserted = False
        with translating():
            self._layer.executemany(self._raw, jdbc_sql, batch)
        return self

    def callproc(self, procname: str, params: Sequence[Any] = ()) -> list[Any]:
        """Call a stored procedure through JDBC's escape syntax; return the parameters.

        Only IN parameters: OUT ones would need a CallableStatement.
        """
        marks = ", ".join(["%s"] * len(params))
        self.execute(f"{{call {procname}({marks})}}", list(params))
        return list(params)

    def fetchone(self) -> tuple[Any, ...] | None:
        self._check_open()
        with translating():
            row = self._layer.fetchone(self._raw)
        return None if row is None else tuple(row)

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        self._check_open()
        with translating():
            rows = self._layer.fetchmany(self._raw, size or self.arraysize)
        return [tuple(row) for row in rows]

    def fetchall(self) -> list[tuple[Any, ...]]:
        self._check_open()
        with translating():
            rows = self._layer.fetchall(self._raw)
        return [tuple(row) for row in rows]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        """Return name, JDBC type code, display size, size, precision, scale, nullable."""
        if self._description is None:
            rs = self._layer.result_set(self._raw)
            if rs is None:
                return None
            with translating():
                meta = rs.getMetaData()
                self._description = [
                    (
                        str(meta.getColumnLabel(column)),
                        int(meta.getColumnType(column)),
                        int(meta.getColumnDisplaySize(column)),
                        int(meta.getColumnDisplaySize(column)),
                        int(meta.getPrecision(column)),
                        int(meta.getScale(column)),
                        int(meta.isNullable(column)) != 0,
                    )
                    for column in range(1, int(meta.getColumnCount()) + 1)
                ]
        return self._description

    @property
    def rowcount(self) -> int:
        return self._layer.rowcount(self._raw)

    @property
    def lastrowid(self) -> int | None:
        """Return the id the last INSERT generated (MySQL family), else None."""
        if not self._inserted:
            return None
        with translating():
            key = self._layer.generated_key(self._raw)
            if key is None:  # the layer did not ask the driver for the keys
                cursor = self.connection.cursor()
                try:
                    cursor.execute("SELECT LAST_INSERT_ID()")
                    row = cursor.fetchone()
                finally:
                    cursor.close()
                key = row[0] if row else None
        if isinstance(key, list):  # several rows: MySQL's LAST_INSERT_ID() is the first id
            key = key[0]
        return None if key is None else int(key)

    def nextset(self) -> None:
        return None

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        self._closed = True
        with translating():
            self._layer.close(self._raw)

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
