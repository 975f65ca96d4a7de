from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from dj_db_conn_pool.container import pool_container
from integration import engines


@pytest.fixture(params=engines.params())
def engine(request: pytest.FixtureRequest) -> Iterator[engines.Engine]:
    """Each installed engine in turn, with every pool retired after the test."""
    engine: engines.Engine = request.param
    if not engine.configured:
        pytest.fail(f"CI=true and the {engine.alias} server is not running: run `make services`")
    yield engine
    connections.close_all()
    pool_container.close_all()


@pytest.fixture
def pool_options(engine: engines.Engine) -> Iterator[dict[str, Any]]:
    """The alias's POOL_OPTIONS, which a test may fill in before connecting."""
    settings_dict = connections.settings[engine.alias]
    saved = settings_dict.get("POOL_OPTIONS")
    settings_dict["POOL_OPTIONS"] = options = {}
    yield options
    connections[engine.alias].close()
    if saved is None:
        settings_dict.pop("POOL_OPTIONS", None)
    else:
        settings_dict["POOL_OPTIONS"] = saved
