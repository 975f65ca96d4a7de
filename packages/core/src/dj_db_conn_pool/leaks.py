"""LEAK_TIMEOUT: warn about connections checked out for too long, and where from."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from .pool import PoolEntry

logger = logging.getLogger("dj_db_conn_pool")

_watcher: threading.Thread | None = None
_start_lock = threading.Lock()


def check(entries: Iterable[PoolEntry]) -> int:
    """Log each checkout older than its pool's LEAK_TIMEOUT, once; return how many."""
    now = time.monotonic()
    found = 0
    for entry in entries:
        limit = entry.config.leak_timeout
        if limit is None:
            continue
        for checkout in entry.lent():
            age = now - checkout.since
            if checkout.reported or age < limit:
                continue
            checkout.reported = True
            found += 1
            logger.warning(
                "pool %r: a connection has been checked out for %.1fs (LEAK_TIMEOUT=%ss) "
                "without being returned; it was checked out at:\n%s",
                entry.name,
                age,
                limit,
                checkout.stack,
            )
    return found


def watch(entries: Callable[[], Iterable[PoolEntry]], interval: float = 1.0) -> None:
    """Start the process's leak watcher over the pools `entries()` returns, once."""
    global _watcher
    with _start_lock:
        if _watcher is not None and _watcher.is_alive():
            return
        _watcher = threading.Thread(
            target=_run, args=(entries, interval), name="dj_db_conn_pool leaks", daemon=True
        )
        _watcher.start()


def _run(entries: Callable[[], Iterable[PoolEntry]], interval: float) -> None:
    while True:
        time.sleep(interval)
        check(entries())
