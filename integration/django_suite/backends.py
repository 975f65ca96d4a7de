"""The engines the suite compares: Django's stock backend and ours, on one driver."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class SuiteEngine:
    """One value of the hatch matrix's `engine`: a backend family on one driver."""

    name: str
    family: str  # Django's backend module, and the kind of server it needs
    driver: str  # the module Django imports for it
    short: str  # in test database names, so engines can share a server
    shadowed_by: str | None = None  # a driver that Django would prefer, if installed

    @property
    def stock(self) -> str:
        return f"django.db.backends.{self.family}"

    @property
    def pooled(self) -> str:
        return f"dj_db_conn_pool.backends.{self.family}"

    def check_driver(self) -> None:
        """Exit unless this environment has the driver, and only it, installed."""
        if importlib.util.find_spec(self.driver) is None:
            raise SystemExit(f"engine {self.name!r} needs {self.driver}, which is not installed")
        if self.shadowed_by and importlib.util.find_spec(self.shadowed_by) is not None:
            raise SystemExit(
                f"engine {self.name!r}: {self.shadowed_by} is installed, so Django would use "
                f"it instead of {self.driver}; use the hatch env for this engine"
            )


ENGINES = {
    engine.name: engine
    for engine in (
        SuiteEngine("postgresql", "postgresql", "psycopg", "pg3"),
        SuiteEngine("postgresql-psycopg2", "postgresql", "psycopg2", "pg2", shadowed_by="psycopg"),
        SuiteEngine("mysql", "mysql", "MySQLdb", "my"),
    )
}
