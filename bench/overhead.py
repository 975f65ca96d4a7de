"""Where our pool's per-request time goes: single thread, in one process.

    DJPOOL_BENCH_DATABASE='{"ENGINE": "dj_db_conn_pool.backends.mysql", ...}' \\
        python bench/overhead.py [--requests 20000]

Three measures of the micro benchmark's request (micro.py), each on the same
server from the same process:
1. µs per request through the raw driver, Django's stock backend with a held
   connection, the same backend made to connect() and close() every request
   around one kept driver connection (the floor of any pool that gives the
   connection back at the end of a request), and the pool (alias "pooled";
   also with USE_LIFO=True), each pool first filled to POOL_SIZE connections,
   blocks taking turns;
2. wall time spent inside each step of the pooled request (Django's connect()
   and close(), the pool's checkout and checkin, SQLAlchemy's pool, the
   events), measured by wrapping those functions, no profiler;
3. cProfile's view of the pooled loop, restricted to dj_db_conn_pool,
   SQLAlchemy and Django's database layer.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import inspect
import json
import os
import pstats
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connections
from micro import configure

POOLED = ("pooled", "pooled, USE_LIFO=True")  # as configured, and the same lending the newest
# Django's stock backend made to connect() and close() around one kept driver
# connection: what any pool that gives the connection back at the end of each
# request pays before doing anything of its own.
FLOOR = "Django's connect()/close() alone"
TIMED = "pooled, timed"  # as configured, its pool made once the timers are in place
# Django's methods whose time is reported (where the pooled wrapper's classes define them).
DJANGO_STEPS = (
    "connect",
    "ensure_connection",
    "close",
    "_close",
    "close_if_unusable_or_obsolete",
    "get_connection_params",
    "get_new_connection",
    "set_autocommit",
    "_set_autocommit",
    "init_connection_state",
    "create_cursor",
)
PACKAGES = ("dj_db_conn_pool", "sqlalchemy", "django/db/", "django/dispatch", "django/utils/conn")


def request(alias: str) -> None:
    """micro.one_request() on one alias."""
    close_old_connections()
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    close_old_connections()


def raw_request(dbapi_connection: Any) -> None:
    """The same query through the driver alone: the floor."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SELECT 1")
    cursor.fetchone()
    cursor.close()


def per_request(step: Callable[[], None], requests: int) -> float:
    """Return the µs one call of `step` takes, over `requests` calls."""
    began = time.perf_counter()
    for _ in range(requests):
        step()
    return (time.perf_counter() - began) * 1e6 / requests


