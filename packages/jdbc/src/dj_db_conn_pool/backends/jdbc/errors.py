"""The DB-API exceptions of the JDBC engines, and the translation of Java's SQLExceptions.

JDBC reports every database error as a java.sql.SQLException; Django needs
IntegrityError for a duplicate key, OperationalError for a lost connection, and
so on. The SQLSTATE class says which, as it does for psycopg; a Java subclass
decides when the driver gives no SQLSTATE. The driver's error code stays the
first argument where there is one (MySQL's 1007, Oracle's 1543, ...), as
MySQLdb puts it, which Django's MySQL test-database creation reads.

The Java exception itself does not travel with the error: a live Java object
cannot be pickled (the JVM is in this process only), and Django's parallel test
runner, multiprocessing and task queues pickle errors with their chain. The
translated error's cause is a JavaError instead, its stack trace as text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jpype


class Warning(Exception):
    """A database warning (PEP 249)."""


class JavaError(Exception):
    """A Java exception as text: its class, message and stack trace (picklable)."""


class Error(Exception):
    """The base of every database error (PEP 249)."""

    sqlstate: str | None = None
    errno: int = 0


class InterfaceError(Error):
    """The JDBC bridge failed, not the database."""


class DatabaseError(Error):
    """The database reported an error."""


class DataError(DatabaseError):
    """A value was out of range, of the wrong type or malformed (SQLSTATE 22)."""


class OperationalError(DatabaseError):
    """The connection or the server failed, or a transaction was rolled back (08, 40, 53, 57)."""


class IntegrityError(DatabaseError):
    """A constraint was violated (SQLSTATE 23)."""


class InternalError(DatabaseError):
    """The database is in an invalid state (SQLSTATE 25, XX)."""


class ProgrammingError(DatabaseError):
    """The statement was wrong: syntax, missing table, wrong parameters (SQLSTATE 42)."""


class NotSupportedError(DatabaseError):
    """The driver or database does not support the operation (SQLSTATE 0A)."""


_BY_SQLSTATE_CLASS: dict[str, type[Error]] = {
    "08": OperationalError,
    "0A": NotSupportedError,
    "22": DataError,
    "23": IntegrityError,
    "25": InternalError,
    "28": OperationalError,
    "40": OperationalError,
    "42": ProgrammingError,
    "53": OperationalError,
    "57": OperationalError,
    "58": OperationalError,
    "XX": InternalError,
}

# When the driver gives no SQLSTATE: java.sql's own subclasses, most specific first.
_BY_JAVA_CLASS = (
    ("java.sql.SQLIntegrityConstraintViolationException", IntegrityError),
    ("java.sql.SQLSyntaxErrorException", ProgrammingError),
    ("java.sql.SQLDataException", DataError),
    ("java.sql.SQLFeatureNotSupportedException", NotSupportedError),
    ("java.sql.SQLTransientException", OperationalError),
    ("java.sql.SQLNonTransientConnectionException", OperationalError),
    ("java.sql.SQLRecoverableException", OperationalError),
)


def _sql_exception(error: BaseException) -> Any:
    """Return the java.sql.SQLException behind an error from JPype or JayDeBeApi, if any."""
    sql_exception = jpype.JClass("java.sql.SQLException")
    seen: set[int] = set()
    candidates: list[Any] = [error]
    while candidates:
        candidate = candidates.pop(0)
        if candidate is None or id(candidate) in seen:
            continue
        seen.add(id(candidate))
        if isinstance(candidate, sql_exception):
            return candidate
        # JayDeBeApi puts the Java exception in args; JPype's dbapi2 chains it.
        candidates += [*getattr(candidate, "args", ()), getattr(candidate, "__cause__", None)]
    return None


def translate(error: BaseException) -> Error:
    """Return the PEP 249 error that stands for `error`."""
    if isinstance(error, Error):
        return error
    java = _sql_exception(error)
    if java is None:
        return InterfaceError(f"{type(error).__name__}: {error}")
    sqlstate = str(java.getSQLState()) if java.getSQLState() is not None else None
    errno = int(java.getErrorCode())
    kind: type[Error] = DatabaseError
    if sqlstate and sqlstate[:2] in _BY_SQLSTATE_CLASS:
        kind = _BY_SQLSTATE_CLASS[sqlstate[:2]]
    else:
        for class_name, candidate in _BY_JAVA_CLASS:
            if isinstance(java, jpype.JClass(class_name)):
                kind = candidate
                break
    message = str(java.getMessage())
    translated = kind(errno, message) if errno else kind(message)
    translated.sqlstate = sqlstate
    translated.errno = errno
    return translated


def _java_exception(error: BaseException) -> Any:
    """Return the Java exception in an error from JPype or JayDeBeApi, if any."""
    candidates: list[Any] = [error, *getattr(error, "args", ()), error.__cause__]
    return next((c for c in candidates if isinstance(c, jpype.JException)), None)


def _as_text(java: Any) -> JavaError:
    try:
        trace = str(java.stacktrace())
    except Exception:  # the JVM is going away
        trace = f"{java.getClass().getName()}: {java.getMessage()}"
    return JavaError(trace.rstrip())


@contextmanager
def translating() -> Iterator[None]:
    """Raise the PEP 249 error for any error from the Java side, chained to it as text."""
    try:
        yield
    except Error:
        raise
    except Exception as error:
        translated = translate(error)
        java = _java_exception(error)
        if java is None:
            raise translated from error
        # Python makes the exception being handled the new one's __context__:
        # the text stand-in, whose own context (the Java exception) is dropped.
        try:
            raise _as_text(java)
        except JavaError as text:
            text.__context__ = None
            raise translated from text
