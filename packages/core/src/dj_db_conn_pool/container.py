"""PoolContainer: the per-process registry of pools, and its fork and exit handling."""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from . import credentials, fork, leaks, maintenance, options
from .exceptions import DJANGO_ERRORS
from .pool import PoolEntry

if TYPE_CHECKING:
    from .mixin import PooledDatabaseWrapperMixin


class PoolContainer:
    """Hold this process's pools, keyed by alias and connection settings."""

    def __init__(self) -> None:
        self._pools: dict[tuple[Any, ...], PoolEntry] = {}
        self._lock = threading.Lock()  # taken only to create or retire pools
        self._pid = os.getpid()
        # Changes whenever pools are retired or forgotten: wrappers that remember
        # their pool (mixin.py) look it up again.
        self.generation = 0
        # Wrappers that hold a checkout or may have one parked: for leak reports,
        # and so that a forked child can let go of them.
        self.holders: weakref.WeakSet[PooledDatabaseWrapperMixin] = weakref.WeakSet()
        self._inherited: list[Any] = []

    def stamp(self) -> int:
        """Return the generation, having noticed a fork that skipped os.register_at_fork."""
        if self._pid != os.getpid():  # forked by C code, say
            self.after_fork_in_child()
        return self.generation

    def get(self, wrapper: PooledDatabaseWrapperMixin, conn_params: dict[str, Any]) -> PoolEntry:
        """Return the pool for this wrapper's current settings, creating it once."""
        self.stamp()
        key = wrapper.pool_key()
        entry = self._pools.get(key)
        if entry is None:
            with self._lock:
                entry = self._pools.get(key)
                if entry is None:
                    entry = self._pools[key] = _new_pool(wrapper, conn_params)
            if entry.config.leak_timeout:
                leaks.watch(self.entries)
            if entry.config.min_size or entry.config.idle_timeout is not None:
                maintenance.watch(entry)
        return entry

    def close_alias(self, alias: str) -> None:
        """Retire every pool of this alias (Django's close_pool())."""
        with self._lock:
            keys = [key for key, entry in self._pools.items() if entry.name == alias]
            retired = [self._pools.pop(key) for key in keys]
            self.generation += 1
        for entry in retired:
            entry.retire()

    def close_all(self) -> None:
        """Retire every pool of this process."""
        with self._lock:
            retired = list(self._pools.values())
            self._pools.clear()
            self.generation += 1
        for entry in retired:
            entry.retire()

    def entries(self) -> list[PoolEntry]:
        """Return the live pools."""
        return list(self._pools.values())

    def after_fork_in_child(self) -> None:
        """Forget the parent's pools and connections without closing its sessions."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.generation += 1
        # Keep the parent's objects alive: their finalizers would take locks that
        # another parent thread may have held at the fork.
        self._inherited.append((self._pools, list(self.holders)))
        for wrapper in list(self.holders):
            wrapper.pool_forget()
        self._pools = {}
        self.holders = weakref.WeakSet()
        fork.drop_inherited()


def _new_pool(wrapper: PooledDatabaseWrapperMixin, conn_params: dict[str, Any]) -> PoolEntry:
    """Build the pool for a wrapper's settings as they are now."""
    config = options.pool_config(wrapper.alias, wrapper.settings_dict, DJANGO_ERRORS)
    hooks = wrapper.pool_hooks
    if config.reset_on_return == "session" and not hooks.can_reset_session:
        raise ImproperlyConfigured(
            f"DATABASES[{wrapper.alias!r}]['POOL_OPTIONS']['RESET_ON_RETURN'] = 'session' "
            f"is not supported by ENGINE {wrapper.settings_dict.get('ENGINE')!r}; use 'rollback'."
        )
    # A private copy of the wrapper, made from today's settings, opens the
    # physical connections; Django's later in-place edits of the live
    # wrapper's settings (test databases) then route to a new pool instead.
    factory = wrapper.copy()
    connect = credentials.connector(factory, conn_params, wrapper.alias)
    return PoolEntry(config, connect, hooks, factory.Database.Error, context=factory)


pool_container = PoolContainer()


def drain(alias: str | None = None) -> None:
    """Close this process's idle connections now, and the checked-out ones when returned.

    For one alias, or every one. New checkouts open fresh connections (a new
    pool). For deploy scripts and signal handlers: after a switch-over, a
    password change, or to hand server slots back.
    """
    if alias is None:
        pool_container.close_all()
    else:
        pool_container.close_alias(alias)


os.register_at_fork(after_in_child=pool_container.after_fork_in_child)
# Say goodbye to the servers at exit, rather than leaving them an unexpected EOF.
atexit.register(pool_container.close_all)
