"""LEAK_TIMEOUT: warn about connections checked out for too long, and where from."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .container import PoolContainer

logger = logging.getLogger("dj_db_conn_pool")

_watcher: threading.Thread | None = None
_start_lock = threading.Lock()


def check(container: PoolContainer) -> int:
    """Log each checkout older than its pool's LEAK_TIMEOUT, once; return how many."""
    now = time.monotonic()
    found = 0
    for wrapper in list(container.holders):
        checkout = wrapper.pool_checkout
        if checkout is None or checkout.reported:
            continue
        limit = checkout.entry.options["LEAK_TIMEOUT"]
        age = now - checkout.since
        if limit is None or age < limit:
            continue
        checkout.reported = True
        found += 1
        logger.warning(
            "pool %r: a connection has been checked out for %.1fs (LEAK_TIMEOUT=%ss) "
            "without being returned; it was checked out at:\n%s",
            checkout.entry.alias,
            age,
            limit,
            checkout.stack,
        )
    return found


def watch(container: PoolContainer, interval: float = 1.0) -> None:
    """Start the process's leak watcher, once."""
    global _watcher
    with _start_lock:
        if _watcher is not None and _watcher.is_alive():
            return
        _watcher = threading.Thread(
            target=_run, args=(container, interval), name="dj_db_conn_pool leaks", daemon=True
        )
        _watcher.start()


def _run(container: PoolContainer, interval: float) -> None:
    while True:
        time.sleep(interval)
        check(container)
