"""stats(): each alias's pool figures as plain data."""

from __future__ import annotations

from typing import Any

from .container import pool_container

_SUMMED = (
    "open",
    "checked_out",
    "idle",
    "overflow_in_use",
    "waiting",
    "checkouts",
    "connections_opened",
    "invalidations",
    "timeouts",
    "refused",
    "rollbacks_on_return",
    "wait_total",
)


def stats(alias: str | None = None) -> dict[str, dict[str, Any]]:
    """Return, per alias, its pools' sizes, state now and counters since they started.

    An alias can have several pools (one per set of connection settings, such as
    test databases); their figures are added up and their databases listed.
    """
    result: dict[str, dict[str, Any]] = {}
    for entry in pool_container.entries():
        if alias is not None and entry.alias != alias:
            continue
        figures: dict[str, Any] = {
            **entry.state(),
            **entry.counters,
            "wait_total": entry.wait_total,
        }
        mine = result.get(entry.alias)
        if mine is None:
            result[entry.alias] = {
                "pool_size": entry.options["POOL_SIZE"],
                "max_overflow": entry.options["MAX_OVERFLOW"],
                "databases": [entry.database],
                **figures,
                "wait_max": entry.wait_max,
            }
            continue
        mine["databases"].append(entry.database)
        mine["wait_max"] = max(mine["wait_max"], entry.wait_max)
        for name in _SUMMED:
            mine[name] += figures[name]
    return result
