"""The two DB-API layers over a JDBC connection: JPype's own jpype.dbapi2, and JayDeBeApi.

Both run statements and fetch rows; the connection itself is opened the same
way for both (dbapi.py), and each reads columns through convert.reader(), hooked
in where the library allows: jpype.dbapi2's `getters` (one reader per column and
result set), JayDeBeApi's converters (looked up per value, so the readers are
kept per result set here).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any, ClassVar

from . import convert

NULL_TYPES = {"generic": 0, "oracle": 12}  # java.sql.Types.NULL; VARCHAR, which Oracle takes


class _Column:
    """A jpype.dbapi2 getter: read the column the way convert.reader() chose."""

    __slots__ = ("read",)

    def __init__(self, read: convert.Reader) -> None:
        self.read = read

    def get(self, rs: Any, column: int, st: bool) -> Any:
        return self.read(rs, column)


class _Parameter:
    """A jpype.dbapi2 setter: bind a converted value, or a typed NULL."""

    __slots__ = ("null_type",)

    def __init__(self, null_type: int) -> None:
        self.null_type = null_type

    def set(self, ps: Any, column: int, value: Any) -> None:
        if value is None:
            ps.setNull(column, self.null_type)
        else:
            ps.setObject(column, value)


class _DBAPICursorCalls:
    """What both layers' cursors do alike: the DB-API calls with nothing to adapt."""

    def executemany(self, cursor: Any, sql: str, params: list[list[Any]]) -> None:
        cursor.executemany(sql, params)

    def rowcount(self, cursor: Any) -> int:
        return int(cursor.rowcount)

    def fetchone(self, cursor: Any) -> Any:
        return cursor.fetchone()

    def fetchmany(self, cursor: Any, size: int) -> list[Any]:
        return list(cursor.fetchmany(size))

    def fetchall(self, cursor: Any) -> list[Any]:
        return list(cursor.fetchall())


class JPypeLayer(_DBAPICursorCalls):
    """jpype.dbapi2: reads the generated keys it asked for.

    It asks the driver for the statement's parameter metadata on every execute
    (and batch row): a round trip with MariaDB Connector/J and pgjdbc.
    """

    name = "jpype"

    def __init__(self, oracle: bool) -> None:
        self.oracle = oracle
        self._parameter = _Parameter(NULL_TYPES["oracle" if oracle else "generic"])

    def _getters(self, cx: Any, meta: Any, index: int) -> _Column:
        return _Column(convert.reader(meta, index + 1, self.oracle))

    def _setters(self, cx: Any, meta: Any, index: int, kind: type) -> _Parameter:
        return self._parameter

    def wrap(self, jconn: Any) -> Any:
        from jpype import dbapi2

        # Conversions happen in convert.py: no adapters, no converters here.
        return dbapi2.Connection(jconn, {}, None, self._setters, self._getters)

    def cursor(self, raw: Any) -> Any:
        return raw.cursor()

    def execute(self, cursor: Any, sql: str, params: list[Any], keys: bool) -> None:
        cursor.execute(sql, params, keys=keys)

    def result_set(self, cursor: Any) -> Any:
        return cursor.resultSet

    def generated_key(self, cursor: Any) -> Any:
        return cursor.lastrowid

    def close(self, cursor: Any) -> None:
        cursor._close()  # close() raises on a cursor that is already closed


def _jaydebeapi() -> Any:
    with warnings.catch_warnings():
        # JayDeBeApi 1.2.3 (2020, its last release) has an invalid escape, which
        # Python 3.12+ reports when it compiles the module.
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import jaydebeapi
    return jaydebeapi


class _Readers(dict[int, Any]):
    """JayDeBeApi's converters: one function for every type code, reading by column.

    JayDeBeApi asks for a converter per value, by type code alone; the readers
    of a result set are worked out at its first value and kept for the rest.
    """

    def __init__(self, oracle: bool) -> None:
        super().__init__()
        self.oracle = oracle
        self._local = threading.local()

    def get(self, code: Any, default: Any = None) -> Any:
        return self._read

    def _read(self, rs: Any, column: int) -> Any:
        local = self._local
        if getattr(local, "rs", None) is not rs:
            meta = rs.getMetaData()
            count = int(meta.getColumnCount())
            local.readers = [convert.reader(meta, c, self.oracle) for c in range(1, count + 1)]
            local.rs = rs
        return local.readers[column - 1](rs, column)


class JayDeBeApiLayer(_DBAPICursorCalls):
    """JayDeBeApi: statements through its cursors, NULLs bound with the dialect's type."""

    name = "jaydebeapi"
    _cursor_classes: ClassVar[dict[int, type]] = {}

    def __init__(self, oracle: bool) -> None:
        jaydebeapi = _jaydebeapi()
        self.oracle = oracle
        null_type = NULL_TYPES["oracle" if oracle else "generic"]
        cursor_class = self._cursor_classes.get(null_type)
        if cursor_class is None:

            def set_parameters(cursor: Any, statement: Any, parameters: Any) -> None:
                for index, value in enumerate(parameters, 1):
                    if value is None:
                        statement.setNull(index, null_type)
                    else:
                        statement.setObject(index, value)

            cursor_class = type("Cursor", (jaydebeapi.Cursor,), {"_set_stmt_parms": set_parameters})
            self._cursor_classes[null_type] = cursor_class
        self._cursor_class = cursor_class
        self._readers = _Readers(oracle)

    def wrap(self, jconn: Any) -> Any:
        return _jaydebeapi().Connection(jconn, self._readers)

    def cursor(self, raw: Any) -> Any:
        return self._cursor_class(raw, self._readers)

    def execute(self, cursor: Any, sql: str, params: list[Any], keys: bool) -> None:
        cursor.execute(sql, params)

    def result_set(self, cursor: Any) -> Any:
        return cursor._rs

    def generated_key(self, cursor: Any) -> Any:
        return None  # JayDeBeApi does not ask for generated keys

    def close(self, cursor: Any) -> None:
        cursor._close_last()


Layer = JPypeLayer | JayDeBeApiLayer
LAYERS: dict[str, type[JPypeLayer] | type[JayDeBeApiLayer]] = {
    JPypeLayer.name: JPypeLayer,
    JayDeBeApiLayer.name: JayDeBeApiLayer,
}
