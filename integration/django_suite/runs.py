"""One run of Django's runtests.py with one backend (stock or pooled), and its results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from pprint import pformat
from typing import Any

from .backends import SuiteEngine
from .recorder import RESULTS_ENV, START_METHOD_ENV, Record
from .servers import ROOT, Server

SETTINGS_MODULE = "djsuite_settings"
BAD = frozenset({"failed", "error", "unexpected success"})
OUTCOMES = ("passed", "failed", "error", "skipped", "expected failure", "unexpected success")


@dataclass(kw_only=True)
class Run(Record):
    """The outcome of every test of one run (the Record its runner wrote), and how the run went."""

    variant: str  # "stock" or "pooled"
    engine: str  # the ENGINE setting
    returncode: int
    seconds: float
    log: Path
    recorded: bool = False  # False: runtests died before the runner wrote its results

    def counts(self) -> dict[str, int]:
        """Return how many tests ended in each outcome, and how many ran."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for outcome in self.outcomes.values():
            counts[outcome] += 1
        return {"tests": len(self.outcomes), **counts}

    def crashed(self) -> bool:
        """Return whether the run ended outside the tests (no results, or an exception)."""
        return not self.recorded or bool(self.stage_errors)


def settings_text(
    engine: SuiteEngine,
    variant: str,
    server: Server,
    tag: str,
    test_settings: dict[str, str],
    jdbc_dbapi: str = "jaydebeapi",
) -> str:
    """Return a settings module: Django's test_sqlite settings, on this server and ENGINE."""
    backend = engine.pooled if variant == "pooled" else engine.stock
    options = engine.options(variant, jdbc_dbapi)
    databases: dict[str, Any] = {}
    for alias, suffix in (("default", ""), ("other", "_other")):
        databases[alias] = {
            "ENGINE": backend,
            "NAME": f"djsuite_{tag}{suffix}",
            **server.connection(),
            **({"OPTIONS": options} if options else {}),
            "TEST": {"NAME": f"test_djsuite_{tag}{suffix}", **test_settings},
        }
    return (
        f'"""Django test settings: {engine.name}, {variant} backend (django_suite)."""\n'
        "from test_sqlite import *  # noqa: F403 - Django's own test settings\n\n"
        f"DATABASES = {pformat(databases, sort_dicts=False)}\n"
        'TEST_RUNNER = "integration.django_suite.recorder.RecordingRunner"\n'
    )


def execute(
    *,
    tests: Path,
    work: Path,
    engine: SuiteEngine,
    variant: str,
    server: Server,
    test_settings: dict[str, str],
    tag: str,
    labels: list[str],
    parallel: int,
    echo: bool,
    jdbc_dbapi: str = "jaydebeapi",
) -> Run:
    """Run runtests.py for one backend, its output logged in `work`, and load the results."""
    work.mkdir(parents=True, exist_ok=True)
    settings = settings_text(engine, variant, server, tag, test_settings, jdbc_dbapi)
    (work / f"{SETTINGS_MODULE}.py").write_text(settings)
    results = work / "results.json"
    results.unlink(missing_ok=True)
    log = work / "output.log"
    python_path = [str(work), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(python_path), RESULTS_ENV: str(results)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if engine.start_method:
        env[START_METHOD_ENV] = engine.start_method
    command = [
        sys.executable, "-u", "runtests.py", f"--settings={SETTINGS_MODULE}",
        f"--parallel={parallel}", "--noinput", "--timing", "-v", "2", *labels,
    ]  # fmt: skip
    start = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        out.write(f"$ cd {tests} && {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(
            command, cwd=tests, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            encoding="utf-8", errors="replace",
        )  # fmt: skip
        assert process.stdout is not None
        for line in process.stdout:
            out.write(line)
            if echo:
                sys.stdout.write(line)
        returncode = process.wait()
    run = Run(
        variant=variant,
        engine=engine.pooled if variant == "pooled" else engine.stock,
        returncode=returncode,
        seconds=round(time.monotonic() - start, 1),
        log=log,
    )
    if results.exists():
        for name, value in json.loads(results.read_text(encoding="utf-8")).items():
            setattr(run, name, value)  # the fields of recorder.Record
        run.recorded = True
    return run