def fill(alias: str, size: int) -> None:
    """Have `size` threads hold a connection of `alias` at once, as a busy server's would.

    Single-threaded requests then meet a pool of `size` connections, the state
    a pool is in after any burst of load, rather than a pool of one.
    """
    barrier = threading.Barrier(size)

    def hold() -> None:
        connections[alias].ensure_connection()
        barrier.wait()
        connections[alias].close()

    threads = [threading.Thread(target=hold) for _ in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def connect_close_only(alias: str) -> None:
    """Make this thread's wrapper of `alias` connect() and close() around one driver connection."""
    wrapper = connections[alias]
    wrapper.ensure_connection()
    kept = wrapper.connection
    wrapper.get_new_connection = lambda conn_params: kept
    wrapper.init_connection_state = lambda: None
    wrapper._close = lambda: None
    wrapper.close()


def compare(requests: int, blocks: int = 10) -> dict[str, float]:
    """Return the median µs per request of each way, blocks of them taking turns."""
    connections["held"].ensure_connection()
    raw = connections["held"].connection  # the driver connection under "held"
    steps: dict[str, Callable[[], None]] = {
        "raw driver": lambda: raw_request(raw),
        "held connection": lambda: request("held"),
        FLOOR: lambda: request(FLOOR),
        **{alias: functools.partial(request, alias) for alias in POOLED},
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(blocks):
        for name, step in steps.items():
            times[name].append(per_request(step, requests // blocks))
    return {name: statistics.median(values) for name, values in times.items()}


class Timers:
    """Wrap functions to add up the wall time spent inside them (inclusive)."""

    def __init__(self) -> None:
        self.totals: dict[str, list[int]] = {}  # label: [nanoseconds, calls]

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Time `owner.name` (a function of a class or module) under `label`."""
        original = inspect.getattr_static(owner, name)
        static = isinstance(original, staticmethod)
        function = original.__func__ if static else original
        total = self.totals.setdefault(label, [0, 0])
        clock = time.perf_counter_ns

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = clock()
            try:
                return function(*args, **kwargs)
            finally:
                total[0] += clock() - began
                total[1] += 1

        setattr(owner, name, staticmethod(timed) if static else timed)

    def wrap_package(self, prefix: str) -> None:
        """Time every plain function and method of the loaded modules under `prefix`.

        Whatever the pool's code looks like today: no list to keep up to date.
        """
        for module_name, module in list(sys.modules.items()):
            if not module_name.startswith(prefix):
                continue
            for name, value in list(vars(module).items()):
                if inspect.isfunction(value) and value.__module__.startswith(prefix):
                    self.wrap(module, name, f"{value.__module__}.{value.__qualname__}")
                elif inspect.isclass(value) and value.__module__ == module_name:
                    for attribute, member in list(vars(value).items()):
                        plain = inspect.isfunction(member) or isinstance(member, staticmethod)
                        if plain and not attribute.startswith("__"):
                            self.wrap(
                                value, attribute, f"{module_name}.{value.__qualname__}.{attribute}"
                            )

    def reset(self) -> None:
        """Forget what was timed so far."""
        for total in self.totals.values():
            total[:] = [0, 0]

    def report(self, requests: int) -> list[str]:
        """Return one line per function called: µs and calls per request, most time first."""
        called = [(ns, calls, label) for label, (ns, calls) in self.totals.items() if calls]
        return [
            f"  {ns / requests / 1000:8.2f} µs {calls / requests:5.2f}x  {label}"
            for ns, calls, label in sorted(called, reverse=True)
        ]


def time_steps(requests: int, size: int) -> list[str]:
    """Time the steps of a pooled request on a pool made after the timers; return the report."""
    from django.db.backends.base.base import BaseDatabaseWrapper
    from sqlalchemy.pool import base as sa_pool

    timers = Timers()
    for klass in type(connections[TIMED]).__mro__:
        if klass.__module__.startswith("django.db.backends"):
            for name in DJANGO_STEPS:
                if name in vars(klass):
                    short = klass.__module__.removeprefix("django.db.backends.")
                    timers.wrap(klass, name, f"django {short}.{klass.__name__}.{name}")
    for owner, name in (
        (BaseDatabaseWrapper, "close_if_health_check_failed"),
        (sa_pool.Pool, "connect"),
        (sa_pool._ConnectionFairy, "close"),
        (sa_pool._ConnectionFairy, "_checkin"),
    ):
        timers.wrap(owner, name, f"{owner.__module__}.{owner.__name__}.{name}")
    timers.wrap_package("dj_db_conn_pool")
    # The pool of TIMED is made now, so that even its SQLAlchemy event
    # listeners are the timed functions.
    fill(TIMED, size)
    per_request(functools.partial(request, TIMED), 1000)
    timers.reset()
    per_request(functools.partial(request, TIMED), requests)
    return timers.report(requests)


def profile(requests: int, top: int = 45) -> list[str]:
    """Profile the pooled loop; return the top cumulative entries in the database layers."""
    profiler = cProfile.Profile()
    profiler.runcall(per_request, lambda: request("pooled"), requests)
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, function), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if any(package in path for package in PACKAGES):
            short = path[path.index("site-packages/") + 14 :] if "site-packages/" in path else path
            short = short[short.find("src/") + 4 :] if "/src/" in short else short
            rows.append((cumulative, own, calls, f"{short}:{line}({function})"))
    rows.sort(reverse=True)
    lines = ["  cum µs/req  own µs/req  calls/req  function"]
    for cumulative, own, calls, where in rows[:top]:
        lines.append(
            f"  {cumulative * 1e6 / requests:10.2f}  {own * 1e6 / requests:10.2f}"
            f"  {calls / requests:9.2f}  {where}"
        )
    return lines


def main() -> None:
    """Measure, time and profile; print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    pooled: dict[str, Any] = json.loads(os.environ["DJPOOL_BENCH_DATABASE"])
    engine = pooled["ENGINE"].rsplit(".", 1)[1]
    held = {key: value for key, value in pooled.items() if key not in ("ENGINE", "POOL_OPTIONS")}
    held.update(ENGINE=f"django.db.backends.{engine}", CONN_MAX_AGE=None)
    lifo = {**pooled, "POOL_OPTIONS": {**pooled.get("POOL_OPTIONS", {}), "USE_LIFO": True}}
    floor = {**held, "CONN_MAX_AGE": 0}
    aliases = {
        "default": held,
        "held": held,
        FLOOR: floor,
        POOLED[0]: pooled,
        POOLED[1]: lifo,
        TIMED: pooled,
    }
    configure(aliases)
    size = int(pooled.get("POOL_OPTIONS", {}).get("POOL_SIZE", 10))
    for alias in POOLED:
        fill(alias, size)
    connect_close_only(FLOOR)
    for alias in ("held", FLOOR, *POOLED):  # fill the caches
        per_request(functools.partial(request, alias), 1000)

    times = compare(args.requests)
    over = times["pooled"] - times["held connection"]
    profiled = profile(args.requests)
    timed = time_steps(args.requests, size)  # last: its wrappers stay in place
    lines = [
        f"Per-request cost, single thread, {pooled['ENGINE']}, pools holding {size} "
        f"connections (median of 10 blocks of {args.requests // 10} requests, taking turns):",
        *(f"  {value:8.2f} µs  {name}" for name, value in times.items()),
        f"  {over:8.2f} µs  pooled over held connection, of which"
        f" {times[FLOOR] - times['held connection']:.2f} µs are Django's connect()/close()",
        "",
        f"Wall time inside each function during pooled requests, no profiler ({args.requests} "
        "requests; inclusive, so callers contain their callees; each timed call adds ~0.2 µs):",
        *timed,
        "",
        f"cProfile of the pooled loop ({args.requests} requests; the profiler inflates "
        "Python calls several-fold, so read the shares, not the µs):",
        *profiled,
    ]
    connections.close_all()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
