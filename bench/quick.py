"""Quick micro comparison: our pool against the held connection, with client CPU per request.

    python bench/quick.py [--drivers psycopg,psycopg2,mysqlclient] [--rounds 6]
                          [--baseline DIR]

The micro benchmark's request (micro.py) for the held connection and our pool
only, configurations taking turns, in 1 and 8 threads. Besides the rate, it
reports the CPU the worker process used per request (user + system, all
threads): on a shared machine the rate follows whatever else runs, while the
client's CPU per request is what the pool adds, and the held connection's
CPU / ours is the throughput ratio a CPU-bound client would see.

--baseline DIR adds a third configuration, our pool from another source tree
(say `git worktree add /tmp/base HEAD~1`), to compare before and after in the
same run. Runs in the hatch env `bench` (`hatch run bench:python bench/quick.py`),
with .services/env exported; it does not recreate the bench database.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from configs import DRIVERS, Config, configurations
from run import MicroWorker, prepare_env


def baseline_worker(python: str, config: Config, tree: Path) -> MicroWorker:
    """Start a micro.py worker that imports our packages from `tree` first."""
    import os

    engine = "postgresql" if config.database["ENGINE"].endswith("postgresql") else "mysql"
    path = [str(tree / "packages" / name / "src") for name in ("core", engine)]
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(path)
    try:
        return MicroWorker(python, config)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved


def main() -> None:
    """Measure held and ours (and the baseline), print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", default=",".join(driver.key for driver in DRIVERS))
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--baseline", type=Path, help="another source tree of this repo")
    args = parser.parse_args()
    drivers = [driver for driver in DRIVERS if driver.key in args.drivers.split(",")]
    pythons: dict[str, str] = {}
    for driver in drivers:
        if driver.env not in pythons:
            pythons[driver.env] = prepare_env(driver.env)["python"]
        configs = {c.key: c for c in configurations(driver) if c.key in ("held", "ours")}
        keys = [*configs, *(["baseline"] if args.baseline is not None else [])]
        results: dict[tuple[str, int], list[dict[str, Any]]] = {}
        dropped = 0
        for _ in range(args.rounds):
            # Fresh processes every round, as in run.py: a process's luck is ±10%.
            workers = {key: MicroWorker(pythons[driver.env], c) for key, c in configs.items()}
            if args.baseline is not None:
                workers["baseline"] = baseline_worker(
                    pythons[driver.env], configs["ours"], args.baseline.resolve()
                )
            try:
                for threads in (1, 8):
                    turn = {
                        key: worker.measure(threads, args.seconds)
                        for key, worker in workers.items()
                    }
                    if any(r["errors"] or not r["requests"] for r in turn.values()):
                        dropped += 1  # the shared server restarted: a round of nothing
                        continue
                    for key, result in turn.items():
                        results.setdefault((key, threads), []).append(result)
            finally:
                for worker in workers.values():
                    worker.close()
        print(
            f"{driver.label} ({args.rounds} rounds of {args.seconds}s, taking turns; "
            f"{dropped} turns dropped for errors)"
        )
        print("  threads  config      req/s   x held  CPU µs/req  held CPU / CPU")
        for threads in (1, 8):
            if ("held", threads) not in results:
                continue
            held = results[("held", threads)]
            for key in keys:
                mine = results[(key, threads)]
                rate = statistics.median(r["rate"] for r in mine)
                ratio = statistics.median(
                    r["rate"] / h["rate"] for r, h in zip(mine, held, strict=True)
                )
                cpu = statistics.median(r["cpu"] / r["requests"] * 1e6 for r in mine)
                cpu_ratio = statistics.median(
                    (h["cpu"] / h["requests"]) / (r["cpu"] / r["requests"])
                    for r, h in zip(mine, held, strict=True)
                )
                print(
                    f"  {threads:7d}  {key:9s} {rate:8.0f}  {ratio:6.2f}x  {cpu:10.1f}"
                    f"  {cpu_ratio:13.2f}x"
                )


if __name__ == "__main__":
    main()
