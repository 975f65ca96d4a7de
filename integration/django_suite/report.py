"""The comparison report, as Markdown for people and JSON for tools."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .compare import Regression
from .runs import BAD, OUTCOMES, Run
from .servers import ROOT

_LISTED = 100  # longer lists are cut in the Markdown; the JSON keeps them whole
_EXCERPT_LINES = 30


@dataclass
class Meta:
    """What was run, where."""

    engine: str
    django: str
    python: str
    pool: str  # the git commit of the pool's code
    server: str
    notes: list[str]  # about the server, from prepare.py
    modules: list[str] | None  # None: the whole suite
    parallel: int
    generated: str
    seconds: float


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def last_line(text: str) -> str:
    """Return the last non-empty line of a traceback: the exception."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _excerpt(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-_EXCERPT_LINES:])


def module_of(test: str) -> str:
    """Return the test module (top-level package of Django's tests/) of a test id."""
    if "(" in test:  # "setUpClass (backends.tests.Foo)"
        test = test.split("(", 1)[1]
    return test.split(".", 1)[0]


def module_seconds(run: Run) -> dict[str, float]:
    """Return the summed test durations per module (Python 3.12+ reports them)."""
    seconds: defaultdict[str, float] = defaultdict(float)
    for test, elapsed in run.durations.items():
        seconds[module_of(test)] += elapsed
    return {module: round(total, 1) for module, total in sorted(seconds.items())}


def _run_json(run: Run) -> dict[str, Any]:
    not_passing = {
        test: {"outcome": outcome, "error": last_line(run.tracebacks.get(test, ""))}
        for test, outcome in sorted(run.outcomes.items())
        if outcome in BAD
    }
    return {
        "engine": run.engine,
        "returncode": run.returncode,
        "seconds": run.seconds,
        "stages": run.stages,
        "collected": run.collected,
        "counts": run.counts(),
        "stage_errors": {stage: last_line(text) for stage, text in run.stage_errors.items()},
        "not_passing": not_passing,
        "module_seconds": module_seconds(run),
        "log": _relative(run.log),
    }


def as_json(
    meta: Meta,
    stock: Run,
    pooled: Run,
    found: list[Regression],
    changed: list[tuple[str, str, str]],
    stale: list[str],
) -> dict[str, Any]:
    """Return the whole report as JSON-ready data."""
    return {
        **asdict(meta),
        "verdict": verdict(found),
        "runs": {"stock": _run_json(stock), "pooled": _run_json(pooled)},
        "regressions": [{**asdict(r), "traceback": _excerpt(r.traceback)} for r in found],
        "differences": [{"test": t, "stock": s, "pooled": p} for t, s, p in changed],
        "stale_allowlist_entries": stale,
    }


def verdict(found: list[Regression]) -> str:
    """Return "pass" unless a regression is not allowlisted."""
    return "fail" if any(r.allowed is None for r in found) else "pass"


def _cut(rows: list[str], total: int) -> list[str]:
    if total > _LISTED:
        rows.append(f"\n… and {total - _LISTED} more (see the JSON report).")
    return rows


