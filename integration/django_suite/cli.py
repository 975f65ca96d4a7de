"""python -m integration.django_suite: run, compare, report, and gate on regressions."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from . import compare, prepare, report, runs, sdist, servers
from .backends import ENGINES, JDBC_DBAPI_LAYERS
from .compare import NOT_RUN
from .runs import BAD

# Regressions are rerun on their own (without --parallel) to tell order effects
# from plain failures, unless there are more than this.
_RERUN_MAX = 40


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m integration.django_suite",
        description="Run Django's test suite with the stock and the pooled backend; "
        "fail on tests that pass with stock but not with pooled.",
    )
    parser.add_argument("--engine", required=True, choices=sorted(ENGINES))
    parser.add_argument(
        "modules", nargs="*", help="test labels (default: the engine's curated modules)"
    )
    parser.add_argument("--full", action="store_true", help="run the whole suite")
    parser.add_argument(
        "--server",
        default="auto",
        help="auto (a compose.yaml service if Docker works, else system-<family> if "
        "installed, else local), local (`make services`), system-postgresql, "
        f"system-mariadb, or a compose service: {', '.join(servers.COMPOSE_SERVERS)}",
    )
    parser.add_argument("--parallel", type=int, help="default: the engine's (2, or 1)")
    parser.add_argument(
        "--jdbc-dbapi",
        choices=JDBC_DBAPI_LAYERS,
        default=JDBC_DBAPI_LAYERS[0],
        help="the JDBC engines' DB-API layer (OPTIONS['JDBC_DBAPI'])",
    )
    parser.add_argument("--reports", default=str(servers.ROOT / "integration" / "reports"))
    parser.add_argument("--no-rerun", action="store_true", help="do not rerun regressions")
    parser.add_argument("--echo", action="store_true", help="show runtests.py's output")
    args = parser.parse_args(argv)
    if args.full and args.modules:
        parser.error("--full runs every module: give no modules with it")
    return args


def _server_label(server: servers.Server) -> str:
    where = f"{server.host}:{server.port}" if server.port else server.host
    compose = server.name in servers.COMPOSE_SERVERS
    kind = f"compose service {server.name!r}" if compose else server.name
    return f"{kind} {server.family} at {where}"


def _pool_revision() -> str:
    """Return the commit of the pool's code, and whether packages/ has local changes."""

    def git(*args: str) -> str:
        command = ["git", "-C", str(servers.ROOT), *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--", "packages")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} with uncommitted changes in packages/" if changed else head


def _execute(notes: list[str], **kwargs: Any) -> runs.Run:
    """Run runtests.py once more if the server restarted meanwhile (a shared server)."""
    server, driver = kwargs["server"], kwargs["engine"].driver
    for _ in range(2):
        started = prepare.started_at(server, driver)
        run = runs.execute(**kwargs)
        if abs(prepare.started_at(server, driver) - started) < 5:
            return run
        notes.append(f"The server restarted during a {kwargs['variant']} run, which was run again.")
        print(f"the server restarted during the {kwargs['variant']} run: again", flush=True)
    raise SystemExit("the server restarted during two runs in a row: giving up")


def _stock(notes: list[str], **kwargs: Any) -> runs.Run:
    """Run the stock backend, or reuse its run for another engine on the same server start.

    Engines with shared_stock (the OceanBase ones) compare with one stock ENGINE:
    its run is kept per Django version, server and labels, and reused while the
    server has not restarted since (each `make services` runs it afresh).
    """
    engine, server = kwargs["engine"], kwargs["server"]
    version, version_tag = kwargs.pop("version"), kwargs.pop("version_tag")
    if not engine.shared_stock:
        return _execute(notes, **kwargs)
    key = {
        "stock": engine.stock, "django": version, "server": server.connection(),
        "labels": kwargs["labels"], "parallel": kwargs["parallel"],
        "start_method": engine.start_method,
        "server_started": round(prepare.started_at(server, engine.driver) / 60),
    }  # fmt: skip
    saved = sdist.SUITE_CACHE / "runs" / "shared-stock" / f"{engine.stock}-{version_tag}"
    kept = saved / "run.json"
    if kept.exists():
        data = json.loads(kept.read_text(encoding="utf-8"))
        if data.pop("key") == json.loads(json.dumps(key)):
            notes.append(f"The stock run is shared with the other {engine.family} engines: "
                         f"this one reused it (log: {data['log']}).")  # fmt: skip
            return runs.Run(**{**data, "log": Path(data["log"])})
    run = _execute(notes, **{**kwargs, "work": saved / "stock"})
    if not run.crashed():
        data = {**dataclasses.asdict(run), "log": str(run.log), "key": key}
        kept.write_text(json.dumps(data), encoding="utf-8")
    return run


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    started = time.monotonic()
    engine = ENGINES[args.engine]
    engine.check_driver()
    version = sdist.installed_django()
    tests = sdist.tests_folder(version)
    server = servers.choose(engine.family, args.server)
    if not server.supports(version):
        raise SystemExit(f"Django {version} does not support server {server.name!r}")
    prepared = prepare.prepare(server, engine.driver)
    labels = [] if args.full else (args.modules or list(engine.modules))
    name = f"django-suite-{engine.name}-django{version}" + ("-full" if args.full else "")
    if args.server != "auto":
        name += f"-{server.name}"
    jdbc_dbapi = args.jdbc_dbapi
    if engine.jdbc_driver and jdbc_dbapi != JDBC_DBAPI_LAYERS[0]:
        name += f"-{jdbc_dbapi}"
    work = sdist.SUITE_CACHE / "runs" / name
    series = "".join(version.split(".")[:2])
    notes = prepared.notes
    if engine.jdbc_driver:
        notes.append(f"The pooled backend connects through JDBC ({engine.jdbc_driver}, "
                     f"OPTIONS['JDBC_DBAPI'] = {jdbc_dbapi!r}).")  # fmt: skip
    if engine.start_method:
        notes.append(f"Both runs start their --parallel workers with {engine.start_method!r} "
                     "(a Java VM does not survive fork()).")  # fmt: skip
    parallel = args.parallel or engine.parallel
    common = {"tests": tests, "engine": engine, "server": server, "parallel": parallel,
              "test_settings": prepared.test_settings, "echo": args.echo,
              "jdbc_dbapi": jdbc_dbapi}  # fmt: skip

    results: dict[str, runs.Run] = {}
    for variant in ("stock", "pooled"):
        print(f"[{name}] {variant}: {len(labels) or 'all'} modules ...", flush=True)
        if variant == "stock":
            run = _stock(notes, work=work / variant, variant=variant, labels=labels,
                         tag=f"{engine.short}{series}_{variant}", version=version,
                         version_tag=f"django{version}", **common)  # fmt: skip
        else:
            run = _execute(notes, work=work / variant, variant=variant, labels=labels,
                           tag=f"{engine.short}{series}_{variant}", **common)  # fmt: skip
        print(f"[{name}] {variant}: {run.counts()} in {run.seconds:.0f} s "
              f"(log: {run.log})", flush=True)  # fmt: skip
        results[variant] = run
    stock, pooled = results["stock"], results["pooled"]

    found = compare.regressions(stock, pooled)
    stale = compare.apply_allowlist(found, compare.load_allowlist(engine.name))
    rerun = [r for r in found if r.allowed is None and r.label()]
    if rerun and len(rerun) <= _RERUN_MAX and not args.no_rerun:
        again = _execute(notes, work=work / "pooled-rerun", variant="pooled",
                         labels=sorted({r.label() or "" for r in rerun}),
                         tag=f"{engine.short}{series}_rerun",
                         **{**common, "parallel": 1})  # fmt: skip
        if not again.crashed():
            for r in rerun:
                r.reproduced_alone = again.outcomes.get(r.test, NOT_RUN) in BAD

    meta = report.Meta(
        engine=engine.name,
        django=version,
        python=platform.python_version(),
        pool=_pool_revision(),
        server=f"{_server_label(server)} ({prepared.version})",
        notes=notes,
        modules=labels or None,
        parallel=parallel,
        generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        seconds=round(time.monotonic() - started, 1),
    )
    data = report.as_json(meta, stock, pooled, found, compare.differences(stock, pooled), stale)
    md_path, json_path = report.write(data, Path(args.reports), name)
    print(f"[{name}] report: {md_path} and {json_path.name}")
    if stock.crashed() or not stock.outcomes:
        # Without a sound stock run there is nothing to compare with.
        raise SystemExit(f"[{name}] ERROR: the stock run itself broke down: see {stock.log}")
    failing = [r.test for r in found if r.allowed is None]
    if failing:
        print(f"[{name}] FAIL: {len(failing)} regression(s) not in the allowlist:")
        for test in failing[:50]:
            print(f"  {test}")
        raise SystemExit(1)
    print(f"[{name}] PASS: no regression outside the allowlist ({len(found)} allowlisted)")
