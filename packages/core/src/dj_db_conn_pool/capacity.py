"""Capacity: do N worker processes' pools fit the servers' own connection limits?

Each worker process holds at most POOL_SIZE + MAX_OVERFLOW connections per
alias, so a fleet of N workers may open N times that. The servers say how many
they accept: each engine that can ask its server reads the limits in its
wrapper's pool_server_limits() (PostgreSQL: max_connections less the reserved
slots, a role's and a database's CONNECTION LIMIT; MySQL and MariaDB:
max_connections and max_user_connections). Other servers (Oracle, anything
behind JDBC) are not read: unsupported() says so.

Beside that ceiling, a fleet holds N x MIN_SIZE sessions at all times, and in
quiet hours N x MIN_SIZE with an IDLE_TIMEOUT, or up to N x POOL_SIZE without
one (a pool keeps what it opened): quiet_hours() says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connections

from . import options


@dataclass(frozen=True)
class Limit:
    """One limit a server puts on connections, and what it counts."""

    key: tuple[Any, ...]  # aliases with the same key share the limit
    label: str  # "PostgreSQL db:5432", "role 'app'", "account 'app@%'", ...
    allowed: int | None  # None: no limit
    source: str  # where the figure comes from
    connected: int | None = None  # the server's sessions now, on the server's limit


@dataclass
class Share:
    """The connections a fleet may open against one limit, alias by alias."""

    limit: Limit
    demand: dict[str, int | None] = field(default_factory=dict)  # None: unbounded

    @property
    def needed(self) -> int | None:
        """Return the connections all the aliases may open together (None: no bound)."""
        if any(value is None for value in self.demand.values()):
            return None
        return sum(value for value in self.demand.values() if value is not None)

    @property
    def fits(self) -> bool:
        """Return whether the fleet stays within this limit."""
        needed = self.needed
        if self.limit.allowed is None:
            return True
        return needed is not None and needed <= self.limit.allowed


def per_process(alias: str, settings_dict: dict[str, Any]) -> int | None:
    """Return the most connections one process's pool of the alias opens (None: no bound)."""
    resolved = options.resolve(settings_dict.get("POOL_OPTIONS"), alias)
    if resolved["POOL_SIZE"] == 0 or resolved["MAX_OVERFLOW"] == -1:
        return None
    return int(resolved["POOL_SIZE"] + resolved["MAX_OVERFLOW"])


def held_always(alias: str, settings_dict: dict[str, Any]) -> int:
    """Return the connections one process's pool of the alias holds at all times (MIN_SIZE)."""
    return int(options.resolve(settings_dict.get("POOL_OPTIONS"), alias)["MIN_SIZE"])


def quiet_hours(alias: str, settings_dict: dict[str, Any]) -> tuple[int | None, str]:
    """Return what one process's pool holds after a quiet spell (None: no bound), and why.

    With IDLE_TIMEOUT, idle connections above MIN_SIZE close; without, a pool
    keeps up to POOL_SIZE of those it opened (overflow ones close on return).
    """
    resolved = options.resolve(settings_dict.get("POOL_OPTIONS"), alias)
    if resolved["IDLE_TIMEOUT"] is not None:
        return int(resolved["MIN_SIZE"]), f"IDLE_TIMEOUT={resolved['IDLE_TIMEOUT']}s"
    if resolved["POOL_SIZE"] == 0:
        return None, "no IDLE_TIMEOUT, POOL_SIZE 0"
    return int(resolved["POOL_SIZE"]), "no IDLE_TIMEOUT: up to POOL_SIZE stay open"


def unsupported(alias: str) -> str | None:
    """Return why the alias's server limits cannot be read, or None if they can."""
    connection = connections[alias]
    if callable(getattr(connection, "pool_server_limits", None)):
        return None
    return (
        f"alias {alias!r} ({connection.settings_dict['ENGINE']}): the capacity check "
        "supports PostgreSQL and MySQL/MariaDB only, through psycopg, psycopg2 or mysqlclient"
    )


def read_limits(alias: str) -> list[Limit]:
    """Ask the alias's server for the limits that its connections count against."""
    reason = unsupported(alias)
    if reason is not None:
        raise ValueError(reason)
    connection: Any = connections[alias]
    try:
        return list(connection.pool_server_limits())
    finally:
        connection.close()  # back to the pool


def server_of(connection: Any) -> tuple[tuple[str, ...], str]:
    """Return what identifies a connection's server (vendor, host, port) and its "host:port"."""
    s = connection.settings_dict
    server = (connection.vendor, s.get("HOST") or "localhost", str(s.get("PORT") or ""))
    return server, (f"{server[1]}:{server[2]}" if server[2] else server[1])


def one_row(connection: Any, sql: str) -> tuple[Any, ...]:
    """Run `sql` on the connection and return its one row."""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def shares(
    workers: int, bounds: dict[str, int | None], limits: dict[str, list[Limit]]
) -> list[Share]:
    """Add up, per limit, what `workers` processes of every alias may open against it."""
    by_key: dict[tuple[Any, ...], Share] = {}
    for alias, bound in bounds.items():
        for limit in limits[alias]:
            share = by_key.setdefault(limit.key, Share(limit))
            share.demand[alias] = None if bound is None else workers * bound
    return list(by_key.values())
