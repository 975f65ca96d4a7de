"""MIN_SIZE and IDLE_TIMEOUT: one background thread per process keeps pools warm and lean.

A pool with MIN_SIZE > 0 or an IDLE_TIMEOUT is watched from its creation (the
first checkout of its settings, container.py) by this process's maintenance
thread, which every TICK seconds at most, for each watched pool:

1. returns to the queue parked (STICKY) connections idle longer than
   IDLE_TIMEOUT (keeping their idle clock), past RECYCLE, or whose socket
   shows news (after the checks their own thread would make: dead ones go);
2. looks at each idle connection in SQLAlchemy's queue, taken out with a gate
   permit so that the bound holds: an empty slot (a discarded connection's),
   a connection the driver closed, one past RECYCLE or soft-evicted (pool.py),
   or one whose socket shows news and fails a ping is dropped; one idle longer than IDLE_TIMEOUT is
   closed while more than MIN_SIZE are open; the rest go back;
3. opens connections into the queue, as idle ones, until MIN_SIZE are open.

So requests never pay for this: the checkout and return paths are unchanged,
and what a request would have found stale or missing is found and replaced
here first. One thread for all pools: a process may have many (aliases, test
databases), and the work is a few microseconds per idle connection plus the
connects; a pool whose server is down delays the others' refill by its
connect timeout, which requests can bear (they open their own, as without
MIN_SIZE).

SQLAlchemy's QueuePool has no public call to open a connection into its queue
or to drop one chosen slot: this module uses the internals its own _do_get()
and dispose() use (_pool, _inc_overflow, _dec_overflow, _create_connection,
_do_return_conn), here only. tests/unit/test_maintenance_unit.py pins them.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
import weakref
from typing import Any

from sqlalchemy import exc as sa_exc

from . import liveness
from .backoff import Unreachable
from .pool import EXPIRES_AT, OPENED_AT, RETURNED_AT, SOCKET, Evicted, PoolEntry, Recycled

logger = logging.getLogger("dj_db_conn_pool")

# The longest the thread sleeps between passes: how soon a lost connection is
# replaced. A pool's IDLE_TIMEOUT / 2 makes it shorter.
TICK = 1.0

# A new pool's first checkout opens its own connection; warming starts once it
# is served, looked for this often during a pool's first WARM_UP seconds.
FIRST_CHECKOUT_POLL = 0.02
WARM_UP = 5.0

_watched: weakref.WeakKeyDictionary[PoolEntry, float] = weakref.WeakKeyDictionary()  # since
_lock = threading.Lock()
_wake = threading.Event()
_thread: threading.Thread | None = None
_stopping = False
# Pools whose last connect ahead of need failed: said once at WARNING, not every tick.
_failing: weakref.WeakSet[PoolEntry] = weakref.WeakSet()


def watch(entry: PoolEntry) -> None:
    """Have this process's maintenance thread look after the pool (started here, once)."""
    global _thread
    with _lock:
        _watched[entry] = time.monotonic()
        if _thread is None or not _thread.is_alive():
            if _thread is None:  # the first in this process: stop before the pools close
                atexit.register(_stop)  # (atexit runs the last registered first)
            _thread = threading.Thread(target=_run, name="dj_db_conn_pool maintenance", daemon=True)
            _thread.start()
    _wake.set()  # warm the new pool now, not at the next tick


def tend(entry: PoolEntry, now: float | None = None) -> None:
    """Make one maintenance pass over a pool (what the thread does every tick)."""
    if entry.retired:
        return
    now = time.monotonic() if now is None else now
    _sweep_parked(entry, now)
    _sweep_queue(entry, now)
    _fill(entry)


def _interval() -> float:
    """Return how long to sleep: TICK, less for short IDLE_TIMEOUTs and pools warming up."""
    now = time.monotonic()
    waits = [TICK]
    for entry, since in list(_watched.items()):
        if entry.config.idle_timeout:
            waits.append(entry.config.idle_timeout / 2)
        if entry.config.min_size and now - since < WARM_UP and not entry.counters["checkouts"]:
            waits.append(FIRST_CHECKOUT_POLL)
    return min(waits)


def _run() -> None:
    while not _stopping:
        _wake.wait(_interval())
        _wake.clear()
        for entry in list(_watched):
            if _stopping:
                return
            if entry.retired:
                _watched.pop(entry, None)
                continue
            try:
                tend(entry)
            except Exception:  # one pool's trouble must not stop the others' upkeep
                logger.exception("pool %r: maintenance failed", entry.name)


def _sweep_parked(entry: PoolEntry, now: float) -> None:
    """Return to the queue parked connections idle too long, past RECYCLE or maybe dead.

    A first look goes without claiming (a racy read: its thread may be taking it
    back), so that a parked connection in good health stays parked, untouched.
    """
    idle_timeout = entry.config.idle_timeout
    for checkout in entry.parking.parked_before(now - liveness.POLL_BYPASS):
        idle = (
            idle_timeout is not None
            and now - checkout.parked_at > idle_timeout
            and entry.state()["open"] > entry.config.min_size
        )
        suspect = now > checkout.expires_at or (
            checkout.socket is not None and entry.hooks.may_be_dead(checkout.dbapi_connection)
        )
        if not (idle or suspect) or not entry.parking.claim(checkout):
            continue  # or its thread took it back meanwhile
        if not idle:
            # What its thread would do on taking it back: discard it if dead.
            if entry._revive(checkout, now):
                entry.give_back(checkout, reusable=True)
            continue
        info = checkout.fairy.info  # the record's: read before the fairy lets go of it
        entry.give_back(checkout, reusable=True)
        # Back in the queue, stamped now: idle since it was parked (the queue's
        # sweep closes it). A checkout between the two lines finds it fresh,
        # which only spares it a ping.
        info[RETURNED_AT] = min(info.get(RETURNED_AT, checkout.parked_at), checkout.parked_at)


