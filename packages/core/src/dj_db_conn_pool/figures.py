"""The figures a pool reports, declared once: read by stats(), `dbpool` and Prometheus."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One figure: its stats() key, its Prometheus name (after the prefix) and what it means."""

    key: str
    metric: str
    help: str


# The connections now (PoolEntry.state()).
STATE = (
    Figure("open", "open_connections", "Connections the pool holds open, idle or checked out."),
    Figure("checked_out", "checked_out_connections", "Connections lent out now."),
    Figure("idle", "idle_connections", "Open connections waiting in the pool."),
    Figure("overflow_in_use", "overflow_connections", "Connections open beyond POOL_SIZE."),
    Figure("waiting", "waiting_requests", "Requests waiting for a connection now."),
)
# Counted since the pool started (PoolEntry.counters).
COUNTERS = (
    Figure("checkouts", "checkouts", "Connections lent."),
    Figure("connections_opened", "connections_opened", "Connections opened to the server."),
    Figure(
        "invalidations",
        "invalidations",
        "Connections closed instead of pooled: broken, failed their ping, returned "
        "inside atomic() or unusable after a database error, or whose socket was replaced.",
    ),
    Figure("timeouts", "timeouts", "Checkouts that waited TIMEOUT in vain (PoolTimeout)."),
    Figure(
        "refused",
        "refused",
        "Checkouts refused at once: MAX_WAITING requests already waited (TooManyRequests).",
    ),
    Figure(
        "rollbacks_on_return",
        "rollbacks_on_return",
        "Returns that rolled back a transaction that may have been open.",
    ),
    Figure(
        "evictions",
        "evictions",
        "Soft evictions: the server turned read-only under a connection (a write refused, "
        "or the driver's report), so the connections opened before it were discarded.",
    ),
    Figure(
        "connect_failures",
        "connect_failures",
        "Attempts to open a connection that the server or the network refused.",
    ),
    Figure(
        "connects_skipped",
        "connects_skipped",
        "Checkouts that failed at once, without a connect attempt: the last one failed and "
        "the next is not due (RECONNECT_BACKOFF).",
    ),
    Figure(
        "idle_closed",
        "idle_closed",
        "Connections closed after IDLE_TIMEOUT idle, above MIN_SIZE.",
    ),
)
# The configured sizes, which stats() reports beside the figures above.
SIZES = (
    Figure("pool_size", "pool_size", "POOL_SIZE: connections kept open."),
    Figure(
        "max_overflow", "max_overflow", "MAX_OVERFLOW: extra connections under load (-1: no limit)."
    ),
)
