"""Tell, without a round trip, whether an idle connection may have died."""

from __future__ import annotations

import select
from typing import Any


def socket_has_news(dbapi_connection: Any) -> bool:
    """Return True if the idle connection's socket is readable, or has none.

    An idle client socket has nothing to read unless the server closed it,
    killed the session or sent an error; a zero-timeout poll sees that in
    about a microsecond. News is not proof of death: the caller pings to be sure.
    """
    try:
        fd = dbapi_connection.fileno()
    except Exception:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
