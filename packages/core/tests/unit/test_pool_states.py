"""Random sequences of what holders do to a pool, with its invariants checked after each step.

A failing example prints the steps and how to replay it (Hypothesis's
`@reproduce_failure`, or `--hypothesis-seed=N` on the pytest command line).
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dj_db_conn_pool import errors, liveness
from dj_db_conn_pool.pool import Checkout

from .fakedb import make_pool

HOLDERS = st.integers(min_value=0, max_value=3)
POOL_SIZE, MAX_OVERFLOW = 2, 1


class PoolStates(RuleBasedStateMachine):
    """Four holders (wrappers, one thread each, taking turns) over one pool of 2 + 1."""

    def __init__(self) -> None:
        super().__init__()
        # No moment in which a parked connection is taken back unlooked-at: every
        # take-back polls its socket, so that no step depends on how long the one
        # before it took (a killed session is always seen; a healthy one is not pinged).
        self._bypass, liveness.POLL_BYPASS = liveness.POLL_BYPASS, 0.0
        self.entry, self.server = make_pool(
            pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, timeout=0.001, recycle=-1
        )
        self.held: dict[int, Checkout] = {}  # lent to the holder now
        self.parked: dict[int, Checkout] = {}  # parked by the holder (maybe taken over since)

    def _lend(self, holder: int, checkout: Checkout) -> None:
        connection = checkout.dbapi_connection
        assert not connection.in_transaction, "lent with a transaction open"
        assert connection.autocommit is True, "lent with autocommit off"
        assert not connection.killed, "lent after the server ended its session"
        assert all(c.dbapi_connection is not connection for c in self.held.values()), (
            "one connection lent to two holders"
        )
        self.held[holder] = checkout

    @rule(holder=HOLDERS)
    def checkout(self, holder: int) -> None:
        if holder in self.held:
            return
        parked = self.parked.pop(holder, None)
        if parked is not None and self.entry.reclaim(parked):  # as the wrapper's wake does
            self._lend(holder, parked)
            return
        try:
            checkout = self.entry.checkout()
        except errors.PoolTimeout:
            return
        # Django's connect() sets autocommit on whatever the queue or a take-over lends.
        checkout.dbapi_connection.autocommit = True
        self._lend(holder, checkout)

    @precondition(lambda self: self.held)
    @rule(data=st.data(), park=st.booleans())
    def give_back(self, data: Any, park: bool) -> None:
        holder = data.draw(st.sampled_from(sorted(self.held)))
        checkout = self.held.pop(holder)
        if self.entry.give_back(checkout, reusable=True, park=park):
            self.parked[holder] = checkout

    @precondition(lambda self: self.held)
    @rule(data=st.data(), how=st.sampled_from(["begin", "autocommit off", "broken"]))
    def misbehave(self, data: Any, how: str) -> None:
        holder = data.draw(st.sampled_from(sorted(self.held)))
        connection = self.held[holder].dbapi_connection
        if how == "begin":
            connection.execute("BEGIN")
        elif how == "autocommit off":
            connection.autocommit = False
            connection.execute("INSERT")
        else:  # the driver broke: returned as unusable
            self.entry.give_back(self.held.pop(holder), reusable=False)

    @rule(holder=HOLDERS)
    def holder_ends(self, holder: int) -> None:
        """What pool_thread_ended() does for a wrapper whose thread ended."""
        parked = self.parked.pop(holder, None)
        if parked is not None and self.entry.parking.claim(parked):
            self.entry.give_back(parked, reusable=True)
        held = self.held.pop(holder, None)
        if held is not None:
            self.entry.give_back(held, reusable=True)

    @precondition(lambda self: self.parked)
    @rule(data=st.data())
    def server_kills_a_parked_session(self, data: Any) -> None:
        holder = data.draw(st.sampled_from(sorted(self.parked)))
        checkout = self.parked[holder]
        connection = checkout.dbapi_connection
        # Still parked (not taken over since): the server ends it while it is idle.
        if checkout in self.entry.parking and not connection.closed and not connection.killed:
            connection.kill()

    @invariant()
    def the_bound_holds(self) -> None:
        assert len(self.server.open) <= POOL_SIZE + MAX_OVERFLOW

    @invariant()
    def permits_are_conserved(self) -> None:
        gate = self.entry.gate
        assert gate is not None
        assert gate.free + len(self.held) + len(self.entry.parking) == gate.capacity

    @invariant()
    def the_figures_add_up(self) -> None:
        state = self.entry.state()
        assert state["checked_out"] == len(self.held)
        assert state["idle"] >= len(self.entry.parking)

    def teardown(self) -> None:
        for checkout in list(self.held.values()):
            self.entry.give_back(checkout, reusable=True)
        self.entry.retire()
        liveness.POLL_BYPASS = self._bypass


# No example database: every run explores afresh, and a failure prints its blob to replay.
PoolStates.TestCase.settings = settings(
    max_examples=400, stateful_step_count=30, deadline=None, database=None, print_blob=True
)
test_pool_states = PoolStates.TestCase
