"""The fleet simulation (`make fleet-sim`, integration/fleet_sim.py), small and short.

Two gunicorn workers of two threads against a throwaway PostgreSQL with three
slots for the app: the pooled fleet (one connection per worker) must stay
within them without an error, and the stock backend must be refused logins, or
the simulation shows nothing.
"""

from __future__ import annotations

import os

import pytest

# The simulation's session observer speaks psycopg 3, which the psycopg2 env lacks on purpose.
pytest.importorskip("psycopg", reason="the fleet simulation needs psycopg 3")

from integration import fleet_sim


@pytest.fixture(autouse=True)
def _needs_system_packages() -> None:
    reason = fleet_sim.missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def test_pooled_fleet_stays_within_max_connections_where_stock_backend_is_refused() -> None:
    server, pool_options, (stock, pooled) = fleet_sim.simulate(
        workers=2, threads=2, seconds=2, max_connections=6, quiet=True
    )
    assert server.usable == 3
    assert pool_options == {"POOL_SIZE": 1, "MAX_OVERFLOW": 0}
    assert stock.refused > 0, stock
    assert pooled.requests > 0, pooled
    assert pooled.errors == 0, pooled
    assert pooled.refused == 0, pooled
    assert 0 < pooled.peak_sessions <= server.usable, pooled