def _sweep_queue(entry: PoolEntry, now: float) -> None:
    """Look at each idle connection in the queue, longest idle first; drop what is unfit."""
    queue: Any = entry.pool._pool
    with queue.mutex:
        idle = list(queue.queue)
    idle.sort(key=lambda record: record.info.get(RETURNED_AT, now))
    for record in idle:
        if not _take_permit(entry):
            return  # requests wait or hold every permit: nothing idle to look after
        try:
            with queue.mutex:  # out of the queue, as a checkout would take it
                try:
                    queue.queue.remove(record)
                except ValueError:  # lent meanwhile
                    continue
            if _keep(entry, record, now):
                _put_back(entry, record)
            else:
                entry.pool._dec_overflow()  # its slot goes: no request opens into it
        finally:
            _release_permit(entry)


def _keep(entry: PoolEntry, record: Any, now: float) -> bool:
    """Return whether an idle connection goes back to the queue; close it if not."""
    connection = record.dbapi_connection
    if connection is None:  # the empty slot of a discarded connection
        return False
    info = record.info
    if entry.hooks.broken(connection):
        record.invalidate(sa_exc.DisconnectionError("the driver closed it"))
        return False
    if now > info.get(EXPIRES_AT, now):
        record.invalidate(Recycled("past RECYCLE"))
        return False
    if info.get(OPENED_AT, math.inf) <= entry.evicted_before:  # replaced now, not when lent
        record.invalidate(Evicted("opened before its server turned read-only"))
        return False
    idle_timeout = entry.config.idle_timeout
    idle = now - info.get(RETURNED_AT, now)
    if (
        idle_timeout is not None
        and idle > idle_timeout
        and entry.state()["open"] > entry.config.min_size
    ):
        logger.info(
            "pool %r: closing a connection idle for %.1fs (IDLE_TIMEOUT=%ss)",
            entry.name,
            idle,
            idle_timeout,
        )
        record.close()
        entry._count("idle_closed")
        return False
    # The socket poll costs a microsecond; a ping only when it shows news (the
    # server closed the session, or sent an error), as a checkout would.
    if info.get(SOCKET) is not None and entry.hooks.may_be_dead(connection):
        try:
            entry.hooks.ping(connection)
            if entry.hooks.transaction_open(connection):
                entry.hooks.rollback(connection)
        except Exception as error:
            record.invalidate(sa_exc.DisconnectionError(f"failed its ping: {error}"))
            return False
    return True


def _fill(entry: PoolEntry) -> None:
    """Open connections into the queue, as idle ones, until MIN_SIZE are open.

    Not before the pool's first checkout has been served: that request opens
    its own connection, and warming alongside it would open one too many.
    """
    pool: Any = entry.pool
    if entry.counters["checkouts"] == 0:
        return
    while not entry.retired and _open_or_opening(entry) < entry.config.min_size:
        if not _take_permit(entry):
            return
        try:
            if not pool._inc_overflow():  # every slot taken
                return
            try:
                record = pool._create_connection()  # our _connect: counted, tracked, logged
            except Unreachable:  # backing off (backoff.py), which says so itself
                pool._dec_overflow()
                return
            except Exception as error:
                pool._dec_overflow()
                # Once per outage at WARNING: the thread tries again every tick.
                log = logger.debug if entry in _failing else logger.warning
                _failing.add(entry)
                log(
                    "pool %r: could not open a connection ahead of need (MIN_SIZE=%s): %s",
                    entry.name,
                    entry.config.min_size,
                    entry._redact(f"{type(error).__name__}: {error}").strip(),
                )
                return
            if entry in _failing:
                _failing.discard(entry)
                logger.info("pool %r: opened a connection ahead of need again", entry.name)
            # Idle from now: its first checkout checks it like any idle connection.
            record.info[RETURNED_AT] = time.monotonic()
            _put_back(entry, record)
        finally:
            _release_permit(entry)


def _put_back(entry: PoolEntry, record: Any) -> None:
    """Put an idle connection into the queue (or close it, if the queue is full)."""
    entry.pool._do_return_conn(record)
    if entry.retired:  # retired meanwhile: its dispose() may have run before the put
        entry.pool.dispose()


def _open_or_opening(entry: PoolEntry) -> int:
    """Return the connections open, and those that checkouts are opening now.

    SQLAlchemy counts a slot from the moment a checkout starts to open its
    connection; the queue's empty slots were dropped by _sweep_queue() just before.
    """
    return max(entry.state()["open"], entry.pool.checkedout() + entry.pool.checkedin())


def _take_permit(entry: PoolEntry) -> bool:
    return entry.gate is None or entry.gate.try_acquire()


def _release_permit(entry: PoolEntry) -> None:
    if entry.gate is not None:
        entry.gate.release()


def _stop() -> None:
    global _stopping
    _stopping = True
    _wake.set()


def _forget_in_child() -> None:
    # The parent's thread does not exist here, and its pools are the parent's:
    # the child's own pools start a thread of their own.
    global _thread, _watched, _lock, _wake
    _thread = None
    _watched = weakref.WeakKeyDictionary()
    _lock = threading.Lock()
    _wake = threading.Event()


os.register_at_fork(after_in_child=_forget_in_child)
