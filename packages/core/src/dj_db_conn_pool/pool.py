"""PoolEntry: one named SQLAlchemy pool and what the pool adds around it."""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

from . import fork, liveness, options
from .exceptions import PoolError, PoolTimeout
from .gate import FairGate
from .parking import ParkingLot

if TYPE_CHECKING:
    from .mixin import PooledDatabaseWrapperMixin

logger = logging.getLogger("dj_db_conn_pool")

# Keys of the pool's per-connection info dict, which lives as long as the
# physical connection and is emptied when SQLAlchemy replaces it.
RETURNED_AT = "dj_db_conn_pool.returned_at"
OPENED_AT = "dj_db_conn_pool.opened_at"
INITIALIZED = "dj_db_conn_pool.initialized"
SOCKET = "dj_db_conn_pool.socket"  # liveness.socket_identity() at connect
CLEANED = "dj_db_conn_pool.cleaned"  # give_back() cleaned it: SQLAlchemy's reset need not
ROLLED_BACK = "dj_db_conn_pool.rolled_back"  # a return needed a rollback (logged once)

# Driver connections whose descriptor was closed behind the driver's back: never
# closed by the pool, whose close would hit whatever socket reuses the number.
_abandoned: list[Any] = []


class SocketReplaced(Exception):
    """The connection's descriptor no longer refers to the socket it opened."""


# Called with (alias, seconds waited) after every checkout, served or not: the
# Prometheus collector's histogram (prometheus.py) registers here.
wait_observers: list[Callable[[str, float], None]] = []


class Checkout:
    """A connection lent to a wrapper: what it came from, since when, and from where."""

    __slots__ = (
        "__weakref__",
        "dbapi_connection",
        "entry",
        "fairy",
        "fresh_until",
        "opened_at",
        "parked_at",
        "reported",
        "returned",
        "since",
        "socket",
        "stack",
    )

    def __init__(self, entry: PoolEntry, fairy: PoolProxiedConnection) -> None:
        self.entry = entry
        self.fairy = fairy
        # Fixed for the whole loan: read once rather than through the fairy each time.
        self.dbapi_connection = fairy.dbapi_connection
        self.opened_at: float = fairy.info.get(OPENED_AT, time.monotonic())
        self.socket: tuple[int, int] | None = fairy.info.get(SOCKET)
        self.parked_at = self.fresh_until = 0.0
        self.returned = False
        self.lend()

    def __del__(self) -> None:
        # Never returned: its thread ended without closing. SQLAlchemy returns the
        # connection itself; give its place in the gate back too.
        if not self.returned and self.entry.gate is not None:
            self.entry.gate.release_later()

    def lend(self, now: float | None = None) -> None:
        """Start a new loan: reset the leak clock, and note the stack if leaks are watched."""
        self.since = time.monotonic() if now is None else now
        self.reported = False
        self.stack = "".join(traceback.format_stack(limit=14)) if self.entry.leak_timeout else None


