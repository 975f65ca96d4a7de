"""Tell, without a round trip, whether an idle connection may have died or lost its socket."""

from __future__ import annotations

import os
import select
import threading
from typing import Any

_EVENTS = select.POLLIN | select.POLLPRI

# A connection parked less than this many seconds ago is lent without the
# socket poll: back-to-back requests of a busy thread skip a system call each
# (HikariCP skips its check within 500 ms likewise). A session killed within
# that moment fails its next query, as a held connection's would, and Django
# then discards the connection.
POLL_BYPASS = 0.001


class _Poller(threading.local):
    """Each thread's poll object, registered for the last socket it looked at.

    A thread usually checks its own parked connection, over and over: keeping
    the poll object saves making and registering one on every checkout.
    """

    fd = -1
    poller: Any = None


_mine = _Poller()


def socket_has_news(dbapi_connection: Any) -> bool:
    """Return True if the idle connection's socket is readable, or there is none to poll.

    An idle client socket has nothing to read unless the server closed it,
    killed the session or sent an error; a zero-timeout poll sees that in
    about a microsecond. News is not proof of death: the caller pings to be sure.
    """
    try:
        fd = dbapi_connection.fileno()  # asked every time: a closed connection raises
    except Exception:  # closed, or no socket to look at (JDBC): only a ping tells
        return True
    mine = _mine
    if fd != mine.fd:
        mine.poller = select.poll()
        mine.poller.register(fd, _EVENTS)
        mine.fd = fd
    return bool(mine.poller.poll(0))


def socket_identity(dbapi_connection: Any) -> tuple[int, int] | None:
    """Return what identifies the connection's socket (device, inode), or None without one.

    A descriptor number is reused as soon as it is closed: code that closes a
    connection's descriptor behind the driver's back (Celery's Django fixup does,
    in a new worker process) leaves the connection pointing at whatever socket
    gets that number next. The identity recorded at connect tells them apart.
    Raises OSError if the descriptor is closed.
    """
    try:
        fd = dbapi_connection.fileno()
    except Exception:  # no socket to look at (JDBC, oracledb thin)
        return None
    stat = os.fstat(fd)
    return stat.st_dev, stat.st_ino
