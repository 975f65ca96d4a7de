"""PoolEntry: one named SQLAlchemy pool and what the pool adds around it (no Django here).

Built from a PoolConfig, a connect callable and the driver's hooks (hooks.py).
A connection goes out through checkout() (a waiting room in arrival order, the
gate; then SQLAlchemy's queue) or reclaim() (its own thread takes back what it
parked), and comes back through give_back(), the one return path.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

from . import fork, liveness
from .backoff import ReconnectBackoff, Unreachable
from .config import PoolConfig
from .figures import COUNTERS
from .gate import FairGate
from .hooks import DriverHooks
from .parking import ParkingLot

logger = logging.getLogger("dj_db_conn_pool")

# Keys of the pool's per-connection info dict, which lives as long as the
# physical connection and is emptied when SQLAlchemy replaces it.
RETURNED_AT = "dj_db_conn_pool.returned_at"
EXPIRES_AT = "dj_db_conn_pool.expires_at"  # when RECYCLE, less its jitter, retires it
INITIALIZED = "dj_db_conn_pool.initialized"  # the owner's set-up has run (Django's)
SOCKET = "dj_db_conn_pool.socket"  # liveness.socket_identity() at connect
CLEANED = "dj_db_conn_pool.cleaned"  # give_back() cleaned it: SQLAlchemy's reset need not
ROLLED_BACK = "dj_db_conn_pool.rolled_back"  # a return needed a rollback (logged once)
OPENED_AT = "dj_db_conn_pool.opened_at"  # time.monotonic() at connect: soft eviction's clock
WRITABLE = "dj_db_conn_pool.writable"  # the server could write at connect (hooks.read_only)

# Called with (pool name, seconds waited) after every checkout, served or not:
# the Prometheus collector's histogram (prometheus.py) registers here.
wait_observers: list[Callable[[str, float], None]] = []

# Each connection's RECYCLE is cut by up to this share, at random, so that
# connections opened together are not all replaced in the same second.
RECYCLE_JITTER = 0.1
_jitter = random.Random()

# Driver connections whose descriptor was closed behind the driver's back: never
# closed by the pool, whose close would hit whatever socket reuses the number.
_abandoned: list[Any] = []


class SocketReplaced(Exception):
    """The connection's descriptor no longer refers to the socket it opened."""


class Recycled(sa_exc.DisconnectionError):
    """Past its RECYCLE: SQLAlchemy replaces it at checkout, as after a failed ping."""


class Evicted(sa_exc.DisconnectionError):
    """Opened before its server turned read-only (soft eviction): replaced, not lent."""


class Checkout:
    """A connection lent out: what it came from, since when, and from where."""

    __slots__ = (
        "__weakref__",
        "dbapi_connection",
        "entry",
        "expires_at",
        "fairy",
        "fresh_until",
        "opened_at",
        "parked_at",
        "reported",
        "returned",
        "since",
        "socket",
        "stack",
        "takebacks",
    )

    def __init__(self, entry: PoolEntry, fairy: PoolProxiedConnection) -> None:
        self.entry = entry
        self.fairy = fairy
        # Fixed for the whole loan: read once rather than through the fairy each time.
        self.dbapi_connection = fairy.dbapi_connection
        self.expires_at: float = fairy.info.get(EXPIRES_AT, float("inf"))
        self.socket: tuple[int, int] | None = fairy.info.get(SOCKET)
        self.opened_at: float = fairy.info.get(OPENED_AT, math.inf)
        self.parked_at = self.fresh_until = 0.0
        self.returned = False
        # Times its holder took it back from parking: only that thread counts here,
        # so no lock; added to the pool's checkouts when it is returned for real.
        self.takebacks = 0
        self.lend()

    def __del__(self) -> None:
        # Never returned: its holder was collected without closing. SQLAlchemy
        # returns the connection itself; give back its place in the gate too.
        if not self.returned:
            self.entry.orphaned(self)

    def lend(self, now: float | None = None) -> None:
        """Start a new loan: reset the leak clock, and note the stack if leaks are watched."""
        self.since = time.monotonic() if now is None else now
        self.reported = False
        self.stack = (
            "".join(traceback.format_stack(limit=14)) if self.entry.config.leak_timeout else None
        )


