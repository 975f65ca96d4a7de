"""Client instructions per request: our pool against the held connection, without the noise.

    python bench/instructions.py [--drivers psycopg,psycopg2,mysqlclient] [--baseline DIR] [--idle]

Rates on a shared machine move by ±10% between two processes of the same
configuration (measured: a second held-connection process ran at 0.93-1.12x
the first over 16 alternating rounds), more than the pool's own cost. This
counts the instructions the client process executes per micro.py request,
under valgrind (Debian's `valgrind`): the same figure every run, to ±2%.
Each configuration runs 300 and 1,300 requests after a warm-up (two processes
at once), and the difference is divided by 1,000, so start-up cancels out. It counts user-space
instructions only: not time, not the kernel, not cache misses; a ratio near
1 here is the floor for the rate ratio, not a promise of it.

Requests run back to back, as in micro.py, where a parked connection is
lent again within POLL_BYPASS and skips the socket poll; --idle counts them
as if each came after a pause (a web server's usual case), poll included.

--baseline DIR adds our pool from another source tree, as in quick.py. Runs in
the hatch env `bench` with .services/env exported (`hatch run bench:python
bench/instructions.py`); about a minute per configuration.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FEW, MANY, WARM_UP = 300, 1300, 200


def child(requests: int, poll_bypass: float) -> None:
    """Run `requests` micro.py requests after a warm-up (inside valgrind)."""
    import gc

    import micro

    from dj_db_conn_pool import liveness

    # Slowed down some 50 times, every parked connection would sit idle past
    # POLL_BYPASS (1 ms) and get the socket poll, which back-to-back requests
    # skip natively: POLL_BYPASS is set here to what the run counts.
    liveness.POLL_BYPASS = poll_bypass
    micro.configure()
    for _ in range(WARM_UP):
        micro.one_request()
    gc.collect()
    gc.freeze()  # the collector's passes over start-up objects would add noise
    for _ in range(requests):
        micro.one_request()


def count(
    python: str,
    database: dict[str, object],
    requests: int,
    poll_bypass: float,
    tree: Path | None = None,
) -> int:
    """Return the instructions valgrind counted for a whole child run."""
    env = {**os.environ, "DJPOOL_BENCH_DATABASE": json.dumps(database), "PYTHONHASHSEED": "0"}
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            str(tree / "packages" / name / "src") for name in ("core", "postgresql", "mysql")
        )
    done = subprocess.run(
        [
            *("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"),
            *(python, str(HERE / "instructions.py"), "--child", str(requests)),
            *("--poll-bypass", str(poll_bypass)),
        ],
        env=env,
        cwd=HERE,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"valgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    """Count held and ours (and the baseline) per driver; print counts and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", default="psycopg,psycopg2,mysqlclient")
    parser.add_argument("--baseline", type=Path, help="another source tree of this repo")
    parser.add_argument(
        "--idle",
        action="store_true",
        help="count requests as if each came after a pause, socket poll included "
        "(by default: back to back, as micro.py runs them)",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--poll-bypass", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:  # inside valgrind, in the driver's env: micro.py only
        child(args.child, args.poll_bypass)
        return
    poll_bypass = 0.0 if args.idle else 60.0
    from concurrent.futures import ThreadPoolExecutor

    from configs import DRIVERS, configurations
    from run import prepare_env

    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    for driver in [d for d in DRIVERS if d.key in args.drivers.split(",")]:
        python = prepare_env(driver.env)["python"]
        configs = {c.key: c for c in configurations(driver)}
        runs: list[tuple[str, dict[str, object], Path | None]] = [
            ("held", configs["held"].database, None),
            ("ours", configs["ours"].database, None),
        ]
        if args.baseline is not None:
            runs.append(("baseline", configs["ours"].database, args.baseline.resolve()))
        pace = "each after a pause (socket poll)" if args.idle else "back to back"
        print(f"{driver.label}: client instructions per request, {pace}")
        held = 0.0
        for key, database, tree in runs:
            counted = functools.partial(count, python, database, poll_bypass=poll_bypass, tree=tree)
            with ThreadPoolExecutor(2) as both:
                few, many = both.map(counted, (FEW, MANY))
            per_request = (many - few) / (MANY - FEW)
            held = held or per_request
            print(f"  {key:9s} {per_request:10,.0f}  held / this {held / per_request:5.3f}x")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
