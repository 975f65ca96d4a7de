"""The servers and jars the JDBC tests use.

MariaDB comes from `make services` (DJ_DB_CONN_POOL_MYSQL_*), reached through
MariaDB Connector/J; PostgreSQL over TCP through pgjdbc from
DJ_DB_CONN_POOL_JDBC_PG_HOST/_PORT/_USER (Debian's cluster, listening on
127.0.0.1). Both jars are Debian's (libmariadb-java, libpostgresql-jdbc-java);
DJ_DB_CONN_POOL_JDBC_MARIADB_JAR and _PG_JAR point elsewhere. Under CI=true a
missing one of these fails the test, as does a missing seekdb (OceanBase's MySQL
mode, DJ_DB_CONN_POOL_OCEANBASE_*, also from `make services`), reached through
MariaDB Connector/J. Oracle and OceanBase's own jar cannot run here: their
tests skip unless DJ_DB_CONN_POOL_ORACLE_DSN (+ _USER, _PASSWORD) and
DJ_DB_CONN_POOL_ORACLE_JDBC_JAR, or DJ_DB_CONN_POOL_OCEANBASE_<MODE>_HOST (+ _PORT,
_USER, _PASSWORD, _NAME) and DJ_DB_CONN_POOL_OCEANBASE_JAR are set.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

# These tests run in their own env (`hatch run test-jdbc:run`), which installs the
# engines; an env without them skips them rather than failing to import.
pytest.importorskip(
    "dj_db_conn_pool.backends.jdbc.dbapi", reason="the JDBC engines run in the test-jdbc env"
)

MARIADB_JAR = os.environ.get(
    "DJ_DB_CONN_POOL_JDBC_MARIADB_JAR", "/usr/share/java/mariadb-java-client.jar"
)
PG_JAR = os.environ.get("DJ_DB_CONN_POOL_JDBC_PG_JAR", "/usr/share/java/postgresql.jar")


def unavailable(reason: str, *, in_ci: bool = True) -> None:
    """Skip the test; under CI=true fail it, for what CI provides."""
    if in_ci and os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def require_jar(path: str, package: str) -> str:
    if not os.path.isfile(path):
        unavailable(f"no JDBC driver jar at {path}: apt-get install {package}")
    return path


def fetch(connection: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run a statement through a Django connection's cursor; return every row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def mariadb_settings(database: str, **options: Any) -> dict[str, Any]:
    """The settings of an alias on `make services`' MariaDB, through MariaDB Connector/J."""
    if "DJ_DB_CONN_POOL_MYSQL_HOST" not in os.environ:
        unavailable("DJ_DB_CONN_POOL_MYSQL_HOST is not set: run `make services`")
    jar = require_jar(MARIADB_JAR, "libmariadb-java")
    return {
        "ENGINE": "dj_db_conn_pool.backends.jdbc.oceanbase.mysql",
        "NAME": database,
        "HOST": os.environ["DJ_DB_CONN_POOL_MYSQL_HOST"],
        "PORT": os.environ.get("DJ_DB_CONN_POOL_MYSQL_PORT", "3306"),
        "USER": os.environ["DJ_DB_CONN_POOL_MYSQL_USER"],
        "PASSWORD": os.environ["DJ_DB_CONN_POOL_MYSQL_PASSWORD"],
        "OPTIONS": {"JDBC_DRIVER": "org.mariadb.jdbc.Driver", "JDBC_CLASSPATH": [jar], **options},
    }


def seekdb_settings(database: str, **options: Any) -> dict[str, Any]:
    """An alias on `make services`' seekdb (OceanBase's MySQL mode), as a user without
    OceanBase's jar would set it: no JDBC_DRIVER, MariaDB Connector/J on the classpath."""
    if "DJ_DB_CONN_POOL_OCEANBASE_HOST" not in os.environ:
        unavailable("DJ_DB_CONN_POOL_OCEANBASE_HOST is not set: run `make services`")
    jar = require_jar(MARIADB_JAR, "libmariadb-java")
    return {
        "ENGINE": "dj_db_conn_pool.backends.jdbc.oceanbase.mysql",
        "NAME": database,
        **{key: os.environ[f"DJ_DB_CONN_POOL_OCEANBASE_{key}"] for key in ("HOST", "PORT", "USER")},
        "PASSWORD": os.environ["DJ_DB_CONN_POOL_OCEANBASE_PASSWORD"],
        "OPTIONS": {"JDBC_CLASSPATH": [jar], **options},
    }


