"""Django's placeholders (`%s`, `%(name)s`, `%%`) rewritten as JDBC's `?`.

As with psycopg and MySQLdb, a statement without parameters is sent as it is
(`%%` stays `%%`); with parameters, `%%` stands for `%`. A `?` in the statement
is JDBC's placeholder too, outside string literals.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from .errors import ProgrammingError

_TOKEN = re.compile(r"%%|%\((?P<name>[^)]*)\)s|%s")


@functools.lru_cache(maxsize=512)
def _compile(sql: str) -> tuple[str, tuple[str | None, ...]]:
    """Return the JDBC statement and, per `?`, its parameter's name (None: positional)."""
    names: list[str | None] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        names.append(match.group("name"))
        return "?"

    return _TOKEN.sub(replace, sql), tuple(names)


def convert(sql: str, params: Any) -> tuple[str, list[Any]]:
    """Return the JDBC statement and its parameters in placeholder order."""
    jdbc_sql, names = _compile(sql)
    if isinstance(params, Mapping):
        if None in names:
            raise ProgrammingError(
                "parameters are a mapping but the statement has positional %s placeholders"
            )
        try:
            return jdbc_sql, [params[name] for name in names]
        except KeyError as error:
            raise ProgrammingError(f"no parameter named {error.args[0]!r}") from None
    if any(name is not None for name in names):
        raise ProgrammingError("%(name)s placeholders need the parameters as a mapping")
    values = list(params)
    if len(values) != len(names):
        raise ProgrammingError(
            f"the statement has {len(names)} placeholders but {len(values)} parameters were given"
        )
    return jdbc_sql, values
