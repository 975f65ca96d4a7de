"""Paired macro comparison: our pool against the held connection in the macro app, with an interval.

    python bench/paired.py [--drivers psycopg,psycopg2,mysqlclient] [--views read,write]
                           [--rounds 5] [--passes 12]

`make bench`'s macro part serves up to six configurations, so two turns of
one configuration lie seconds apart, and this machine's speed moves by up to
2.5x from one 2 s turn to the next: its ratios cannot tell 5% apart. Here only
the held connection and our pool are served (as in run.py's macro part: fresh
gunicorns each round, each on a database of its own), and they take turns of
1 s, each pass in its own shuffled order, so that each of our turns has a held
turn right beside it. Each pass gives a ratio (our rate / the held rate, and
our CPU per request / the held one's, for gunicorn's workers and the database
server); the report is their geometric mean with a 95% interval (normal
approximation on the logarithms), so an interval that holds 1.0 means no
difference this run could see.

Runs in the hatch env `bench` (`hatch run bench:python bench/paired.py`), with
.services/env exported; about 2.5 minutes per driver and view.
"""

from __future__ import annotations

import argparse
import math
import statistics

from configs import DRIVERS, configurations
from run import (
    MACRO_WARMUP,
    Served,
    Server,
    combine,
    load,
    own_database,
    prepare_env,
    set_up_tables,
    turn_order,
    wrk,
)

HEADERS = ("req/s", "app CPU per request", "DB CPU per request")
FIELDS = ("rate", "app_cpu_us", "db_cpu_us")  # of run.combine()'s record


def interval(ratios: list[float]) -> str:
    """Return the geometric mean of `ratios` with its 95% interval, as text."""
    logs = [math.log(ratio) for ratio in ratios]
    mean = statistics.fmean(logs)
    half = 1.96 * statistics.stdev(logs) / math.sqrt(len(logs))
    return f"{math.exp(mean):.3f} [{math.exp(mean - half):.3f}, {math.exp(mean + half):.3f}]"


def main() -> None:
    """Measure held and ours turn by turn; print each view's ratios with intervals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", default=",".join(driver.key for driver in DRIVERS))
    parser.add_argument("--views", default="read,write")
    parser.add_argument("--rounds", type=int, default=5, help="fresh gunicorns each round")
    parser.add_argument("--passes", type=int, default=12, help="turns of 1 s each, per round")
    args = parser.parse_args()
    print(
        f"ours / held: geometric mean [95% interval] of {args.rounds} x {args.passes} "
        "paired turns of 1 s"
    )
    print(f"  {'driver':12s} {'view':6s} " + "".join(f"{h:24s}" for h in HEADERS))
    for driver in DRIVERS:
        if driver.key not in args.drivers.split(","):
            continue
        python = prepare_env(driver.env)["python"]
        server = Server(driver.server)
        configs = [
            own_database(config)
            for config in configurations(driver)
            if config.key in ("held", "ours")
        ]
        for config in configs:
            server.recreate_database(config.database["NAME"])
            set_up_tables(python, driver, config.database["NAME"])
        for view in args.views.split(","):
            ratios: list[tuple[float, ...]] = []
            for number in range(args.rounds):
                served: dict[str, Served] = {}
                try:
                    for config in configs:
                        served[config.key] = Served(python, config, server, 0)
                    for each in served.values():  # warm up: every thread gets its connection
                        wrk(f"{each.app.url}/{view}", MACRO_WARMUP)
                    for turn in range(args.passes):
                        found = {
                            key: combine(view, [load(served[key], view, 1, server)], False)
                            for key in turn_order(list(served), f"paired {view} {number} {turn}")
                        }
                        ratios.append(
                            tuple(found["ours"][name] / found["held"][name] for name in FIELDS)
                        )
                finally:
                    for each in served.values():
                        each.stop()
            columns = [interval([ratio[n] for ratio in ratios]) for n in range(len(FIELDS))]
            print(
                f"  {driver.key:12s} {view:6s} " + "".join(f"{c:24s}" for c in columns), flush=True
            )
        for config in configs:
            server.drop_database(config.database["NAME"])
        server.close()


if __name__ == "__main__":
    main()