class PoolEntry:
    """One SQLAlchemy pool, for one alias and one set of connection settings."""

    def __init__(self, wrapper: PooledDatabaseWrapperMixin, conn_params: dict[str, Any]) -> None:
        settings_dict = wrapper.settings_dict
        self.alias = wrapper.alias
        self.database = settings_dict.get("NAME")
        self.options = opts = options.resolve(settings_dict.get("POOL_OPTIONS"), self.alias)
        self.retired = False
        self._counters = dict.fromkeys(
            (
                "checkouts",
                "connections_opened",
                "invalidations",
                "timeouts",
                "refused",
                "rollbacks_on_return",
            ),
            0,
        )
        # Checkouts that took back a parked connection, counted without a lock:
        # next() of an itertools.count is one C call, which the GIL keeps whole.
        self._takebacks = itertools.count()
        self.wait_total = self.wait_max = 0.0
        self._lock = threading.Lock()  # this pool's counters; never held across I/O
        self._where = (
            f"database {self.database!r} on {settings_dict.get('HOST') or 'localhost'!r} "
            f"as {settings_dict.get('USER')!r}"
        )
        self._password = settings_dict.get("PASSWORD") or ""
        # A private copy of the wrapper, made from today's settings, opens the
        # physical connections; Django's later in-place edits of the live
        # wrapper's settings (test databases) then route to a new pool instead.
        self.factory = wrapper.copy()
        self._conn_params = dict(conn_params)
        self.engine = type(wrapper)
        # What Django sets on every connection it opens, and expects of one it is lent.
        self.autocommit = bool(settings_dict.get("AUTOCOMMIT", True))
        self._reset_session = (
            self.engine.pool_reset_session if opts["RESET_ON_RETURN"] == "session" else None
        )
        self.resets_session = opts["RESET_ON_RETURN"] == "session"
        if self.resets_session and self._reset_session is None:
            raise ImproperlyConfigured(
                f"DATABASES[{self.alias!r}]['POOL_OPTIONS']['RESET_ON_RETURN'] = 'session' "
                f"is not supported by ENGINE {settings_dict.get('ENGINE')!r}; use 'rollback'."
            )
        bounded = opts["POOL_SIZE"] > 0 and opts["MAX_OVERFLOW"] >= 0
        # Hands out the right to a connection in arrival order (see gate.py).
        self.gate = FairGate(opts["POOL_SIZE"] + opts["MAX_OVERFLOW"]) if bounded else None
        # While fewer permits than this are free, more than POOL_SIZE are out:
        # the connection a permit goes with is an overflow connection.
        self.overflow_below = opts["MAX_OVERFLOW"] if bounded else 0
        # Options read on every take-back, as attributes rather than dict lookups.
        self.sticky = opts["STICKY"]
        self.leak_timeout = opts["LEAK_TIMEOUT"]
        # RECYCLE as the age past which a parked connection is not lent (-1: none).
        self.max_age = float("inf") if opts["RECYCLE"] == -1 else opts["RECYCLE"]
        self._pre_ping = opts["PRE_PING"]
        self._ping_interval = opts["PING_INTERVAL"]
        # How long after parking a take-back has nothing for _revive() to do: no
        # ping is due (_ping_if_in_doubt), nor the socket poll; never, when the
        # leak clock must restart at every take-back. ParkingLot.park() uses it.
        if self.leak_timeout:
            self.unchecked_for = -1.0
        elif self._pre_ping:
            self.unchecked_for = min(self._ping_interval, liveness.POLL_BYPASS)
        else:
            self.unchecked_for = float("inf")
        self.pool = QueuePool(
            self._connect,
            pool_size=opts["POOL_SIZE"],
            max_overflow=opts["MAX_OVERFLOW"],
            timeout=opts["TIMEOUT"],
            recycle=opts["RECYCLE"],
            use_lifo=opts["USE_LIFO"],
            echo=opts["ECHO"],
            logging_name=self.alias,
            reset_on_return=None,  # _on_reset rolls back only an open transaction
        )
        self.parking = ParkingLot(self)
        event.listen(self.pool, "connect", self._on_connect)
        event.listen(self.pool, "reset", self._on_reset)
        event.listen(self.pool, "checkin", self._on_checkin)
        event.listen(self.pool, "invalidate", self._on_invalidate)
        if opts["PRE_PING"]:
            event.listen(self.pool, "checkout", self._on_checkout)

    def __repr__(self) -> str:
        return f"<PoolEntry {self.alias!r} database={self.database!r} {self.describe_state()}>"

    def state(self) -> dict[str, int]:
        """Return the connections now: open, checked out, idle, overflow in use, waiting."""
        pool = self.pool
        parked = len(self.parking)  # idle, though SQLAlchemy counts them checked out
        return {
            "open": pool.size() + pool.overflow(),
            "checked_out": pool.checkedout() - parked,
            "idle": pool.checkedin() + parked,
            "overflow_in_use": max(pool.overflow(), 0),
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
        # repr() is how an itertools.count tells its next value without taking it.
        counters["checkouts"] += int(repr(self._takebacks)[6:-1])
        return counters

    def _count(self, name: str) -> None:
        with self._lock:
            self._counters[name] += 1

    # SQLAlchemy's pool calls these.

    def _connect(self) -> Any:
        connection = self.factory.new_raw_connection(self._conn_params)
        fork.track(connection)
        self._count("connections_opened")
        logger.info("pool %r: opened a new connection to %s", self.alias, self._where)
        return connection

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        record.info[OPENED_AT] = time.monotonic()
        record.info[SOCKET] = liveness.socket_identity(dbapi_connection)

    def _on_reset(self, dbapi_connection: Any, record: Any, state: Any) -> None:
        # give_back() cleaned it already; otherwise SQLAlchemy is returning the
        # connection of a checkout that was garbage collected. Raising makes it
        # discard the connection.
        if record is None or state.terminate_only or record.info.pop(CLEANED, False):
            return
        self.clean(dbapi_connection, record.info)

    def _on_checkin(self, dbapi_connection: Any, record: Any) -> None:
        record.info[RETURNED_AT] = time.monotonic()

    def _on_invalidate(self, dbapi_connection: Any, record: Any, error: Any) -> None:
        self._count("invalidations")
        cause = f"{type(error).__name__}: {self._redact(str(error))}" if error else "closed"
        logger.warning("pool %r: discarded a connection to %s (%s)", self.alias, self._where, cause)

    def _on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get(RETURNED_AT)
        if returned_at is None:  # a brand-new connection
            return
        error = self._ping_if_in_doubt(dbapi_connection, time.monotonic() - returned_at)
        if error is not None:
            raise sa_exc.DisconnectionError(f"failed its ping: {error}") from error

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

    def _ping_if_in_doubt(self, dbapi_connection: Any, idle: float) -> Exception | None:
        """Ping a connection idle for long or that may be dead; return the failure."""
        if idle < self._ping_interval and (
            idle < liveness.POLL_BYPASS or not self.engine.pool_may_be_dead(dbapi_connection)
        ):
            return None
        try:
            self.engine.pool_ping(dbapi_connection)
        except Exception as error:
            return error
        return None

    # The return path.

    def give_back(self, checkout: Checkout, reusable: bool, park: bool = False) -> bool:
        """Return a connection, cleaned; parked for its owner if `park` allows; True if parked.

        The one way back into the pool: a reusable connection is cleaned first
        (clean()); one that cannot be is discarded; one whose descriptor was
        closed behind the driver's back is abandoned, never closed. A clean one
        is parked (STICKY) or goes back to SQLAlchemy's queue.
        """
        connection = checkout.dbapi_connection
        try:
            if reusable:
                try:
                    self.clean(connection, checkout.fairy.info)
                except SocketReplaced:
                    raise
                except Exception as error:
                    logger.info(
                        "pool %r: could not clean a returned connection, discarding it (%s: %s)",
                        self.alias,
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
        """Leave no transaction open and autocommit as Django sets it; raise if that fails.

        A transaction is rolled back unless the driver proves none is open
        (pool_transaction_open() says False only then); with
        RESET_ON_RETURN="session" the session is reset too. Anything sent to the
        server goes only after the descriptor is found to be the connection's own.
        """
        engine = self.engine
        rollback = engine.pool_transaction_open(dbapi_connection)
        autocommit = engine.pool_autocommit(dbapi_connection) not in (None, self.autocommit)
        if not (rollback or autocommit or self._reset_session is not None):
            return
        self._check_socket(dbapi_connection, info.get(SOCKET))
        if rollback:
            engine.pool_rollback(dbapi_connection)
            self._count("rollbacks_on_return")
            if ROLLED_BACK not in info:
                info[ROLLED_BACK] = True
                logger.info(
                    "pool %r: a connection came back with a transaction that may be open; "
                    "rolled it back (said once per connection; stats: rollbacks_on_return)",
                    self.alias,
                )
        if autocommit:
            engine.pool_set_autocommit(dbapi_connection, self.autocommit)
        if self._reset_session is not None:
            self._reset_session(dbapi_connection)
            info.pop(INITIALIZED, None)  # Django's set-up runs again next time

    def _abandon(self, checkout: Checkout, error: Exception) -> None:
        """Let go of a connection without closing it: its descriptor is someone else's now."""
        checkout.returned = True
        _abandoned.append(checkout.dbapi_connection)
        self._count("invalidations")
        logger.warning(
            "pool %r: discarded a connection to %s without closing it: %s",
            self.alias,
            self._where,
            error,
        )
        try:
            checkout.fairy.detach()  # out of SQLAlchemy's pool, and never closed by it
        finally:
            if self.gate is not None:
                self.gate.release()

    # The wrapper calls these.

    def reclaim(self, checkout: Checkout) -> bool:
        """Take back a connection this wrapper parked; False if it is gone or unfit."""
        if not self.parking.claim(checkout):
            return False
        now = time.monotonic()
        # Before fresh_until (see ParkingLot.park), _revive() would find nothing to do.
        if (now >= checkout.fresh_until or self.retired) and not self._revive(checkout, now):
            return False
        # A checkout that waited for nothing: count it, lock-free (see counters).
        next(self._takebacks)
        if wait_observers:
            for observe in wait_observers:
                self._observe(observe, 0.0)
        return True

    def _revive(self, checkout: Checkout, now: float) -> bool:
        """Check a parked connection before it is lent again; return it for real if unfit."""
        if self.retired or now - checkout.opened_at > self.max_age:
            self.give_back(checkout, reusable=True)  # SQLAlchemy recycles it when it is next lent
            return False
        try:
            self._check_socket(checkout.dbapi_connection, checkout.socket)
        except SocketReplaced as replaced:
            self._abandon(checkout, replaced)
            return False
        if self._pre_ping:
            error = self._ping_if_in_doubt(checkout.dbapi_connection, now - checkout.parked_at)
            if error is not None:
                self.give_back(checkout, reusable=False)
                return False
        if self.leak_timeout:  # the leak clock: only the LEAK_TIMEOUT watcher reads it
            checkout.lend(now)
        return True

    def _take_parked(self) -> Checkout | None:
        """Take over a connection another wrapper parked, if there is a fit one."""
        while (checkout := self.parking.take_any()) is not None:
            if self._revive(checkout, time.monotonic()):
                return checkout
        return None

    def checkout(self) -> Checkout:
        """Lend a connection, or raise PoolTimeout or PoolError."""
        opts = self.options
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
                    opts["TIMEOUT"], opts["MAX_WAITING"], self.parking.hand_to_waiter
                )
            if not admitted:
                refused = admitted is None
                self._record_wait(time.monotonic() - started, "refused" if refused else "timeouts")
                raise PoolTimeout(
                    self.describe(
                        f"MAX_WAITING={opts['MAX_WAITING']} requests already wait"
                        if refused
                        else f"none returned within TIMEOUT={opts['TIMEOUT']}s"
                    )
                )
        try:
            fairy = self.pool.connect()
        except BaseException as error:
            if self.gate is not None:
                self.gate.release()
            if isinstance(error, sa_exc.TimeoutError):  # unbounded pools only
                self._count("timeouts")
                raise PoolTimeout(
                    self.describe(f"none returned within TIMEOUT={opts['TIMEOUT']}s")
                ) from error
            if isinstance(error, sa_exc.SQLAlchemyError):
                raise PoolError(
                    f"Pool {self.alias!r} could not lend a connection: {error}"
                ) from error
            if isinstance(error, self.factory.Database.Error):
                raise PoolError(
                    f"Pool {self.alias!r} could not connect to {self._where}: "
                    f"{self._redact(str(error)).strip()}"
                ) from error
            raise
        waited = time.monotonic() - started
        self._record_wait(waited, "checkouts")
        slow = opts["SLOW_CHECKOUT"]
        if slow is not None and waited > slow:
            logger.warning(
                "pool %r: waited %.2fs for a connection (SLOW_CHECKOUT=%ss); %s",
                self.alias,
                waited,
                slow,
                self.describe_state(),
            )
        return Checkout(self, fairy)

    def _record_wait(self, waited: float, outcome: str) -> None:
        with self._lock:
            self._counters[outcome] += 1
            self.wait_total += waited
            self.wait_max = max(self.wait_max, waited)
        for observe in wait_observers:
            self._observe(observe, waited)

    def _observe(self, observe: Callable[[str, float], None], waited: float) -> None:
        try:
            observe(self.alias, waited)
        except Exception:  # a metrics bug must not fail or leak the checkout
            logger.exception("pool %r: wait observer %r failed", self.alias, observe)

    @property
    def waiting(self) -> int:
        """Return how many requests wait for a connection now."""
        return self.gate.waiting if self.gate is not None else 0

    def _checkin(self, checkout: Checkout, reusable: bool) -> None:
        """Return a connection to SQLAlchemy: pooled if reusable, else closed for good.

        Only give_back() calls this, having cleaned a reusable connection:
        SQLAlchemy's reset event is told so.
        """
        fairy = checkout.fairy
        checkout.returned = True
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

    def describe(self, problem: str) -> str:
        """Say why the pool is out of connections, with its state."""
        opts = self.options
        return (
            f"Pool {self.alias!r} ({self._where}) is exhausted: {problem}; "
            f"{self.pool.checkedout()} connections checked out, {self.waiting} waiting "
            f"(POOL_SIZE={opts['POOL_SIZE']}, MAX_OVERFLOW={opts['MAX_OVERFLOW']}, "
            f"TIMEOUT={opts['TIMEOUT']}s)."
        )

    def retire(self) -> None:
        """Close the idle and parked connections; the checked-out ones close on return."""
        self.retired = True
        self.parking.drain()
        self.pool.dispose()

    def _redact(self, text: str) -> str:
        return text.replace(self._password, "********") if self._password else text
