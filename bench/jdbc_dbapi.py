"""The JDBC engines' two DB-API layers side by side: JPype's jpype.dbapi2 and JayDeBeApi.

    hatch run bench-jdbc:run [--rounds 5] [--queries 2000]

Each layer runs the same work through dj_db_conn_pool.backends.jdbc.dbapi (what
Django's cursors call) on one connection: `SELECT 1` and a two-parameter SELECT
(execute + fetchone), a 5,000-row fetch of six typed columns, and a 2,000-row
executemany. MariaDB through MariaDB Connector/J (`make services`), and
PostgreSQL through pgjdbc when DJ_DB_CONN_POOL_JDBC_PG_HOST is set. The rounds
alternate between the layers and the best round counts, so that a busy machine
hurts both alike. mysqlclient runs the MariaDB work too, for scale.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import os
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

settings.configure(USE_TZ=True)

from dj_db_conn_pool.backends.jdbc import config, dbapi  # noqa: E402

MARIADB_JAR = os.environ.get(
    "DJ_DB_CONN_POOL_JDBC_MARIADB_JAR", "/usr/share/java/mariadb-java-client.jar"
)
PG_JAR = os.environ.get("DJ_DB_CONN_POOL_JDBC_PG_JAR", "/usr/share/java/postgresql.jar")
ROWS = 5000
LAYERS = ("jpype", "jaydebeapi")


def mariadb_settings(layer: str) -> dict[str, Any]:
    return {
        "ENGINE": "dj_db_conn_pool.backends.jdbc.oceanbase.mysql",
        "HOST": os.environ["DJ_DB_CONN_POOL_MYSQL_HOST"],
        "PORT": os.environ.get("DJ_DB_CONN_POOL_MYSQL_PORT", "3306"),
        "NAME": "",
        "USER": os.environ["DJ_DB_CONN_POOL_MYSQL_USER"],
        "PASSWORD": os.environ["DJ_DB_CONN_POOL_MYSQL_PASSWORD"],
        "OPTIONS": {
            "JDBC_DRIVER": "org.mariadb.jdbc.Driver",
            "JDBC_CLASSPATH": [MARIADB_JAR],
            "JDBC_DBAPI": layer,
        },
    }


def postgresql_settings(layer: str) -> dict[str, Any]:
    return {
        "ENGINE": "dj_db_conn_pool.backends.jdbc",
        "HOST": os.environ["DJ_DB_CONN_POOL_JDBC_PG_HOST"],
        "PORT": os.environ.get("DJ_DB_CONN_POOL_JDBC_PG_PORT", "5432"),
        "NAME": os.environ.get("DJ_DB_CONN_POOL_JDBC_PG_NAME", "postgres"),
        "USER": os.environ.get("DJ_DB_CONN_POOL_JDBC_PG_USER", "postgres"),
        "PASSWORD": os.environ.get("DJ_DB_CONN_POOL_JDBC_PG_PASSWORD", ""),
        "OPTIONS": {
            "JDBC_DRIVER": "org.postgresql.Driver",
            "JDBC_CLASSPATH": [PG_JAR],
            "JDBC_DBAPI": layer,
        },
    }


def open_jdbc(settings_dict: dict[str, Any], dialect: dbapi.Dialect) -> Any:
    return dbapi.connect(config.read(settings_dict, "bench"), dialect, "bench")


def select_one(connection: Any, queries: int) -> None:
    cursor = connection.cursor()
    for _ in range(queries):
        cursor.execute("SELECT 1")
        cursor.fetchone()
    cursor.close()


def select_params(connection: Any, queries: int) -> None:
    cursor = connection.cursor()
    for n in range(queries):
        cursor.execute("SELECT %s, %s", [n, "text"])
        cursor.fetchone()
    cursor.close()


def fetch_rows(connection: Any, queries: int) -> None:
    cursor = connection.cursor()
    cursor.execute("SELECT id, name, amount, stamp, day, ratio FROM jdbc_bench ORDER BY id")
    assert len(cursor.fetchall()) == ROWS
    cursor.close()


def executemany(connection: Any, queries: int) -> None:
    cursor = connection.cursor()
    cursor.execute("DELETE FROM jdbc_bench_many")
    cursor.executemany(
        "INSERT INTO jdbc_bench_many VALUES (%s, %s, %s)",
        [(n, f"name {n}", decimal.Decimal(n) / 8) for n in range(queries)],
    )
    cursor.close()


WORK: dict[str, tuple[Callable[[Any, int], None], str]] = {
    "SELECT 1": (select_one, "query"),
    "SELECT %s, %s": (select_params, "query"),
    f"fetch {ROWS} rows x 6 columns": (fetch_rows, "row"),
    "executemany": (executemany, "row"),
}


def prepare(connection: Any, dialect: str) -> None:
    cursor = connection.cursor()
    text, stamp = ("TEXT", "DATETIME(6)") if dialect == "mysql" else ("text", "timestamp")
    cursor.execute("DROP TABLE IF EXISTS jdbc_bench")
    cursor.execute(
        f"CREATE TABLE jdbc_bench (id INT PRIMARY KEY, name {text}, amount DECIMAL(12, 2), "
        f"stamp {stamp}, day DATE, ratio DOUBLE PRECISION)"
    )
    base = datetime.datetime(2024, 1, 1, 12, 0, 0, 123456)
    rows = [
        (n, f"name {n}", decimal.Decimal(n) / 4, base + datetime.timedelta(minutes=n),
         (base + datetime.timedelta(days=n % 365)).date(), n / 3)
        for n in range(ROWS)
    ]  # fmt: skip
    cursor.executemany("INSERT INTO jdbc_bench VALUES (%s, %s, %s, %s, %s, %s)", rows)
    cursor.execute("DROP TABLE IF EXISTS jdbc_bench_many")
    cursor.execute(
        f"CREATE TABLE jdbc_bench_many (id INT PRIMARY KEY, name {text}, x DECIMAL(12, 3))"
    )
    cursor.close()


def run(title: str, connections: dict[str, Any], rounds: int, queries: int) -> None:
    best: dict[tuple[str, str], float] = {}
    for _ in range(rounds):
        for name, (work, _) in WORK.items():
            for layer, connection in connections.items():
                started = time.perf_counter()
                work(connection, queries)
                elapsed = time.perf_counter() - started
                key = (name, layer)
                best[key] = min(best.get(key, elapsed), elapsed)
    print(f"\n{title} (best of {rounds} rounds; µs per query or per row)")
    layers = list(connections)
    print(f"  {'work':34}" + "".join(f"{layer:>14}" for layer in layers) + "   jaydebeapi/jpype")
    for name, (_, unit) in WORK.items():
        count = ROWS if unit == "row" and name.startswith("fetch") else queries
        micro = {layer: best[(name, layer)] / count * 1e6 for layer in layers}
        ratio = micro["jaydebeapi"] / micro["jpype"]
        print(
            f"  {name:34}" + "".join(f"{micro[layer]:14.1f}" for layer in layers) + f"{ratio:19.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    database = f"jdbc_bench_{os.getpid()}"
    admin = open_jdbc(mariadb_settings("jpype"), dbapi.MYSQL)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {database}")
    try:
        mariadb = {}
        for layer in LAYERS:
            settings_dict = {**mariadb_settings(layer), "NAME": database}
            mariadb[layer] = connection = open_jdbc(settings_dict, dbapi.MYSQL)
            connection.autocommit = True
        prepare(mariadb["jpype"], "mysql")
        try:
            import MySQLdb

            native = MySQLdb.connect(
                host=os.environ["DJ_DB_CONN_POOL_MYSQL_HOST"],
                port=int(os.environ.get("DJ_DB_CONN_POOL_MYSQL_PORT", "3306")),
                user=os.environ["DJ_DB_CONN_POOL_MYSQL_USER"],
                password=os.environ["DJ_DB_CONN_POOL_MYSQL_PASSWORD"],
                database=database,
                autocommit=True,
            )
            mariadb["mysqlclient"] = native
        except ImportError:
            pass
        run("MariaDB, MariaDB Connector/J", mariadb, args.rounds, args.queries)
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
    if "DJ_DB_CONN_POOL_JDBC_PG_HOST" in os.environ:
        postgresql = {}
        for layer in LAYERS:
            postgresql[layer] = connection = open_jdbc(postgresql_settings(layer), dbapi.GENERIC)
            connection.autocommit = True
        prepare(postgresql["jpype"], "postgresql")
        run("PostgreSQL, pgjdbc", postgresql, args.rounds, args.queries)
        postgresql["jpype"].cursor().execute("DROP TABLE jdbc_bench, jdbc_bench_many")


if __name__ == "__main__":
    main()
