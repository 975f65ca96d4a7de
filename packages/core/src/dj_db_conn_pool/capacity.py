"""Capacity: do N worker processes' pools fit the servers' own connection limits?

Each worker process holds at most POOL_SIZE + MAX_OVERFLOW connections per
alias, so a fleet of N workers may open N times that. The servers say how many
they accept: PostgreSQL's max_connections less the slots reserved for
superusers, a role's and a database's CONNECTION LIMIT; MySQL's and MariaDB's
max_connections and max_user_connections (the account's limit, if it has one).
Other servers (Oracle, anything behind JDBC) are not read: unsupported() says so.
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


def _one_row(alias: str, sql: str) -> tuple[Any, ...]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


_POSTGRESQL = """
SELECT current_setting('max_connections')::int,
       current_setting('superuser_reserved_connections')::int,
       coalesce(current_setting('reserved_connections', true), '0')::int,
       r.rolconnlimit, r.rolsuper, d.datconnlimit, current_user, current_database(),
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
FROM pg_roles r, pg_database d
WHERE r.rolname = current_user AND d.datname = current_database()
"""

# The session's max_user_connections is the account's own limit when it has one.
_MYSQL = (
    "SELECT @@GLOBAL.max_connections, @@SESSION.max_user_connections, CURRENT_USER(), VERSION()"
)
_MYSQL_CONNECTED = "SHOW GLOBAL STATUS LIKE 'Threads_connected'"


SUPPORTED = "PostgreSQL and MySQL/MariaDB"
# The vendors whose limits this module reads, through their own drivers: a JDBC
# engine may say "mysql" of a server that is not MySQL (OceanBase's MySQL mode).
_DRIVERS = {"postgresql": ("psycopg", "psycopg2"), "mysql": ("MySQLdb",)}


def unsupported(alias: str) -> str | None:
    """Return why the alias's server limits cannot be read, or None if they can."""
    connection = connections[alias]
    # Each engine's DatabaseWrapper names its DB-API module; Django's base class does not.
    driver = getattr(type(connection), "Database", None)
    if getattr(driver, "__name__", None) in _DRIVERS.get(connection.vendor, ()):
        return None
    return (
        f"alias {alias!r} ({connection.settings_dict['ENGINE']}): the capacity check "
        f"supports {SUPPORTED} only, through psycopg, psycopg2 or mysqlclient"
    )


def read_limits(alias: str) -> list[Limit]:
    """Ask the alias's server for the limits that its connections count against."""
    reason = unsupported(alias)
    if reason is not None:
        raise ValueError(reason)
    connection = connections[alias]
    s = connection.settings_dict
    server = (connection.vendor, s.get("HOST") or "localhost", str(s.get("PORT") or ""))
    where = f"{server[1]}:{server[2]}" if server[2] else server[1]
    try:
        if connection.vendor == "postgresql":
            return _postgresql_limits(alias, server, where)
        return _mysql_limits(alias, server, where)
    finally:
        connection.close()  # back to the pool


def _postgresql_limits(alias: str, server: tuple[str, ...], where: str) -> list[Limit]:
    (maximum, superuser_reserved, reserved, role_limit, superuser, db_limit, user, database,
     connected) = _one_row(alias, _POSTGRESQL)  # fmt: skip
    limits = [
        Limit(
            ("server", *server),
            f"PostgreSQL {where}",
            maximum - superuser_reserved - reserved,
            f"max_connections {maximum} - superuser_reserved_connections {superuser_reserved}"
            f" - reserved_connections {reserved}",
            int(connected),
        )
    ]
    if superuser:  # PostgreSQL does not apply CONNECTION LIMITs to superusers
        exempt = f"role {user!r} is a superuser: CONNECTION LIMIT does not apply"
        limits.append(Limit(("role", *server, user), f"role {user!r}", None, exempt))
    else:
        limits.append(
            Limit(
                ("role", *server, user),
                f"role {user!r}",
                None if role_limit < 0 else role_limit,
                f"rolconnlimit {role_limit}",
            )
        )
        limits.append(
            Limit(
                ("database", *server, database),
                f"database {database!r}",
                None if db_limit < 0 else db_limit,
                f"datconnlimit {db_limit}",
            )
        )
    return limits


def _mysql_limits(alias: str, server: tuple[str, ...], where: str) -> list[Limit]:
    maximum, user_limit, account, version = _one_row(alias, _MYSQL)
    _, connected = _one_row(alias, _MYSQL_CONNECTED)
    return [
        Limit(
            ("server", *server),
            f"{'MariaDB' if 'MariaDB' in version else 'MySQL'} {where}",
            int(maximum),
            f"max_connections {maximum}",
            int(connected),
        ),
        Limit(
            ("role", *server, account),
            f"account {account!r}",
            int(user_limit) if int(user_limit) > 0 else None,
            f"max_user_connections {user_limit}",
        ),
    ]


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
