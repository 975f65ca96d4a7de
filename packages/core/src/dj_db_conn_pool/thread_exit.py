"""Give back what a thread held as soon as the thread ends, not when the collector runs.

Under ASGI servers each request's synchronous work runs in a thread of its
own (asgiref's ThreadSensitiveContext), and the request's database wrappers
die with it. A wrapper sits in reference cycles, so without this its
connection would stay checked out until the garbage collector ran. Each
thread that checks out gets a sentinel in a thread-local: CPython drops a
thread's locals when the thread ends, and the sentinel's finalizer then
tells every wrapper the thread registered.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any, Protocol

logger = logging.getLogger("dj_db_conn_pool")


class Holder(Protocol):
    def pool_thread_ended(self) -> None: ...


class _Sentinel:
    __slots__ = ("__weakref__",)


_local = threading.local()


def release_at_exit(holder: Holder) -> None:
    """Call holder.pool_thread_ended() when the current thread ends (if holder lives)."""
    try:
        holders = _local.holders
    except AttributeError:
        holders = _local.holders = weakref.WeakSet()
        _local.sentinel = sentinel = _Sentinel()
        finalizer = weakref.finalize(sentinel, _release_all, holders, os.getpid())
        finalizer.atexit = False  # at interpreter exit the pools are closed anyway
    holders.add(holder)


def _release_all(holders: weakref.WeakSet[Any], pid: int) -> None:
    # A forked child clears its copies of the parent's other threads: those
    # connections are the parent's, and the fork guard lets go of them.
    if os.getpid() != pid:
        return
    for holder in list(holders):
        try:
            holder.pool_thread_ended()
        except Exception:  # one wrapper's failure must not keep the others' connections
            logger.exception("could not give back the connection of %r at thread exit", holder)