def postgresql_settings(**options: Any) -> dict[str, Any]:
    """The settings of a raw-SQL alias on PostgreSQL over TCP, through pgjdbc."""
    if "DJ_DB_CONN_POOL_JDBC_PG_HOST" not in os.environ:
        unavailable(
            "DJ_DB_CONN_POOL_JDBC_PG_HOST is not set: PostgreSQL must listen on TCP for pgjdbc "
            "(`make services` exports it for Debian's cluster)"
        )
    jar = require_jar(PG_JAR, "libpostgresql-jdbc-java")
    return {
        "ENGINE": "dj_db_conn_pool.backends.jdbc",
        "NAME": os.environ.get("DJ_DB_CONN_POOL_JDBC_PG_NAME", "postgres"),
        "HOST": os.environ["DJ_DB_CONN_POOL_JDBC_PG_HOST"],
        "PORT": os.environ.get("DJ_DB_CONN_POOL_JDBC_PG_PORT", "5432"),
        "USER": os.environ.get("DJ_DB_CONN_POOL_JDBC_PG_USER", "postgres"),
        "PASSWORD": os.environ.get("DJ_DB_CONN_POOL_JDBC_PG_PASSWORD", ""),
        "OPTIONS": {"JDBC_DRIVER": "org.postgresql.Driver", "JDBC_CLASSPATH": [jar], **options},
    }


def oracle_settings(engine: str) -> dict[str, Any]:
    """An Oracle alias from DJ_DB_CONN_POOL_ORACLE_DSN, through the ojdbc jar given."""
    dsn = os.environ.get("DJ_DB_CONN_POOL_ORACLE_DSN")
    jar = os.environ.get("DJ_DB_CONN_POOL_ORACLE_JDBC_JAR")
    if not dsn or not jar:
        unavailable(
            "DJ_DB_CONN_POOL_ORACLE_DSN (with _USER, _PASSWORD) and "
            "DJ_DB_CONN_POOL_ORACLE_JDBC_JAR are not set: no Oracle server here",
            in_ci=False,
        )
    return {
        "ENGINE": engine,
        "NAME": dsn,  # host:port/service: jdbc:oracle:thin:@host:port/service
        "HOST": "",
        "PORT": "",
        "USER": os.environ.get("DJ_DB_CONN_POOL_ORACLE_USER", ""),
        "PASSWORD": os.environ.get("DJ_DB_CONN_POOL_ORACLE_PASSWORD", ""),
        "OPTIONS": {"JDBC_CLASSPATH": [jar]},
    }


def oceanbase_settings(mode: str) -> dict[str, Any]:
    """An OceanBase alias of a tenant in `mode` ('mysql' or 'oracle'), through its jar."""
    prefix = f"DJ_DB_CONN_POOL_OCEANBASE_{mode.upper()}"
    jar = os.environ.get("DJ_DB_CONN_POOL_OCEANBASE_JAR")
    if f"{prefix}_HOST" not in os.environ or not jar:
        unavailable(
            f"{prefix}_HOST (with _PORT, _USER, _PASSWORD, _NAME) and "
            "DJ_DB_CONN_POOL_OCEANBASE_JAR are not set: no OceanBase server here",
            in_ci=False,
        )
    return {
        "ENGINE": f"dj_db_conn_pool.backends.jdbc.oceanbase.{mode}",
        **{key: os.environ.get(f"{prefix}_{key}", "") for key in ("HOST", "PORT", "USER", "NAME")},
        "PASSWORD": os.environ.get(f"{prefix}_PASSWORD", ""),
        "OPTIONS": {"JDBC_CLASSPATH": [jar]},
    }