def as_markdown(data: dict[str, Any]) -> str:
    """Render the JSON report as Markdown."""
    runs = data["runs"]
    modules = ", ".join(data["modules"]) if data["modules"] else "the whole suite"
    out = [
        f"# Django's test suite, stock vs pooled: {data['engine']}, Django {data['django']}",
        "",
        f"Python {data['python']} · pool at {data['pool']} · `--parallel {data['parallel']}` · "
        f"{data['generated']} · {data['seconds']:.0f} s in all",
        "",
        f"Server: {data['server']}.",
        "",
        f"Modules: {modules}.",
        "",
        *(f"Note: {note}\n" for note in data["notes"]),
        "| backend | ENGINE | tests | passed | failed | errors | skipped "
        "| expected failures | unexpected successes | wall time | exit |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant in ("stock", "pooled"):
        run = runs[variant]
        counts = run["counts"]
        cells = [variant, f"`{run['engine']}`", str(counts["tests"])]
        cells += [str(counts[outcome]) for outcome in OUTCOMES]
        cells += [f"{run['seconds']:.0f} s", str(run["returncode"])]
        out.append("| " + " | ".join(cells) + " |")
    found = data["regressions"]
    allowed = [r for r in found if r["allowed"] is not None]
    out += ["", f"**Verdict: {data['verdict'].upper()}** — {len(found)} regression(s), "
            f"{len(allowed)} of them allowlisted."]  # fmt: skip
    for variant in ("stock", "pooled"):
        for stage, error in runs[variant]["stage_errors"].items():
            out.append(f"\n- The {variant} run raised in `{stage}`: `{error}`")
    out += ["", "## Regressions: pass with stock, fail or error with pooled", ""]
    if not found:
        out.append("None.")
    for r in found:
        alone = {None: "not rerun", True: "yes", False: "no (passed when rerun alone)"}
        out += [
            f"### `{r['test']}`",
            "",
            f"stock: {r['stock']} · pooled: {r['pooled']} · reproduced alone: "
            f"{alone[r['reproduced_alone']]}"
            + (f" · **allowlisted**: {r['allowed']}" if r["allowed"] else ""),
            "",
            "```text",
            (last_line(r["traceback"]) if r["allowed"] else r["traceback"]) or "(no traceback)",
            "```",
            "",
        ]
    stock_bad = runs["stock"]["not_passing"]
    out += ["", "## Not passing with the stock backend either", ""]
    if not stock_bad:
        out.append("None: the stock run is clean.")
    rows = [
        f"- `{test}`: {info['outcome']} (pooled: "
        f"{runs['pooled']['not_passing'].get(test, {}).get('outcome', 'passed or skipped')})"
        f" — `{info['error'][:160]}`"
        for test, info in list(stock_bad.items())[:_LISTED]
    ]
    out += _cut(rows, len(stock_bad))
    changed = data["differences"]
    out += ["", "## Other differences in outcome", ""]
    if not changed:
        out.append("None.")
    rows = [f"- `{d['test']}`: stock {d['stock']}, pooled {d['pooled']}" for d in changed]
    out += _cut(rows[:_LISTED], len(changed))
    if data["stale_allowlist_entries"]:
        out += ["", "## Allowlist entries that matched no regression", ""]
        out += [f"- `{test}`" for test in data["stale_allowlist_entries"]]
    out += _timings(runs)
    return "\n".join(out) + "\n"


def _timings(runs: dict[str, Any]) -> list[str]:
    out = ["", "## Time", "", "| stage | stock | pooled |", "| --- | ---: | ---: |"]
    stages = sorted(runs["stock"]["stages"].keys() | runs["pooled"]["stages"].keys())
    for stage in stages:
        cells = [f"{runs[v]['stages'].get(stage, '-')} s" for v in ("stock", "pooled")]
        out.append(f"| {stage} | {cells[0]} | {cells[1]} |")
    modules = sorted(runs["stock"]["module_seconds"].keys() | runs["pooled"]["module_seconds"])
    if modules:
        out += ["", "Test time per module (sum of test durations over the workers; "
                "database set-up not included):", "",
                "| module | stock | pooled |", "| --- | ---: | ---: |"]  # fmt: skip
        for module in modules:
            cells = [f"{runs[v]['module_seconds'].get(module, 0):.1f} s" for v in runs]
            out.append(f"| {module} | {cells[0]} | {cells[1]} |")
    return out


def write(data: dict[str, Any], reports: Path, name: str) -> tuple[Path, Path]:
    """Write <name>.json and <name>.md into the reports folder."""
    reports.mkdir(parents=True, exist_ok=True)
    json_path = reports / f"{name}.json"
    md_path = reports / f"{name}.md"
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(as_markdown(data), encoding="utf-8")
    return md_path, json_path
