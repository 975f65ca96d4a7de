"""The engines the suite compares: Django's stock backend and ours, on one driver."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any

# The modules that exercise what a pool can break: connection set-up and
# teardown, transactions, cursors, server-side state, test database cloning.
CURATED = (
    "backends", "transactions", "transaction_hooks", "queries", "basic", "model_fields",
    "select_for_update", "db_functions", "introspection", "schema", "migrations", "test_utils",
)  # fmt: skip
# GeoDjango on PostGIS: the gis_tests that use the database (geometry and
# geography columns, spatial lookups and functions, raster, migrations and
# introspection of spatial columns), plus the backend tests (connection set-up,
# where PostGIS registers its types). Not geos_tests and gdal_tests: they test
# the GEOS and GDAL libraries alone.
GIS = (
    "backends", "gis_tests.tests", "gis_tests.geoapp", "gis_tests.geo3d", "gis_tests.distapp",
    "gis_tests.geogapp", "gis_tests.relatedapp", "gis_tests.gis_migrations",
    "gis_tests.inspectapp", "gis_tests.layermap", "gis_tests.geoadmin", "gis_tests.rasterapp",
    "gis_tests.test_spatialrefsys",
)  # fmt: skip

OCEANBASE_STOCK = "integration.django_suite.oceanbase_stock"
# On OceanBase, CURATED without three modules: migrations and db_functions, the
# slowest there (OceanBase's DDL takes ~10x MariaDB's) and the least about
# connections, keep CI under its limit; model_fields cannot set up on Django 6,
# with either backend (a JSONField with db_default: OceanBase refuses any DEFAULT
# on a JSON column). `make django-suite ENGINE=oceanbase MODULES=...` runs them.
OCEANBASE_CURATED = tuple(
    module for module in CURATED if module not in ("migrations", "db_functions", "model_fields")
)

JDBC_DBAPI_LAYERS = ("jaydebeapi", "jpype")
# Debian's libmariadb-java; DJ_DB_CONN_POOL_JDBC_MARIADB_JAR points elsewhere
# (as for packages/jdbc/tests).
MARIADB_JAR_ENV = "DJ_DB_CONN_POOL_JDBC_MARIADB_JAR"
MARIADB_JAR = "/usr/share/java/mariadb-java-client.jar"


@dataclass(frozen=True)
class SuiteEngine:
    """One value of the hatch matrix's `engine`: a backend family on one driver."""

    name: str
    family: str  # the kind of server: postgresql, postgis, mysql or oceanbase (servers.py)
    driver: str  # the module Django imports for it
    short: str  # in test database names, so engines can share a server
    shadowed_by: str | None = None  # a driver that Django would prefer, if installed
    stock: str = ""  # the stock ENGINE; default django.db.backends.<family>
    pooled: str = ""  # our ENGINE; default dj_db_conn_pool.backends.<family>
    modules: tuple[str, ...] = CURATED  # the curated test labels
    parallel: int = 2  # runtests.py --parallel
    # multiprocessing's start method for --parallel workers ("": Python's default)
    start_method: str = ""
    jdbc_driver: str = ""  # the pooled alias connects through this JDBC driver
    ci_servers: tuple[str, ...] = ()  # the compose services CI uses; (): all of the family
    shared_stock: bool = False  # one stock run per server start for the family (cli._stock)

    def __post_init__(self) -> None:
        if not self.stock:
            object.__setattr__(self, "stock", f"django.db.backends.{self.family}")
        if not self.pooled:
            object.__setattr__(self, "pooled", f"dj_db_conn_pool.backends.{self.family}")

    def check_driver(self) -> None:
        """Exit unless this environment has the driver, and only it, installed."""
        if importlib.util.find_spec(self.driver) is None:
            raise SystemExit(f"engine {self.name!r} needs {self.driver}, which is not installed")
        if self.shadowed_by and importlib.util.find_spec(self.shadowed_by) is not None:
            raise SystemExit(
                f"engine {self.name!r}: {self.shadowed_by} is installed, so Django would use "
                f"it instead of {self.driver}; use the hatch env for this engine"
            )
        if self.jdbc_driver and not os.path.isfile(jar := mariadb_jar()):
            raise SystemExit(
                f"engine {self.name!r} needs MariaDB Connector/J at {jar}: apt-get install "
                f"libmariadb-java (or set {MARIADB_JAR_ENV})"
            )

    def options(self, variant: str, jdbc_dbapi: str) -> dict[str, Any]:
        """Return the OPTIONS of the aliases of one run."""
        if variant != "pooled" or not self.jdbc_driver:
            return {}
        return {
            "JDBC_DRIVER": self.jdbc_driver,
            "JDBC_CLASSPATH": [mariadb_jar()],
            "JDBC_DBAPI": jdbc_dbapi,
        }


def mariadb_jar() -> str:
    """Return the path of MariaDB Connector/J's jar."""
    return os.environ.get(MARIADB_JAR_ENV, MARIADB_JAR)


ENGINES = {
    engine.name: engine
    for engine in (
        SuiteEngine("postgresql", "postgresql", "psycopg", "pg3"),
        SuiteEngine("postgresql-psycopg2", "postgresql", "psycopg2", "pg2", shadowed_by="psycopg"),
        SuiteEngine("mysql", "mysql", "MySQLdb", "my"),
        SuiteEngine(
            "postgis", "postgis", "psycopg", "gis",
            stock="django.contrib.gis.db.backends.postgis", modules=GIS,
        ),
        # MariaDB through MariaDB Connector/J (not yet tried on MySQL). A Java VM
        # does not survive fork(): --parallel workers are spawned (both runs alike).
        SuiteEngine(
            "jdbc-oceanbase-mysql", "mysql", "jpype", "jm",
            pooled="dj_db_conn_pool.backends.jdbc.oceanbase.mysql",
            start_method="spawn", jdbc_driver="org.mariadb.jdbc.Driver", ci_servers=("mariadb",),
        ),
        # OceanBase's MySQL mode (seekdb). Stock Django refuses it: the baseline is
        # its MySQL backend with only the version check lifted (oceanbase_stock).
        # One process (--parallel 1): Django clones MySQL test databases with mysqldump,
        # and OceanBase's SHOW CREATE TABLE names the database in each foreign key
        # (REFERENCES `test_x`.`t`), so a clone's rows would be checked against the
        # original's tables. Both engines alike, so that they share one stock run.
        SuiteEngine(
            "oceanbase", "oceanbase", "MySQLdb", "ob", stock=OCEANBASE_STOCK,
            pooled="dj_db_conn_pool.backends.oceanbase", modules=OCEANBASE_CURATED,
            parallel=1, shared_stock=True,
        ),
        # The JDBC engine on it, as a user without OceanBase's jar: MariaDB Connector/J.
        SuiteEngine(
            "oceanbase-jdbc", "oceanbase", "jpype", "obj", stock=OCEANBASE_STOCK,
            pooled="dj_db_conn_pool.backends.jdbc.oceanbase.mysql", modules=OCEANBASE_CURATED,
            parallel=1, jdbc_driver="org.mariadb.jdbc.Driver", shared_stock=True,
        ),
    )
}  # fmt: skip