class PoolEntry:
    """One SQLAlchemy pool, for one alias and one set of connection settings."""

    def __init__(
        self,
        config: PoolConfig,
        connect: Callable[[], Any],
        hooks: type[DriverHooks] = DriverHooks,
        driver_error: type[BaseException] = Exception,
        context: Any = None,
    ) -> None:
        """Build the pool: `connect` opens a driver connection, raising `driver_error`.

        `context` is kept for the owner (the Django layer keeps the wrapper
        copy that opens the connections); the pool never reads it.
        """
        self.config = config
        self.name = config.name
        self.hooks = hooks
        self.context = context
        self._open_connection = connect
        self._driver_error = driver_error
        self.backoff = ReconnectBackoff(config.reconnect_backoff)
        self.retired = False
        # Soft eviction: connections opened at or before this moment are not lent again.
        self.evicted_before = -math.inf
        self._counters = dict.fromkeys((figure.key for figure in COUNTERS), 0)
        self.wait_total = self.wait_max = 0.0
        # Counters, the open count and the lent set; never held across I/O. Reentrant:
        # SQLAlchemy may close a collected connection (our close event) at any moment.
        self._lock = threading.RLock()
        self._open = 0  # connections opened and not yet closed or abandoned
        # Checkouts lent and not yet returned for real (parked ones included).
        self._lent: weakref.WeakSet[Checkout] = weakref.WeakSet()
        self._orphans: list[int] = []  # take-backs of collected checkouts, to add up
        self.resets_session = config.reset_on_return == "session"
        if self.resets_session and not hooks.can_reset_session:
            raise ValueError(f"pool {self.name!r}: the driver cannot reset a session")
        # Hands out the right to a connection in arrival order (see gate.py).
        bounded = config.bounded
        self.gate = FairGate(config.pool_size + config.max_overflow) if bounded else None
        # While fewer permits than this are free, more than POOL_SIZE are out:
        # the connection a permit goes with is an overflow connection.
        self.overflow_below = config.max_overflow if bounded else 0
        # How long after parking a take-back has nothing for _revive() to do: no
        # ping is due (_ping_if_in_doubt), nor the socket poll or check; never,
        # when the leak clock must restart at every take-back. park() uses it.
        if config.leak_timeout:
            self.unchecked_for = -1.0
        elif config.pre_ping:
            self.unchecked_for = min(config.ping_interval, liveness.POLL_BYPASS)
        else:
            self.unchecked_for = liveness.POLL_BYPASS
        self.pool = QueuePool(
            self._connect,
            pool_size=config.pool_size,
            max_overflow=config.max_overflow,
            timeout=config.timeout,
            recycle=-1,  # RECYCLE, with its jitter, is ours: _on_checkout and _revive
            use_lifo=config.use_lifo,
            echo=config.echo,
            logging_name=self.name,
            reset_on_return=None,  # give_back() cleans; _on_reset covers collected ones
        )
        self.parking = ParkingLot(self)
        event.listen(self.pool, "connect", self._on_connect)
        event.listen(self.pool, "reset", self._on_reset)
        event.listen(self.pool, "checkin", self._on_checkin)
        event.listen(self.pool, "invalidate", self._on_invalidate)
        event.listen(self.pool, "close", self._on_close)
        event.listen(self.pool, "close_detached", self._on_close)
        event.listen(self.pool, "checkout", self._on_checkout)

    def __repr__(self) -> str:
        return (
            f"<PoolEntry {self.name!r} database={self.config.database!r} {self.describe_state()}>"
        )

    # What the pool reports (figures.py names each figure).

    def state(self) -> dict[str, int]:
        """Return the connections now: open, checked out, idle, overflow in use, waiting."""
        # SQLAlchemy's own figures count the empty slot a discarded connection
        # leaves in its queue: the pool counts the connections it opened and closed.
        open_now = self._open
        checked_out = self.pool.checkedout() - len(self.parking)  # parked ones are idle
        return {
            "open": open_now,
            "checked_out": checked_out,
            # A checkout still connecting counts as out before its connection opens.
            "idle": max(open_now - checked_out, 0),
            "overflow_in_use": max(open_now - self.config.pool_size, 0)
            if self.config.pool_size
            else 0,
            "waiting": self.waiting,
        }

    def describe_state(self) -> str:
        """Say state() in words, for logs."""
        now = self.state()
        return (
            f"{now['open']} open, {now['checked_out']} checked out, {now['idle']} idle, "
            f"{now['waiting']} waiting"
        )

    @property
    def counters(self) -> dict[str, int]:
        """Return the counters since the pool started, as a new dict."""
        with self._lock:
            counters = dict(self._counters)
            counters["checkouts"] += sum(c.takebacks for c in self._lent) + sum(self._orphans)
        return counters

    def lent(self) -> list[Checkout]:
        """Return the checkouts lent and not returned (parked ones are not)."""
        with self._lock:
            lent = list(self._lent)
        return [checkout for checkout in lent if checkout not in self.parking]

    @property
    def waiting(self) -> int:
        """Return how many requests wait for a connection now."""
        return self.gate.waiting if self.gate is not None else 0

    def _count(self, name: str) -> None:
        with self._lock:
            self._counters[name] += 1

    # SQLAlchemy's pool calls these.

    def _connect(self) -> Any:
        self.backoff.admit()  # raises Unreachable while the next attempt is not due
        try:
            connection = self._open_connection()
        except self._driver_error as error:
            self._count("connect_failures")
            if self.backoff.failed(self._redact(str(error))) and self.backoff.cap:
                logger.warning(
                    "pool %r: cannot connect to %s; while this lasts, one attempt at a time, "
                    "at most every RECONNECT_BACKOFF=%ss, and other checkouts fail at once",
                    self.name,
                    self.config.where,
                    self.backoff.cap,
                )
            raise
        outage = self.backoff.succeeded()
        if outage is not None:
            logger.warning(
                "pool %r: connected to %s again after %.2fs (%d failed attempts, "
                "%d checkouts failed at once)",
                self.name,
                self.config.where,
                time.monotonic() - outage.since,
                outage.failures,
                outage.refused,
            )
        fork.track(connection)
        with self._lock:
            self._counters["connections_opened"] += 1
            self._open += 1
        logger.info("pool %r: opened a new connection to %s", self.name, self.config.where)
        return connection

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        record.info[SOCKET] = liveness.socket_identity(dbapi_connection)
        record.info[OPENED_AT] = time.monotonic()
        # Only a connection that could write is evicted when its server turns
        # read-only: an alias pointed at a standby on purpose is left alone.
        record.info[WRITABLE] = not self.hooks.read_only(dbapi_connection)
        recycle = self.config.recycle
        if recycle != -1:
            cut = recycle * RECYCLE_JITTER * _jitter.random()
            record.info[EXPIRES_AT] = time.monotonic() + recycle - cut

    def _on_reset(self, dbapi_connection: Any, record: Any, state: Any) -> None:
        # give_back() cleaned it already; otherwise SQLAlchemy is returning the
        # connection of a checkout that was garbage collected. Raising makes it
        # discard the connection.
        if record is None or state.terminate_only or record.info.pop(CLEANED, False):
            return
        if self.hooks.broken(dbapi_connection):
            raise sa_exc.DisconnectionError("the driver closed it")
        self.clean(dbapi_connection, record.info)

    def _on_close(self, dbapi_connection: Any, record: Any = None) -> None:
        with self._lock:
            self._open -= 1

    def _on_checkin(self, dbapi_connection: Any, record: Any) -> None:
        record.info[RETURNED_AT] = time.monotonic()

    def _on_invalidate(self, dbapi_connection: Any, record: Any, error: Any) -> None:
        if isinstance(error, Recycled):  # its time, not a fault
            logger.info("pool %r: replacing a connection past RECYCLE", self.name)
            return
        self._count("invalidations")
        if record.info.get(OPENED_AT, math.inf) <= self.evicted_before:
            # soft_evict() said why, once for them all.
            logger.info("pool %r: closed a connection opened before a soft eviction", self.name)
            return
        cause = f"{type(error).__name__}: {self._redact(str(error))}" if error else "closed"
        logger.warning(
            "pool %r: discarded a connection to %s (%s)", self.name, self.config.where, cause
        )

    def _on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get(RETURNED_AT)
        if returned_at is None:  # a brand-new connection
            return
        now = time.monotonic()
        if now > record.info.get(EXPIRES_AT, now):
            raise Recycled("past RECYCLE")
        if record.info.get(OPENED_AT, math.inf) <= self.evicted_before:
            raise Evicted("opened before its server turned read-only")
        if not self.config.pre_ping:
            return
        error = self._ping_if_in_doubt(dbapi_connection, now - returned_at, record)
        if isinstance(error, Evicted):
            raise error
        if error is not None:
            raise sa_exc.DisconnectionError(f"failed its ping: {error}") from error

    def _ping_if_in_doubt(self, dbapi_connection: Any, idle: float, owner: Any) -> Exception | None:
        """Ping a connection idle for long or that may be dead; return the failure.

        `owner` has the connection's info (its record, or its checkout's fairy).
        A server that answers but turned read-only is a failure too (Evicted).
        """
        if idle < self.config.ping_interval and (
            idle < liveness.POLL_BYPASS or not self.hooks.may_be_dead(dbapi_connection)
        ):
            return None
        try:
            self.hooks.ping(dbapi_connection)
            if self.hooks.transaction_open(dbapi_connection):  # the ping's own (autocommit off)
                self.hooks.rollback(dbapi_connection)
        except Exception as error:
            return error
        if self._turned_read_only(dbapi_connection, owner):
            return Evicted("its server is read-only now")
        return None

    def _turned_read_only(self, dbapi_connection: Any, owner: Any) -> bool:
        """Return whether a connection opened writable talks to a read-only server now.

        Asked on every return and after a ping, without a round trip (the
        driver's last report, hooks.read_only). If so, soft-evict it and the
        other connections opened until now: they may talk to the same server.
        """
        if not self.hooks.read_only(dbapi_connection) or not owner.info.get(WRITABLE):
            return False
        self.soft_evict(owner.info[OPENED_AT], "the server reports it is read-only")
        return True

    @staticmethod
    def _check_socket(dbapi_connection: Any, opened: tuple[int, int] | None) -> None:
        """Raise SocketReplaced unless the connection still has the socket it opened."""
        if opened is None:
            return
        try:
            now = liveness.socket_identity(dbapi_connection)
        except OSError as error:
            raise SocketReplaced(f"its descriptor was closed ({error})") from error
        if now != opened:
            raise SocketReplaced("its descriptor now refers to another file or socket")

    # Lending.

    def checkout(self) -> Checkout:
        """Lend a connection, or raise the config's PoolTimeout, TooManyRequests or PoolError."""
        config = self.config
        started = time.monotonic()
        if self.gate is not None:
            if self.gate.try_acquire():
                admitted: bool | None = True
                # Within POOL_SIZE, the queue lends an idle connection or opens
                # one: a parked connection taken over instead would leave its
                # own thread to take over another at its next request, and so
                # on, at every request. Beyond POOL_SIZE, take over a parked
                # connection rather than open an overflow one (closed when returned).
                if (
                    self.gate.free < self.overflow_below
                    and len(self.parking)
                    and not self.pool.checkedin()
                ):
                    taken = self._take_parked()
                    if taken is not None:
                        self.gate.release()  # the parked connection holds its own permit
                        self._record_wait(time.monotonic() - started, "checkouts")
                        return taken
            else:
                taken = self._take_parked()
                if taken is not None:
                    self._record_wait(time.monotonic() - started, "checkouts")
                    return taken
                admitted = self.gate.acquire(
                    config.timeout, config.max_waiting, self.parking.hand_to_waiter
                )
            if admitted is None:
                self._record_wait(time.monotonic() - started, "refused")
                raise config.errors.too_many_requests(
                    self.describe(f"MAX_WAITING={config.max_waiting} requests already wait")
                )
            if not admitted:
                self._record_wait(time.monotonic() - started, "timeouts")
                raise config.errors.timeout(
                    self.describe(f"none returned within TIMEOUT={config.timeout}s")
                )
        try:
            fairy = self.pool.connect()
        except BaseException as error:
            if self.gate is not None:
                self.gate.release()
            if isinstance(error, sa_exc.TimeoutError):  # unbounded pools only
                self._count("timeouts")
                raise config.errors.timeout(
                    self.describe(f"none returned within TIMEOUT={config.timeout}s")
                ) from error
            if isinstance(error, Unreachable):
                self._count("connects_skipped")
                raise config.errors.pool_error(
                    f"Pool {self.name!r} did not try to connect to {config.where}: {error}"
                ) from None
            if isinstance(error, sa_exc.SQLAlchemyError):
                raise config.errors.pool_error(
                    f"Pool {self.name!r} could not lend a connection: {error}"
                ) from error
            if isinstance(error, self._driver_error):
                raise config.errors.pool_error(
                    f"Pool {self.name!r} could not connect to {config.where}: "
                    f"{self._redact(str(error)).strip()}"
                ) from error
            raise
        waited = time.monotonic() - started
        checkout = Checkout(self, fairy)
        self._record_wait(waited, "checkouts", checkout)
        slow = config.slow_checkout
        if slow is not None and waited > slow:
            logger.warning(
                "pool %r: waited %.2fs for a connection (SLOW_CHECKOUT=%ss); %s",
                self.name,
                waited,
                slow,
                self.describe_state(),
            )
        return checkout

    def _record_wait(self, waited: float, outcome: str, lent: Checkout | None = None) -> None:
        with self._lock:
            self._counters[outcome] += 1
            self.wait_total += waited
            self.wait_max = max(self.wait_max, waited)
            if lent is not None:
                self._lent.add(lent)
        for observe in wait_observers:
            self._observe(observe, waited)

    def _observe(self, observe: Callable[[str, float], None], waited: float) -> None:
        try:
            observe(self.name, waited)
        except Exception:  # a metrics bug must not fail or leak the checkout
            logger.exception("pool %r: wait observer %r failed", self.name, observe)

    def reclaim(self, checkout: Checkout) -> bool:
        """Take back a connection its holder parked; False if it is gone or unfit."""
        if not self.parking.claim(checkout):
            return False
        now = time.monotonic()
        # Before fresh_until (see ParkingLot.park), _revive() would find nothing to do.
        if (
            now >= checkout.fresh_until or self.retired or checkout.opened_at <= self.evicted_before
        ) and not self._revive(checkout, now):
            return False
        checkout.takebacks += 1  # a checkout that waited for nothing
        if wait_observers:
            for observe in wait_observers:
                self._observe(observe, 0.0)
        return True

    def _revive(self, checkout: Checkout, now: float) -> bool:
        """Check a parked connection before it is lent again; return it for real if unfit."""
        if self.retired or now > checkout.expires_at or checkout.opened_at <= self.evicted_before:
            # Retired or evicted, give_back() closes it; SQLAlchemy recycles it when next lent.
            self.give_back(checkout, reusable=True)
            return False
        try:
            self._check_socket(checkout.dbapi_connection, checkout.socket)
        except SocketReplaced as replaced:
            self._abandon(checkout, replaced)
            return False
        if self.config.pre_ping:
            error = self._ping_if_in_doubt(
                checkout.dbapi_connection, now - checkout.parked_at, checkout.fairy
            )
            if error is not None:
                self.give_back(checkout, reusable=False)
                return False
        if self.config.leak_timeout:  # the leak clock: only the LEAK_TIMEOUT watcher reads it
            checkout.lend(now)
        return True

    def _take_parked(self) -> Checkout | None:
        """Take over a connection another holder parked, if there is a fit one."""
        while (checkout := self.parking.take_any()) is not None:
            if self._revive(checkout, time.monotonic()):
                return checkout
        return None

    # The return path.

    def give_back(self, checkout: Checkout, reusable: bool, park: bool = False) -> bool:
        """Return a connection, cleaned; parked for its holder if `park` allows; True if parked.

        The one way back into the pool: a reusable connection is cleaned first
        (clean()); one that cannot be, or whose server turned read-only, is
        discarded; one whose descriptor was closed behind the driver's back is
        abandoned, never closed. A clean one is parked (STICKY) or goes back to
        SQLAlchemy's queue.
        """
        connection = checkout.dbapi_connection
        if self.hooks.broken(connection):  # the driver closed it: nothing to clean or check
            self._checkin(checkout, reusable=False)
            return False
        if reusable and (
            checkout.opened_at <= self.evicted_before
            or self._turned_read_only(connection, checkout.fairy)
        ):
            reusable = False  # lent again, it would fail every write (soft eviction)
        try:
            if reusable:
                try:
                    self.clean(connection, checkout.fairy.info)
                except SocketReplaced:
                    raise
                except Exception as error:
                    logger.info(
                        "pool %r: could not clean a returned connection, discarding it (%s: %s)",
                        self.name,
                        type(error).__name__,
                        self._redact(str(error)),
                    )
                    reusable = False
                else:
                    # Parking checks no descriptor: fstat() costs 2 µs here, on every
                    # request; a parked connection is checked when it is taken (_revive).
                    if park and self.parking.park(checkout):
                        return True
            # Closing the connection, or handing it to SQLAlchemy's queue: be sure first.
            self._check_socket(connection, checkout.socket)
        except SocketReplaced as error:
            self._abandon(checkout, error)
            return False
        self._checkin(checkout, reusable)
        return False

    def clean(self, dbapi_connection: Any, info: dict[str, Any]) -> None:
        """Leave no transaction open and autocommit as configured; raise if that fails.

        A transaction is rolled back unless the driver proves none is open
        (hooks.transaction_open() says False only then); with
        RESET_ON_RETURN="session" the session is reset too. Anything sent to the
        server goes only after the descriptor is found to be the connection's own.
        """
        hooks = self.hooks
        rollback = hooks.transaction_open(dbapi_connection)
        autocommit = hooks.autocommit(dbapi_connection) not in (None, self.config.autocommit)
        if not (rollback or autocommit or self.resets_session):
            return
        self._check_socket(dbapi_connection, info.get(SOCKET))
        if rollback:
            hooks.rollback(dbapi_connection)
            self._count("rollbacks_on_return")
            if ROLLED_BACK not in info:
                info[ROLLED_BACK] = True
                logger.info(
                    "pool %r: a connection came back with a transaction that may be open; "
                    "rolled it back (said once per connection; stats: rollbacks_on_return)",
                    self.name,
                )
        if autocommit:
            hooks.set_autocommit(dbapi_connection, self.config.autocommit)
        if self.resets_session:
            hooks.reset_session(dbapi_connection)
            info.pop(INITIALIZED, None)  # the owner's set-up runs again next time

    def _checkin(self, checkout: Checkout, reusable: bool) -> None:
        """Hand a connection to SQLAlchemy: pooled if reusable, else closed for good.

        Only give_back() calls this, having cleaned a reusable connection:
        SQLAlchemy's reset event is told so.
        """
        fairy = checkout.fairy
        self._returned(checkout)
        try:
            if not reusable:
                fairy.invalidate()
            elif self.retired:
                fairy.detach()
                fairy.close()
            else:
                fairy.info[CLEANED] = True
                fairy.close()
        finally:
            # Only now, with an overflow connection really closed, may a waiter
            # open another: the server never sees more than the bound.
            if self.gate is not None:
                self.gate.release()

    def _abandon(self, checkout: Checkout, error: Exception) -> None:
        """Let go of a connection without closing it: its descriptor is someone else's now."""
        self._returned(checkout)
        with self._lock:
            self._open -= 1  # out of the count, though never closed
        _abandoned.append(checkout.dbapi_connection)
        # Its descriptor number is someone else's now: a forked child must not
        # point it at /dev/null either.
        fork.forget(checkout.dbapi_connection)
        self._count("invalidations")
        logger.warning(
            "pool %r: discarded a connection to %s without closing it: %s",
            self.name,
            self.config.where,
            error,
        )
        try:
            checkout.fairy.detach()  # out of SQLAlchemy's pool, and never closed by it
        finally:
            if self.gate is not None:
                self.gate.release()

    def _returned(self, checkout: Checkout) -> None:
        checkout.returned = True
        with self._lock:
            self._counters["checkouts"] += checkout.takebacks
            checkout.takebacks = 0
            self._lent.discard(checkout)

    def orphaned(self, checkout: Checkout) -> None:
        """Account for a checkout collected without a return (Checkout.__del__): takes no lock."""
        self._orphans.append(checkout.takebacks)  # list.append: one step, lock-free
        if self.gate is not None:
            self.gate.release_later()

    # Telling and ending.

    def describe(self, problem: str) -> str:
        """Say why the pool is out of connections, with its state."""
        config = self.config
        return (
            f"Pool {self.name!r} ({config.where}) is exhausted: {problem}; "
            f"{self.pool.checkedout()} connections checked out, {self.waiting} waiting "
            f"(POOL_SIZE={config.pool_size}, MAX_OVERFLOW={config.max_overflow}, "
            f"TIMEOUT={config.timeout}s)."
        )

    def soft_evict(self, opened_at: float, reason: str) -> None:
        """Discard every connection opened until now: a connection opened at `opened_at` saw why.

        For a server that turned read-only: one error per process, not one per
        pooled connection. Parked connections are closed now, queued ones when
        next taken from the queue (before being lent, without a round trip),
        checked-out ones when returned. Nothing happens if the connection that
        saw it was evicted already (by another that saw the same).
        """
        with self._lock:
            if opened_at <= self.evicted_before:
                return
            # Not just those opened before the one that saw it: any of them may
            # talk to the same server.
            self.evicted_before = time.monotonic()
            self._counters["evictions"] += 1
        logger.warning(
            "pool %r: %s; discarding the connections to %s opened before (soft eviction; %s)",
            self.name,
            reason,
            self.config.where,
            self.describe_state(),
        )
        self.parking.drain(self.evicted_before)

    def retire(self) -> None:
        """Close the idle and parked connections; the checked-out ones close on return."""
        self.retired = True
        self.parking.drain()
        self.pool.dispose()

    def _redact(self, text: str) -> str:
        secret = self.config.secret
        return text.replace(secret, "********") if secret else text
