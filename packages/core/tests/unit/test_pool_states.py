"""Random sequences of pool operations over the fake driver, with invariants after each step.

Several holders (what Django's wrappers are to the pool) check out, dirty,
break, park, take back and give back connections; the server kills some, a
careless library replaces a descriptor, the pool is retired. After every step:
no connection is lent to two holders, the counts add up, the bound holds, the
gate's permits are all accounted for; every connection handed out is clean.

A failure prints the steps, and `@reproduce_failure(...)` to replay it
exactly; `pytest --hypothesis-seed=N` (or `@seed(N)` on the class's
TestCase) replays a whole run.
"""

from __future__ import annotations

import gc
import os
import socket

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from dj_db_conn_pool import backoff, liveness, maintenance, parking, pool
from dj_db_conn_pool.config import PoolConfig
from dj_db_conn_pool.errors import PoolError, TooManyRequests
from dj_db_conn_pool.pool import Checkout, PoolEntry

from .fakedb import Connection, FakeDriver, FakeHooks

HOLDERS = 3
PING_INTERVAL = 10.0
RECYCLE = 60.0


class Clock:
    """The pool's time.monotonic(), moved only by the time_passes rule: runs replay exactly."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


holder = st.integers(min_value=0, max_value=HOLDERS - 1)


class PoolStates(RuleBasedStateMachine):
    """The pool as its holders and the server see it."""

    @initialize(
        pool_size=st.integers(min_value=1, max_value=3),
        max_overflow=st.integers(min_value=0, max_value=2),
        autocommit=st.booleans(),
        sockets=st.booleans(),
        sticky=st.booleans(),
        warm=st.floats(min_value=0, max_value=1),
        idle_timeout=st.sampled_from([None, PING_INTERVAL / 2]),
    )
    def start(
        self,
        pool_size: int,
        max_overflow: int,
        autocommit: bool,
        sockets: bool,
        sticky: bool,
        warm: float,
        idle_timeout: float | None,
    ) -> None:
        self.clock = Clock()
        self.saved = (pool.time, parking.time, maintenance.time, backoff.time, pool.RECYCLE_JITTER)
        pool.time = parking.time = maintenance.time = backoff.time = self.clock  # type: ignore[assignment]
        pool.RECYCLE_JITTER = 0  # each connection expires exactly RECYCLE after it opened
        self.driver = FakeDriver(autocommit=autocommit, sockets=sockets)
        # MAX_WAITING=0: a checkout past the bound is refused at once, so one
        # thread can play every holder.
        self.config = PoolConfig(
            name="states",
            autocommit=autocommit,
            pool_size=pool_size,
            max_overflow=max_overflow,
            timeout=0.01,
            ping_interval=PING_INTERVAL,
            recycle=RECYCLE,
            max_waiting=0,
            sticky=sticky,
            slow_checkout=None,
            min_size=round(warm * pool_size),
            idle_timeout=idle_timeout,
        )
        self.entry = self.new_entry()
        self.held: list[Checkout | None] = [None] * HOLDERS
        self.parked: list[Checkout | None] = [None] * HOLDERS
        self.abandoned: set[int] = set()  # Connection.number: left open on purpose
        self.strangers: list[socket.socket] = []

    def new_entry(self) -> PoolEntry:
        return PoolEntry(
            self.config, self.driver.connect, hooks=FakeHooks, driver_error=FakeDriver.Error
        )

    def teardown(self) -> None:
        if hasattr(self, "entry"):
            self.held = [None] * HOLDERS
            self.parked = [None] * HOLDERS
            self.entry.retire()
            self.driver.close_all()
            for stranger in self.strangers:
                stranger.close()
            (pool.time, parking.time, maintenance.time, backoff.time, pool.RECYCLE_JITTER) = (  # type: ignore[assignment]
                self.saved
            )

    # What holders do.

    def lend(self, who: int, checkout: Checkout) -> None:
        connection = checkout.dbapi_connection
        assert not connection.closed, "lent a closed connection"
        assert not connection.in_transaction, "lent with a transaction open"
        assert connection.autocommit is self.config.autocommit, "lent in the wrong mode"
        self.forget_parked_gone()
        self.held[who] = checkout

    def forget_parked_gone(self) -> None:
        """Drop parked connections no longer in the lot: taken over, or discarded on the way."""
        for other in range(HOLDERS):
            parked = self.parked[other]
            if parked is not None and parked not in self.entry.parking:
                self.parked[other] = None

    @rule(who=holder)
    def checkout(self, who: int) -> None:
        if self.held[who] is not None:
            return
        parked, self.parked[who] = self.parked[who], None
        if parked is not None and self.entry.reclaim(parked):
            self.lend(who, parked)
            return
        try:
            checkout = self.entry.checkout()
        except TooManyRequests:
            assert self.permits_out() == self.capacity
            return
        except PoolError:
            # Refused, or not tried: a connect failed and the next is not due (backoff.py).
            assert self.driver.refuse is not None or self.entry.backoff.outage is not None
            return
        finally:
            # Others' parked connections it found unfit were returned for real
            # (expired, or their descriptor replaced): their holders lost them.
            self.forget_parked_gone()
        self.lend(who, checkout)

    @rule(
        who=holder,
        park=st.booleans(),
        usable=st.booleans(),
        dirty=st.sampled_from(["", "query", "transaction", "autocommit", "both"]),
    )
    def give_back(self, who: int, park: bool, usable: bool, dirty: str) -> None:
        """Use the held connection, maybe leaving it dirty, and give it back."""
        checkout, self.held[who] = self.held[who], None
        if checkout is None:
            return
        connection = checkout.dbapi_connection
        if dirty and not connection.closed and not connection.killed:
            connection.execute("BEGIN" if dirty in ("transaction", "both") else "SELECT 1")
        if dirty in ("autocommit", "both"):
            connection.autocommit = not connection.autocommit
        # As the Django wrapper decides: a closed or failing connection is not reusable.
        reusable = usable and not FakeHooks.broken(connection)
        if self.entry.give_back(checkout, reusable, park=park):
            self.parked[who] = checkout

    @rule(who=holder)
    def driver_closes(self, who: int) -> None:
        connection = self.connection_of(who)
        if connection is not None:
            connection.close()

    @rule(who=holder)
    def thread_ends(self, who: int) -> None:
        """Give back what the holder has, parked or held, as pool_thread_ended() does."""
        parked, self.parked[who] = self.parked[who], None
        if parked is not None and self.entry.parking.claim(parked):
            self.entry.give_back(parked, reusable=True)
        checkout, self.held[who] = self.held[who], None
        if checkout is not None:  # reusable, even if the driver closed it: the pool tells
            self.entry.give_back(checkout, reusable=True)

    @rule(who=holder)
    def holder_collected(self, who: int) -> None:
        """Drop a held connection without returning it: the finalizers give it back."""
        checkout = self.held[who]
        if checkout is None:
            return
        del checkout
        self.held[who] = None
        if self.entry.state()["checked_out"] > sum(c is not None for c in self.held):
            gc.collect()  # a failed ping's traceback can keep it in a cycle a while

    @rule(who=holder)
    def descriptor_replaced(self, who: int) -> None:
        """Close the held connection's descriptor behind the driver; a stranger gets its number."""
        connection = self.connection_of(who)
        if connection is None or connection.closed or not self.driver.sockets:
            return
        stranger, peer = socket.socketpair()
        self.strangers += [stranger, peer]
        os.dup2(stranger.fileno(), connection.fileno())
        self.abandoned.add(connection.number)

    # What the server and the clock do.

    @rule(data=st.data())
    def server_kills(self, data: st.DataObject) -> None:
        alive = [c for c in self.driver.open_connections() if not c.killed]
        if alive:
            data.draw(st.sampled_from(alive)).kill()

    @rule(refuse=st.booleans())
    def server_refuses(self, refuse: bool) -> None:
        self.driver.refuse = FakeDriver.Error("too many clients") if refuse else None

    @rule(
        seconds=st.sampled_from(
            [liveness.POLL_BYPASS / 2, liveness.POLL_BYPASS * 2, PING_INTERVAL + 1, RECYCLE + 1]
        )
    )
    def time_passes(self, seconds: float) -> None:
        """Move the clock: within the poll bypass, past it, past PING_INTERVAL, past RECYCLE."""
        self.clock.now += seconds

    @rule()
    def maintenance_passes(self) -> None:
        """The maintenance thread's pass (MIN_SIZE, IDLE_TIMEOUT): parked ones it took are gone."""
        maintenance.tend(self.entry)
        self.forget_parked_gone()  # their holders' next checkout finds them gone
        gate = self.entry.gate
        assert gate is not None
        # Unless refused, or backing off (backoff.py), or no permit is free.
        if (
            self.driver.refuse is None
            and self.entry.backoff.outage is None
            and self.entry.counters["checkouts"]
        ):
            assert self.entry.state()["open"] >= self.config.min_size or not gate.free

    @rule()
    def retire(self) -> None:
        """Retire the pool, as Django's close_pool() does; holders give back; a new pool starts."""
        self.entry.retire()
        self.parked = [None] * HOLDERS
        for who in range(HOLDERS):
            self.thread_ends(who)
        still_open = {c.number for c in self.driver.open_connections()} - self.abandoned
        assert not still_open, f"retired pool left connections open: {still_open}"
        self.entry = self.new_entry()

    # Helpers.

    def connection_of(self, who: int) -> Connection | None:
        checkout = self.held[who]
        return checkout.dbapi_connection if checkout is not None else None

    @property
    def capacity(self) -> int:
        return self.config.pool_size + self.config.max_overflow

    def permits_out(self) -> int:
        gate = self.entry.gate
        assert gate is not None
        return gate.capacity - gate.free - len(gate._orphans)

    # After every step.

    @invariant()
    def no_connection_is_lent_twice(self) -> None:
        out = [c for c in self.held + self.parked if c is not None]
        connections = [c.dbapi_connection for c in out]
        assert len({id(c) for c in connections}) == len(connections)

    @invariant()
    def idle_connections_are_clean(self) -> None:
        queued = [record.dbapi_connection for record in self.entry.pool._pool.queue]
        parked = [checkout.dbapi_connection for checkout in self.entry.parking._parked]
        for connection in queued + parked:
            if connection is None or connection.closed:  # reconnects when next lent
                continue
            assert not connection.in_transaction, f"{connection} idle in a transaction"
            assert connection.autocommit is self.config.autocommit, f"{connection} mode"

    @invariant()
    def the_pool_lends_what_the_holders_hold(self) -> None:
        held = {id(c) for c in self.held if c is not None}
        assert {id(c) for c in self.entry.lent()} == held

    @invariant()
    def counts_add_up(self) -> None:
        state = self.entry.state()
        assert state["checked_out"] + state["idle"] == state["open"]
        assert state["checked_out"] == sum(c is not None for c in self.held)
        assert state["open"] <= self.capacity

    @invariant()
    def the_server_never_sees_more_than_the_bound(self) -> None:
        open_now = {c.number for c in self.driver.open_connections()} - self.abandoned
        assert len(open_now) <= self.capacity

    @invariant()
    def every_permit_is_accounted_for(self) -> None:
        gate = self.entry.gate
        assert gate is not None
        assert gate.free + len(gate._orphans) <= gate.capacity
        out = sum(c is not None for c in self.held + self.parked)
        # Parked ones whose holder lost track stay in the lot, holding a permit.
        assert self.permits_out() == out + self.unowned_parked()
        assert self.entry.pool.checkedout() == self.permits_out()

    def unowned_parked(self) -> int:
        owned = {id(c) for c in self.parked if c is not None}
        return sum(id(c) not in owned for c in self.entry.parking._parked)


TestPoolStates = PoolStates.TestCase
TestPoolStates.settings = settings(
    max_examples=int(os.environ.get("POOL_STATES_EXAMPLES", "200")),
    stateful_step_count=50,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
