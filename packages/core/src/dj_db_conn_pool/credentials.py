"""CREDENTIALS: fresh settings (a rotated password, a cloud token) for each new connection.

The function named by POOL_OPTIONS["CREDENTIALS"] is called with the alias
whenever the pool opens a physical connection, never per checkout, and returns
DATABASES keys (usually {"PASSWORD": ...}, or USER, HOST, PORT, NAME, OPTIONS)
that replace the settings' own for that connection. The pool's key keeps the
settings as written, so a new password is not a new pool; connections already
open keep working.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .exceptions import PoolError


def load(alias: str, path: str) -> Callable[[str], Mapping[str, Any]]:
    """Import the CREDENTIALS function, or raise ImproperlyConfigured naming it."""
    where = f"DATABASES[{alias!r}]['POOL_OPTIONS']['CREDENTIALS'] = {path!r}"
    try:
        provider = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"{where} cannot be imported: {error}") from error
    if not callable(provider):
        raise ImproperlyConfigured(f"{where} is not callable: expected a function (alias) -> dict.")
    return provider  # type: ignore[no-any-return]


def connector(factory: Any, conn_params: dict[str, Any], alias: str) -> Callable[[], Any]:
    """Return what opens the pool's connections: with the settings' parameters, or fresh ones.

    `factory` is the pool's private wrapper copy; with CREDENTIALS its
    settings_dict takes what the function returns before Django computes the
    connection parameters again.
    """
    path = (factory.settings_dict.get("POOL_OPTIONS") or {}).get("CREDENTIALS")
    if path is None:
        return functools.partial(factory.new_raw_connection, dict(conn_params))
    provider = load(alias, path)
    lock = threading.Lock()  # one settings_dict, perhaps several connects at once

    def connect() -> Any:
        try:
            fresh = provider(alias)
            if not isinstance(fresh, Mapping):
                raise TypeError(f"it returned {type(fresh).__name__}, not a dict")
        except Exception as error:  # its message may hold a secret: named by type only
            raise PoolError(
                f"Pool {alias!r} could not get credentials from CREDENTIALS={path!r}: "
                f"{type(error).__name__}"
            ) from None
        with lock:
            factory.settings_dict.update(fresh)
            params = factory.get_connection_params()
        return factory.new_raw_connection(params)

    return connect
