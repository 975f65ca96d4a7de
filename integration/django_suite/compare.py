"""Stock against pooled: the regressions, the other differences, and the allowlist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tomllib

from .runs import BAD, Run

ALLOWLIST = Path(__file__).with_name("allowlist.toml")
NOT_RUN = "not run"
_PASSED = frozenset({"passed", "expected failure"})
# unittest's id for an error outside a test: "setUpClass (module.Class)".
_HOLDER = re.compile(r"^\w+ \((?P<target>[\w.]+)\)$")


@dataclass
class Regression:
    """A test that passes with the stock backend but fails or errors with ours."""

    test: str
    stock: str
    pooled: str
    traceback: str
    allowed: str | None = None  # the allowlist's reason
    reproduced_alone: bool | None = None  # in a rerun of the regressions only

    def label(self) -> str | None:
        """Return the runtests.py label that reruns this test, if it is one."""
        if self.test.startswith("["):  # a stage of the run, not a test
            return None
        holder = _HOLDER.match(self.test)
        return holder["target"] if holder else self.test


def _outcomes(stock: Run, pooled: Run) -> Iterator[tuple[str, str, str]]:
    for test in sorted(stock.outcomes.keys() | pooled.outcomes.keys()):
        yield test, stock.outcomes.get(test, NOT_RUN), pooled.outcomes.get(test, NOT_RUN)


def _regressed(before: str, after: str) -> bool:
    return before not in BAD and (after in BAD or (after == NOT_RUN and before in _PASSED))


def regressions(stock: Run, pooled: Run) -> list[Regression]:
    """Return what passes with stock and fails, errors or never runs with pooled.

    A pooled run that raised outside the tests (in database set-up or teardown)
    adds a regression named after the stage, "[teardown_databases]", unless the
    stock run raised there too.
    """
    found = [
        Regression(test, before, after, pooled.tracebacks.get(test, ""))
        for test, before, after in _outcomes(stock, pooled)
        if _regressed(before, after)
    ]
    for stage, text in sorted(pooled.stage_errors.items()):
        if stage not in stock.stage_errors:
            found.append(Regression(f"[{stage}]", "ok", "error", text))
    if not pooled.recorded and stock.recorded:
        found.append(Regression("[runtests]", "ok", "died", f"see {pooled.log}"))
    return found


def differences(stock: Run, pooled: Run) -> list[tuple[str, str, str]]:
    """Return the other tests whose outcome differs: (test, stock, pooled)."""
    return [
        (test, before, after)
        for test, before, after in _outcomes(stock, pooled)
        if before != after and not _regressed(before, after)
    ]


def load_allowlist(engine: str, path: Path = ALLOWLIST) -> dict[str, str]:
    """Return {test id: reason} for this engine: the [all] table and the engine's own."""
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {**data.get("all", {}), **data.get(engine, {})}


def apply_allowlist(found: list[Regression], allowed: dict[str, str]) -> list[str]:
    """Mark the allowed regressions; return the allowlist entries that matched nothing."""
    for regression in found:
        regression.allowed = allowed.get(regression.test)
    matched = {regression.test for regression in found}
    return sorted(test for test in allowed if test not in matched)
