"""Fork safety: a child never talks to the server over a socket it inherited.

Closing an inherited driver connection the usual way would send the server a
goodbye message over the socket the parent still uses, ending the parent's
session. So the child first points the socket's file descriptor at /dev/null,
then closes the connection: the message goes nowhere and the parent's socket
stays open.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

_opened: weakref.WeakSet[Any] = weakref.WeakSet()


def track(dbapi_connection: Any) -> None:
    """Remember a driver connection that this process opened."""
    _opened.add(dbapi_connection)


def forget(dbapi_connection: Any) -> None:
    """Stop tracking a connection whose descriptor is no longer its own (never touch it)."""
    _opened.discard(dbapi_connection)


def drop_inherited() -> None:
    """Close every tracked connection without touching the parent's sessions."""
    connections = list(_opened)
    _opened.clear()
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for connection in connections:
            try:
                fd = connection.fileno()
            except Exception:  # already closed: nothing is shared
                continue
            os.dup2(devnull, fd)
            try:
                connection.close()
            except Exception:  # the driver may complain about the dead socket
                pass
    finally:
        os.close(devnull)
