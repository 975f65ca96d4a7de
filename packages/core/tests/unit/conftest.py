"""The unit tier: the pool over an in-process fake driver, with no server and no Django.

`make test-unit` runs this folder with --confcutdir pointing here, so the
repository's conftest.py (Django settings, the servers) is not loaded.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dj_db_conn_pool.config import PoolConfig
from dj_db_conn_pool.pool import PoolEntry

from .fakedb import FakeDriver, FakeHooks

MakePool = Callable[..., tuple[PoolEntry, FakeDriver]]


@pytest.fixture
def make_pool() -> Iterator[MakePool]:
    """Build pools over fake drivers (PoolConfig's fields as keywords); retire them after."""
    made: list[tuple[PoolEntry, FakeDriver]] = []

    def make(
        *, autocommit: bool = True, sockets: bool = True, **options: Any
    ) -> tuple[PoolEntry, FakeDriver]:
        driver = FakeDriver(autocommit=autocommit, sockets=sockets)
        options.setdefault("pool_size", 2)
        options.setdefault("max_overflow", 1)
        options.setdefault("timeout", 0.05)
        options.setdefault("slow_checkout", None)
        config = PoolConfig(name="unit", autocommit=autocommit, **options)
        entry = PoolEntry(config, driver.connect, hooks=FakeHooks, driver_error=FakeDriver.Error)
        made.append((entry, driver))
        return entry, driver

    yield make
    for entry, driver in made:
        entry.retire()
        driver.close_all()
    gc.collect()
