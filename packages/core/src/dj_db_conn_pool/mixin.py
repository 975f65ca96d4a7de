"""The mixin that makes a Django DatabaseWrapper borrow from a pool."""

from __future__ import annotations

import contextlib
import copy
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.db.utils import DatabaseErrorWrapper
from django.utils.asyncio import async_unsafe
from django.utils.functional import cached_property

from . import options, thread_exit
from .container import pool_container
from .hooks import DriverHooks
from .pool import INITIALIZED, WRITABLE, Checkout, PoolEntry


class _PoolErrorWrapper(DatabaseErrorWrapper):
    """Django's translation of driver errors, which first shows the error to the pool."""

    wrapper: PooledDatabaseWrapperMixin

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        if exc_type is None:  # every query: as cheap as Django's own
            return
        self.wrapper.pool_database_error(exc_value)
        super().__exit__(exc_type, exc_value, traceback)


class PooledDatabaseWrapperMixin:
    """Check the connection out of a pool in connect(); return it in close().

    Put it before Django's own DatabaseWrapper for the engine. Everything else
    (features, operations, schema editor) stays Django's.
    """

    # Wrapper attributes that Django's get_new_connection() sets, copied from
    # the pool's connection factory on every checkout.
    pool_shared_state: tuple[str, ...] = ()

    # The connection this wrapper holds, if it came from a pool.
    pool_checkout: Checkout | None = None
    # Whether the next _close() may keep the connection for reuse: True inside
    # close(), False when Django closes it as unusable, None when _close() is
    # called on its own (as Django's tests do to emulate a dropped connection).
    _pool_keep: bool | None = None
    # Set by get_new_connection() when the connection has had Django's set-up.
    _pool_skip_init = False
    # The connection this wrapper parked at its last close() (STICKY). Weak: once
    # another thread takes it over, this wrapper must not keep it alive.
    _pool_parked: weakref.ref[Checkout] | None = None
    # Dozing (STICKY): where Django would close the connection at the end of a
    # request, a clean connection is parked but stays on the wrapper, so that
    # the next request skips connect() and close(), as with a held connection.
    # Every read of self.connection, Django's or the user's, first takes it
    # back (_pool_wake), or finds that another thread took it over and reads None.
    _pool_dozing = False
    _pool_conn: Any = None
    # Inside connect(): whether it may take back the parked connection, then
    # whether it did (so that Django's set-up for a new connection can be skipped).
    _pool_taking_back = False
    _pool_took_back = False
    # The pool found for this wrapper's settings: (container generation, a copy
    # of settings_dict, timezone_name, USE_TZ, entry), so that a checkout with
    # unchanged settings compares them instead of building pool_key().
    _pool_seen: tuple[int, dict[str, Any], Any, bool, PoolEntry] | None = None

    # Annotations for what the DatabaseWrapper beneath provides.
    if TYPE_CHECKING:
        alias: str
        settings_dict: dict[str, Any]
        errors_occurred: bool
        health_check_enabled: bool
        health_check_done: bool
        autocommit: bool
        _thread_ident: int
        run_commit_hooks_on_set_autocommit_on: bool
        run_on_commit: list[Any]
        in_atomic_block: bool
        timezone_name: str

        def copy(self, alias: str | None = None) -> Any: ...

        def validate_thread_sharing(self) -> None: ...

    def __init__(self, settings_dict: dict[str, Any], alias: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(settings_dict, alias)  # type: ignore[call-arg]
        options.resolve(self.settings_dict.get("POOL_OPTIONS"), alias)
        if (self.settings_dict.get("OPTIONS") or {}).get("pool"):
            raise ImproperlyConfigured(
                f"DATABASES[{alias!r}]['OPTIONS']['pool'] turns on Django's own "
                f"connection pool, which cannot be combined with ENGINE "
                f"{self.settings_dict.get('ENGINE')!r}. Remove OPTIONS['pool'] and "
                f"size the pool with POOL_OPTIONS, or use Django's stock ENGINE."
            )

    @property
    def connection(self) -> Any:
        """The driver connection, as in Django; a dozing one is taken back first."""
        if self._pool_dozing:
            self._pool_wake()
        return self._pool_conn

    @connection.setter
    def connection(self, value: Any) -> None:
        self._pool_dozing = False
        self._pool_conn = value

    # What the pool asks the driver (hooks.py); an engine names its own subclass.
    pool_hooks: type[DriverHooks] = DriverHooks

    # Pool lifecycle.

    def pool_key(self) -> tuple[Any, ...]:
        """Return what identifies this wrapper's pool: alias and connection settings."""
        s = self.settings_dict
        return (
            self.alias,
            s.get("NAME"),
            s.get("USER"),
            s.get("PASSWORD"),
            s.get("HOST"),
            s.get("PORT"),
            repr(s.get("OPTIONS")),
            repr(s.get("POOL_OPTIONS")),
            s.get("AUTOCOMMIT"),  # what the pool restores on return
            self.timezone_name,
            settings.USE_TZ,
        )

    def new_raw_connection(self, conn_params: dict[str, Any]) -> Any:
        """Open a physical connection the way Django's stock backend does."""
        return super().get_new_connection(conn_params)  # type: ignore[misc]

    def _pool_entry(self, conn_params: dict[str, Any]) -> PoolEntry:
        """Return the pool for this wrapper's settings as they are now."""
        seen = self._pool_seen
        if (
            seen is not None
            and seen[0] == pool_container.stamp()
            and seen[1] == self.settings_dict  # Django's test set-up edits it in place
            and seen[2] == self.timezone_name
            and seen[3] == settings.USE_TZ
        ):
            return seen[4]
        if self._pool_taking_back:  # connect() went without them; a new pool needs them
            self._pool_taking_back = False
            conn_params = self.get_connection_params()
        generation = pool_container.generation
        entry = pool_container.get(self, conn_params)
        try:
            snapshot = copy.deepcopy(self.settings_dict)
        except Exception:  # OPTIONS holds something that cannot be copied: no shortcut
            self._pool_seen = None
        else:
            self._pool_seen = (generation, snapshot, self.timezone_name, settings.USE_TZ, entry)
        return entry

    def connect(self) -> None:
        self._pool_taking_back = self._pool_parked is not None
        try:
            super().connect()  # type: ignore[misc]
        finally:
            self._pool_taking_back = self._pool_took_back = False

    def get_connection_params(self) -> dict[str, Any]:
        # Parameters only serve to open a connection, and the pool keeps its own
        # copy: connect() about to take back a parked connection goes without.
        if self._pool_taking_back:
            return {}
        return super().get_connection_params()  # type: ignore[misc,no-any-return]

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        entry = self._pool_entry(conn_params)
        parked = self._pool_parked() if self._pool_parked is not None else None
        self._pool_parked = None
        if parked is not None and parked.entry is entry and entry.reclaim(parked):
            # Its own connection: its shared state is copied already.
            self.pool_checkout = parked
            self._pool_took_back = True
            self._pool_skip_init = bool(parked.fairy.info.get(INITIALIZED))
            return parked.fairy.driver_connection
        checkout = entry.checkout()
        self.pool_checkout = checkout
        pool_container.holders.add(self)  # stays while parked: see pool_forget()
        if self._thread_ident == threading.get_ident():  # not a thread it is shared with
            thread_exit.release_at_exit(self)
        for name in self.pool_shared_state:  # the pool's context is the wrapper copy it opens with
            setattr(self, name, getattr(entry.context, name))
        # Django's session set-up runs once per physical connection, not per checkout.
        self._pool_skip_init = bool(checkout.fairy.info.get(INITIALIZED))
        return checkout.fairy.driver_connection

    def set_autocommit(
        self, autocommit: bool, force_begin_transaction_with_broken_autocommit: bool = False
    ) -> None:
        # connect() sets autocommit as configured; a taken-back connection has it
        # already unless the last request changed it (then Django sets it again).
        if (
            self._pool_took_back
            and autocommit == self.autocommit
            and not self.run_commit_hooks_on_set_autocommit_on
        ):
            self._pool_took_back = False
            return
        super().set_autocommit(autocommit, force_begin_transaction_with_broken_autocommit)  # type: ignore[misc]

    def init_connection_state(self) -> None:
        if self._pool_skip_init:  # connect() of a connection that has had it
            self._pool_skip_init = False
            return
        super().init_connection_state()  # type: ignore[misc]
        if self.pool_checkout is not None:
            self.pool_checkout.fairy.info[INITIALIZED] = True

    @async_unsafe
    def close(self) -> None:
        if self._pool_dozing:  # parked already: let go of it without taking it back
            self.validate_thread_sharing()
            self.run_on_commit = []
            self.connection = None  # the next connect() may still take it back
            return
        with self._pool_closing(keep=True):
            super().close()  # type: ignore[misc]

    @contextlib.contextmanager
    def _pool_closing(self, keep: bool) -> Iterator[None]:
        """Tell the _close() inside the block whether it may keep the connection for reuse.

        The outermost block decides: close() called from a block that said False
        (unusable, failed health check) must not say True again.
        """
        outer = self._pool_keep
        self._pool_keep = keep if outer is None else outer
        try:
            yield
        finally:
            self._pool_keep = outer

    def close_if_health_check_failed(self) -> None:
        # Called before every cursor: return at once where Django's own check does.
        # Django calls it right after ensure_connection(), which woke a dozing
        # connection: the attribute beneath the property will do.
        if self._pool_conn is None or not self.health_check_enabled or self.health_check_done:
            return
        # A close from here means the health check failed: do not lend it again.
        with self._pool_closing(keep=False):
            super().close_if_health_check_failed()  # type: ignore[misc]

    def close_if_unusable_or_obsolete(self) -> None:
        # Django calls this at the start and end of every request. The pool, not
        # the wrapper, keeps connections open: whatever CONN_MAX_AGE says, the
        # connection goes back now. One that Django would not trust (autocommit
        # left changed, or errors and no longer usable) is discarded; a clean one
        # dozes, or goes back for real where it cannot.
        if self._pool_dozing or self._pool_conn is None:  # nothing to look at
            return
        # As in Django: the next request's first query runs the health check
        # (CONN_HEALTH_CHECKS), unless the errors' check below just ran.
        self.health_check_done = False
        if (
            self.autocommit == self.settings_dict["AUTOCOMMIT"]
            and not self.in_atomic_block
            and not self.run_on_commit
            and (not self.errors_occurred or self._pool_usable())
        ):
            if self.errors_occurred:
                self.errors_occurred = False
                self.health_check_done = True
            if self.pool_checkout is not None:
                self._pool_doze()
            else:
                self.close()
            return
        with self._pool_closing(keep=False):
            self.close()

    def _pool_doze(self) -> None:
        """Return a clean connection, keeping it on the wrapper if it was parked."""
        checkout = self.pool_checkout
        assert checkout is not None
        self.pool_checkout = None
        if checkout.entry.give_back(checkout, reusable=True, park=True):
            self._pool_parked = weakref.ref(checkout)
            self._pool_dozing = True
        else:  # back in the queue, or discarded: the next use connects, as after close()
            self.connection = None

    def _pool_wake(self) -> None:
        """Take back the dozing connection, or let go of it if another thread took it."""
        self._pool_dozing = False
        ref = self._pool_parked
        if ref is None:  # a thread sharing this wrapper (allow_thread_sharing) woke it
            return
        self._pool_parked = None
        parked = ref()
        # Like a held connection, it keeps the settings it was opened with: whoever
        # edits settings_dict in place closes the connection, as Django does.
        if parked is None or not parked.entry.reclaim(parked):  # taken over, or unfit
            self._pool_conn = None  # Django's next use connects, as after close()
            return
        self.pool_checkout = parked

    def _close(self) -> None:
        if self._pool_dozing:  # Django's tests call _close() alone, to break a connection
            self._pool_wake()
        checkout = self.pool_checkout
        if checkout is None:
            super()._close()  # type: ignore[misc]
            return
        self.pool_checkout = None
        # Closed inside atomic(), Django keeps using self.connection and expects
        # it to fail: so close it for real instead of lending it to someone else.
        reusable = (
            bool(self._pool_keep)
            and not self.in_atomic_block
            and not (self.errors_occurred and not self._pool_usable())
        )
        with self.wrap_database_errors:
            if checkout.entry.give_back(checkout, reusable, park=True):
                self._pool_parked = weakref.ref(checkout)

    @cached_property
    def wrap_database_errors(self) -> DatabaseErrorWrapper:
        return _PoolErrorWrapper(self)

    def pool_database_error(self, error: BaseException) -> None:
        """Soft-evict the pool's connections if the server refused a write as read-only.

        The server turned read-only (a primary demoted in place, say): the
        connections opened until now may talk to it, and would fail their next
        write. Not for a connection opened read-only on purpose.
        """
        checkout = self.pool_checkout
        if (
            checkout is not None
            and self.pool_hooks.read_only_error(error)
            and checkout.fairy.info.get(WRITABLE)
        ):
            checkout.entry.soft_evict(checkout.opened_at, "a write was refused as read-only")

    def _pool_usable(self) -> bool:
        """Return whether a connection that met errors may be lent again (a round trip)."""
        return not self.pool_hooks.broken(self.connection) and bool(self.is_usable())  # type: ignore[attr-defined]

    def pool_thread_ended(self) -> None:
        """Give back this wrapper's connection, parked or held: its thread has ended.

        Not a wrapper shared with other threads (allow_thread_sharing): they may
        still use it, and one of them closes it.
        """
        if self.allow_thread_sharing:  # type: ignore[attr-defined]
            return
        self._pool_dozing = False
        ref, self._pool_parked = self._pool_parked, None
        parked = ref() if ref is not None else None
        if parked is not None and parked.entry.parking.claim(parked):
            parked.entry.give_back(parked, reusable=True)  # to the queue now
        checkout, self.pool_checkout = self.pool_checkout, None
        self._pool_conn = None
        if checkout is not None:
            checkout.entry.give_back(checkout, reusable=True)

    def close_pool(self) -> None:
        """Retire this alias's pools, wherever Django closes its own pool."""
        pool_container.close_alias(self.alias)
        close_own_pool = getattr(super(), "close_pool", None)
        if close_own_pool is not None:  # PostgreSQL: Django's pool, if one was made
            close_own_pool()

    def ensure_timezone(self) -> bool:
        # Connections are set up for one time zone; new ones get the new zone.
        self.close_pool()
        return super().ensure_timezone()  # type: ignore[misc,no-any-return]

    def pool_forget(self) -> None:
        """Drop the checkout without returning it (a forked child's copy)."""
        self.pool_checkout = self._pool_parked = self._pool_seen = None
        self.connection = None
