"""Values across the bridge: parameters to Java, columns to the Python types Django expects.

Columns are read with the getter that fits their JDBC type, once per result set
(`reader()`): strings and LOBs as str, binaries and BLOBs as bytes, DECIMAL and
NUMERIC as Decimal, dates, times and timestamps through java.time (no JVM time
zone in the way) as datetime.date, time and naive datetime, and the time-zone
types as aware datetimes. Oracle's NUMBER follows Django's Oracle backend:
int, Decimal or float by precision and scale.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import re
import types
import uuid
from collections.abc import Callable
from typing import Any

import jpype

# (java.sql.ResultSet, 1-based column) -> the column's value as Python
Reader = Callable[[Any, int], Any]


@functools.cache
def java() -> types.SimpleNamespace:
    """Return the Java classes the conversions use; the JVM must be running."""
    names = {
        "LocalDate": "java.time.LocalDate",
        "LocalTime": "java.time.LocalTime",
        "LocalDateTime": "java.time.LocalDateTime",
        "OffsetDateTime": "java.time.OffsetDateTime",
        "OffsetTime": "java.time.OffsetTime",
        "ZoneOffset": "java.time.ZoneOffset",
        "BigDecimal": "java.math.BigDecimal",
        "BigInteger": "java.math.BigInteger",
        "UUID": "java.util.UUID",
        "Clob": "java.sql.Clob",
        "Blob": "java.sql.Blob",
        "Array": "java.sql.Array",
        "Struct": "java.sql.Struct",
        "TemporalAccessor": "java.time.temporal.TemporalAccessor",
        "Date": "java.util.Date",
        "Boolean": "java.lang.Boolean",
        "String": "java.lang.String",
    }
    classes = {key: jpype.JClass(name) for key, name in names.items()}
    classes["bytes"] = jpype.JArray(jpype.JByte)
    return types.SimpleNamespace(**classes)


# Parameters: Python -> Java. bool, int, float, str and None need nothing: JPype
# passes them to setObject() as Boolean, Long, Double, String and null.

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _java_int(value: int) -> Any:
    if _LONG_MIN <= value <= _LONG_MAX:
        return value
    return java().BigDecimal(str(value))


def _java_decimal(value: decimal.Decimal) -> Any:
    return java().BigDecimal(str(value))


def _local_datetime(value: datetime.datetime) -> Any:
    return java().LocalDateTime.of(
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond * 1000,
    )  # fmt: skip


def _java_datetime(value: datetime.datetime) -> Any:
    offset = value.utcoffset()
    if offset is None:
        return _local_datetime(value)
    zone = java().ZoneOffset.ofTotalSeconds(int(offset.total_seconds()))
    return java().OffsetDateTime.of(_local_datetime(value.replace(tzinfo=None)), zone)


def _java_date(value: datetime.date) -> Any:
    return java().LocalDate.of(value.year, value.month, value.day)


def _java_time(value: datetime.time) -> Any:
    local = java().LocalTime.of(value.hour, value.minute, value.second, value.microsecond * 1000)
    offset = value.utcoffset()
    if offset is None:
        return local
    return java().OffsetTime.of(
        local, java().ZoneOffset.ofTotalSeconds(int(offset.total_seconds()))
    )


def _java_bytes(value: bytes | bytearray | memoryview) -> Any:
    return java().bytes(bytes(value))


def _java_uuid(value: uuid.UUID) -> Any:
    return java().UUID.fromString(str(value))


_TO_JAVA: dict[type, Callable[[Any], Any]] = {
    int: _java_int,
    decimal.Decimal: _java_decimal,
    datetime.datetime: _java_datetime,
    datetime.date: _java_date,
    datetime.time: _java_time,
    bytes: _java_bytes,
    bytearray: _java_bytes,
    memoryview: _java_bytes,
    uuid.UUID: _java_uuid,
}
_PASSED = (type(None), bool, float, str)


def to_java(value: Any) -> Any:
    """Return what to bind for a Python parameter."""
    kind = type(value)
    convert = _TO_JAVA.get(kind)
    if convert is not None:
        return convert(value)
    if kind in _PASSED or isinstance(value, jpype.JObject):
        return value
    if isinstance(value, str):  # SafeString and other str subclasses
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    for base, convert in _TO_JAVA.items():  # subclasses, such as Oracle_datetime
        if isinstance(value, base):
            return convert(value)
    if isinstance(value, datetime.timedelta):
        raise TypeError(
            f"cannot bind {value!r}: JDBC has no interval type that every driver takes; "
            f"pass a number or a string"
        )
    return value


# Columns: Java -> Python.


def _fraction(text: str) -> tuple[str, int]:
    """Split 'HH:MM:SS.fffffffff' into the part before the dot and microseconds."""
    base, _, digits = text.partition(".")
    return base, int(digits[:6].ljust(6, "0")) if digits else 0


def _python_date(value: Any) -> datetime.date:
    return datetime.date.fromisoformat(str(value))


def _python_time(value: Any) -> datetime.time:
    base, microsecond = _fraction(str(value))
    return datetime.time.fromisoformat(base).replace(microsecond=microsecond)


def _python_datetime(value: Any) -> datetime.datetime:
    base, microsecond = _fraction(str(value))
    return datetime.datetime.fromisoformat(base).replace(microsecond=microsecond)


def _python_offset(value: Any) -> datetime.timezone:
    return datetime.timezone(datetime.timedelta(seconds=int(value.getOffset().getTotalSeconds())))


def _python_decimal(value: Any) -> decimal.Decimal:
    return decimal.Decimal(str(value.toPlainString()))


def from_java(value: Any) -> Any:
    """Return the Python value of a Java object that getObject() returned."""
    if value is None:
        return None
    j = java()
    if isinstance(value, j.String):
        return str(value)
    if isinstance(value, j.Boolean):  # before int: JPype's Boolean is an int
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, j.BigDecimal):
        return _python_decimal(value)
    if isinstance(value, j.BigInteger):
        return int(str(value))
    if isinstance(value, j.bytes):
        return bytes(value)
    if isinstance(value, j.UUID):
        return uuid.UUID(str(value))
    if isinstance(value, j.LocalDateTime):
        return _python_datetime(value)
    if isinstance(value, j.LocalDate):
        return _python_date(value)
    if isinstance(value, j.LocalTime):
        return _python_time(value)
    if isinstance(value, j.OffsetDateTime):
        return _python_datetime(value.toLocalDateTime()).replace(tzinfo=_python_offset(value))
    if isinstance(value, j.Clob):
        return str(value.getSubString(1, int(value.length())))
    if isinstance(value, j.Blob):
        return bytes(value.getBytes(1, int(value.length())))
    if isinstance(value, j.Array):
        return [from_java(item) for item in value.getArray()]
    if isinstance(value, j.Date):  # java.sql.Timestamp, Date, Time
        local = value.toLocalDateTime() if hasattr(value, "toLocalDateTime") else None
        if local is not None:
            return _python_datetime(local)
        return _python_date(value.toLocalDate()) if hasattr(value, "toLocalDate") else str(value)
    return str(value)  # PGobject (json, ...), intervals and the rest


def _string(rs: Any, column: int) -> str | None:
    value = rs.getString(column)
    return None if value is None else str(value)


def _bytes(rs: Any, column: int) -> bytes | None:
    value = rs.getBytes(column)
    return None if value is None else bytes(value)


def _boolean(rs: Any, column: int) -> bool | None:
    value = rs.getBoolean(column)
    return None if not value and rs.wasNull() else bool(value)


def _integer(rs: Any, column: int) -> int | None:
    value = rs.getLong(column)
    return None if value == 0 and rs.wasNull() else int(value)


def _double(rs: Any, column: int) -> float | None:
    value = rs.getDouble(column)
    return None if value == 0 and rs.wasNull() else float(value)


def _decimal(rs: Any, column: int) -> decimal.Decimal | None:
    value = rs.getBigDecimal(column)
    return None if value is None else _python_decimal(value)


def _object(rs: Any, column: int) -> Any:
    return from_java(rs.getObject(column))


def _date(rs: Any, column: int) -> datetime.date | None:
    value = rs.getObject(column, java().LocalDate.class_)
    return None if value is None else _python_date(value)


def _time(rs: Any, column: int) -> datetime.time | None:
    value = rs.getObject(column, java().LocalTime.class_)
    return None if value is None else _python_time(value)


def _datetime(rs: Any, column: int) -> datetime.datetime | None:
    value = rs.getObject(column, java().LocalDateTime.class_)
    return None if value is None else _python_datetime(value)


def _aware_datetime(rs: Any, column: int) -> datetime.datetime | None:
    value = rs.getObject(column, java().OffsetDateTime.class_)
    if value is None:
        return None
    return _python_datetime(value.toLocalDateTime()).replace(tzinfo=_python_offset(value))


def _aware_time(rs: Any, column: int) -> datetime.time | None:
    value = rs.getObject(column, java().OffsetTime.class_)
    if value is None:
        return None
    return _python_time(value.toLocalTime()).replace(tzinfo=_python_offset(value))


def _none(rs: Any, column: int) -> None:
    return None


_INTERVAL = re.compile(r"([+-]?)(\d+) (\d+):(\d+):(\d+)(?:\.(\d+))?")


def _interval_day_to_second(rs: Any, column: int) -> datetime.timedelta | str | None:
    """Oracle's INTERVAL DAY TO SECOND ('+01 02:03:04.500000'), Django's DurationField."""
    value = rs.getString(column)
    if value is None:
        return None
    match = _INTERVAL.fullmatch(str(value).strip())
    if match is None:
        return str(value)
    sign, days, hours, minutes, seconds, fraction = match.groups()
    delta = datetime.timedelta(
        days=int(days), hours=int(hours), minutes=int(minutes), seconds=int(seconds),
        microseconds=int((fraction or "0")[:6].ljust(6, "0")),
    )  # fmt: skip
    return -delta if sign == "-" else delta


# java.sql.Types codes, plus Oracle's own (oracle.jdbc.OracleTypes).
_BY_TYPE: dict[int, Reader] = {
    -7: _object,  # BIT: MySQL's TINYINT(1) as Boolean, BIT(n) as bytes
    16: _boolean,  # BOOLEAN
    -6: _integer,  # TINYINT
    5: _integer,  # SMALLINT
    4: _integer,  # INTEGER
    -5: _object,  # BIGINT: Long, or BigInteger when unsigned
    6: _double,  # FLOAT
    7: _double,  # REAL
    8: _double,  # DOUBLE
    100: _double,  # Oracle BINARY_FLOAT
    101: _double,  # Oracle BINARY_DOUBLE
    2: _decimal,  # NUMERIC
    3: _decimal,  # DECIMAL
    1: _string,  # CHAR
    12: _string,  # VARCHAR
    -1: _string,  # LONGVARCHAR
    -15: _string,  # NCHAR
    -9: _string,  # NVARCHAR
    -16: _string,  # LONGNVARCHAR
    2005: _string,  # CLOB
    2011: _string,  # NCLOB
    2009: _string,  # SQLXML
    -8: _string,  # ROWID
    -2: _bytes,  # BINARY
    -3: _bytes,  # VARBINARY
    -4: _bytes,  # LONGVARBINARY
    2004: _bytes,  # BLOB
    91: _date,  # DATE
    92: _time,  # TIME
    93: _datetime,  # TIMESTAMP (PostgreSQL's timestamptz too: see reader())
    2013: _aware_time,  # TIME_WITH_TIMEZONE
    2014: _aware_datetime,  # TIMESTAMP_WITH_TIMEZONE
    -101: _aware_datetime,  # Oracle TIMESTAMP WITH TIME ZONE
    -102: _datetime,  # Oracle TIMESTAMP WITH LOCAL TIME ZONE, in the session's zone
    -104: _interval_day_to_second,  # Oracle INTERVAL DAY TO SECOND
    0: _none,  # NULL
}
_AWARE_TIMESTAMP_NAMES = ("timestamptz", "timestamp with time zone")


def _oracle_number(precision: int, scale: int) -> Reader:
    """Mirror Django's Oracle output type handler for NUMBER columns."""
    if scale == -127:
        return _int_or_decimal if precision == 0 else _double  # NUMBER, FLOAT
    if precision > 0:
        if scale == 0:
            return _integer
        context = decimal.Context(prec=precision)
        quantum = decimal.Decimal(1).scaleb(-scale)

        def quantized(rs: Any, column: int) -> decimal.Decimal | None:
            value = _decimal(rs, column)
            return None if value is None else value.quantize(quantum, context=context)

        return quantized
    return _int_or_decimal  # an expression: no type information


def _int_or_decimal(rs: Any, column: int) -> int | decimal.Decimal | None:
    value = rs.getBigDecimal(column)
    if value is None:
        return None
    text = str(value.toPlainString())
    return decimal.Decimal(text) if "." in text else int(text)


def reader(meta: Any, column: int, oracle_numbers: bool = False) -> Reader:
    """Return how to read one column of a result set, from its metadata."""
    code = int(meta.getColumnType(column))
    if code in (2, 3) and oracle_numbers:
        return _oracle_number(int(meta.getPrecision(column)), int(meta.getScale(column)))
    if code == 93 and str(meta.getColumnTypeName(column)).lower() in _AWARE_TIMESTAMP_NAMES:
        return _aware_datetime
    return _BY_TYPE.get(code, _object)
