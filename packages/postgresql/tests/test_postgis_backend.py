"""The PostGIS engine: Django's PostGIS backend, pooled."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.contrib.gis.db.backends.postgis.adapter import PostGISAdapter
from django.contrib.gis.geos import Point
from django.db import connections

from integration.engines import Engine


def in_two_threads_at_once(alias: str, work: Callable[[Any], Any]) -> list[Any]:
    """Run `work(cursor)` in two threads that hold their connections at the same time."""
    both = threading.Barrier(2)
    results: list[Any] = []

    def run() -> None:
        try:
            with connections[alias].cursor() as cursor:
                both.wait(timeout=10)
                results.append(work(cursor))
                both.wait(timeout=10)
        except Exception as error:  # judged by the caller
            results.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def point_query(cursor: Any) -> Any:
    points = [PostGISAdapter(Point(1, 2)), PostGISAdapter(Point(3, 4, srid=4326))]
    cursor.execute("SELECT ST_AsText(%s), ST_SRID(%s)", points)
    return cursor.fetchone()


def test_geometries_work_on_every_pooled_connection_after_create_extension(
    postgis: Engine,
) -> None:
    connection = connections[postgis.alias]
    with connection.cursor() as cursor:
        cursor.execute("DROP EXTENSION IF EXISTS postgis CASCADE")
    connection.close()
    # Two pooled connections that predate the extension.
    in_two_threads_at_once(postgis.alias, lambda cursor: cursor.execute("SELECT 1"))
    connection.prepare_database()  # CREATE EXTENSION, as migrate does
    connection.close()
    assert in_two_threads_at_once(postgis.alias, point_query) == [("POINT(1 2)", 4326)] * 2
    assert type(connection).__module__ == "dj_db_conn_pool.backends.postgis.base"
