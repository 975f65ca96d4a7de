"""stats(): each alias's pool figures as plain data."""

from __future__ import annotations

from typing import Any

from .container import pool_container
from .figures import COUNTERS, STATE

# Added up over an alias's pools; wait_max is their maximum.
_SUMMED = (*(figure.key for figure in (*STATE, *COUNTERS)), "wait_total")


def stats(alias: str | None = None) -> dict[str, dict[str, Any]]:
    """Return, per alias, its pools' sizes, state now and counters since they started.

    An alias can have several pools (one per set of connection settings, such as
    test databases); their figures are added up and their databases listed.
    """
    result: dict[str, dict[str, Any]] = {}
    for entry in pool_container.entries():
        if alias is not None and entry.name != alias:
            continue
        figures: dict[str, Any] = {
            **entry.state(),
            **entry.counters,
            "wait_total": entry.wait_total,
        }
        mine = result.get(entry.name)
        if mine is None:
            result[entry.name] = {
                "pool_size": entry.config.pool_size,
                "max_overflow": entry.config.max_overflow,
                "databases": [entry.config.database],
                **figures,
                "wait_max": entry.wait_max,
            }
            continue
        mine["databases"].append(entry.config.database)
        mine["wait_max"] = max(mine["wait_max"], entry.wait_max)
        for name in _SUMMED:
            mine[name] += figures[name]
    return result
