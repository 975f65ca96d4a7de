"""The configurations the benchmarks compare, per database driver.

Each configuration is a DATABASES["default"] entry and the hatch env whose
interpreter runs it (hatch.toml: bench, bench-psycopg2, bench-legacy,
bench-legacy-psycopg2). The server addresses come from .services/env.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

DATABASE = "djpool_bench"
POOL_SIZE = 8  # per process: as many as a worker has threads


@dataclass(frozen=True)
class Driver:
    """A database server and the driver Django talks to it with."""

    key: str
    label: str
    server: str  # "postgresql" or "mariadb"
    env: str  # hatch env for Django's stock backend and ours
    legacy_env: str  # hatch env for django-db-connection-pool 1.2.6

    @property
    def engine(self) -> str:
        """Return the name Django and both pool packages give this server's backend."""
        return "postgresql" if self.server == "postgresql" else "mysql"


DRIVERS = (
    Driver("psycopg", "PostgreSQL, psycopg 3", "postgresql", "bench", "bench-legacy"),
    Driver(
        "psycopg2", "PostgreSQL, psycopg2", "postgresql", "bench-psycopg2", "bench-legacy-psycopg2"
    ),
    Driver("mysqlclient", "MariaDB, mysqlclient", "mariadb", "bench", "bench-legacy"),
)


@dataclass(frozen=True)
class Config:
    """One way of connecting: its key, its label, its env and its settings."""

    key: str
    label: str
    env: str
    database: dict[str, Any]


def server_settings(server: str) -> dict[str, Any]:
    """Return NAME, HOST, PORT, USER and PASSWORD of the bench database on `server`."""
    prefix = "DJ_DB_CONN_POOL_PG_" if server == "postgresql" else "DJ_DB_CONN_POOL_MYSQL_"
    try:
        host = os.environ[prefix + "HOST"]
    except KeyError:
        raise SystemExit(
            f"{prefix}HOST is not set: start the servers with `make services` and "
            "export .services/env (`make bench` does both)."
        ) from None
    return {
        "NAME": DATABASE,
        "HOST": host,
        "PORT": os.environ.get(prefix + "PORT", ""),
        "USER": os.environ.get(prefix + "USER", "postgres" if server == "postgresql" else "root"),
        "PASSWORD": os.environ.get(prefix + "PASSWORD", ""),
    }


def stock(driver: Driver, **extra: Any) -> dict[str, Any]:
    """Return Django's stock backend for this driver, with `extra` settings."""
    return {
        "ENGINE": f"django.db.backends.{driver.engine}",
        **server_settings(driver.server),
        **extra,
    }


def configurations(driver: Driver, pgbouncer_port: int | None = None) -> list[Config]:
    """Return the configurations to compare on this driver, the held connection first.

    With `pgbouncer_port`, PostgreSQL drivers also get Django's stock backend
    behind PgBouncer (transaction pooling) on 127.0.0.1 at that port.
    """
    pooled = {
        "ENGINE": f"dj_db_conn_pool.backends.{driver.engine}",
        "POOL_OPTIONS": {"POOL_SIZE": POOL_SIZE, "MAX_OVERFLOW": 0},
    }
    found = [
        Config("held", "held connection", driver.env, stock(driver, CONN_MAX_AGE=None)),
        Config("new", "new connection per request", driver.env, stock(driver, CONN_MAX_AGE=0)),
    ]
    if driver.key == "psycopg":
        pool = {"pool": {"min_size": POOL_SIZE, "max_size": POOL_SIZE}}
        found.append(
            Config("django-pool", "Django's psycopg pool", driver.env, stock(driver, OPTIONS=pool))
        )
    found += [
        Config(
            "legacy", "django-db-connection-pool 1.2.6", driver.legacy_env, stock(driver, **pooled)
        ),
        Config("ours", "dj_db_conn_pool (this repo)", driver.env, stock(driver, **pooled)),
    ]
    if pgbouncer_port is not None and driver.server == "postgresql":
        behind = stock(
            driver,
            HOST="127.0.0.1",
            PORT=str(pgbouncer_port),
            CONN_MAX_AGE=0,
            # Transaction pooling cannot keep a server-side cursor across statements.
            DISABLE_SERVER_SIDE_CURSORS=True,
        )
        found.append(Config("pgbouncer", "PgBouncer (transaction mode)", driver.env, behind))
    return found
