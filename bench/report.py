"""Summaries, markdown tables, JSON and the chart of a benchmark run."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Record = dict[str, Any]


def _group(records: Iterable[Record], *keys: str) -> dict[tuple[Any, ...], list[Record]]:
    groups: dict[tuple[Any, ...], list[Record]] = {}
    for record in records:
        if "failed" not in record:
            groups.setdefault(tuple(record[key] for key in keys), []).append(record)
    return groups


def summarize(
    records: list[Record], by: tuple[str, ...], fields: tuple[str, ...], reference: str = "held"
) -> list[Record]:
    """Return, per group, the median, min and max rate and the median ratio to `reference`.

    The ratio is taken round by round (each configuration against the
    reference measured in the same round), then the median of those.
    """
    groups = _group(records, "driver", "config", *by)
    summaries = []
    for (driver, config, *rest), runs in groups.items():
        held = {
            run["round"]: run["rate"]
            for run in groups.get((driver, reference, *rest), [])
            if run["rate"] > 0
        }
        paired = [(run["rate"], held[run["round"]]) for run in runs if run["round"] in held]
        ratios = [rate / reference for rate, reference in paired]
        # What a request costs more than with the held connection, round by round.
        extra = [1e6 / rate - 1e6 / reference for rate, reference in paired if rate > 0]
        rates = [run["rate"] for run in runs]
        summary: Record = {
            "driver": driver,
            "config": config,
            **dict(zip(by, rest, strict=True)),
            "rounds": len(runs),
            "rate": statistics.median(rates),
            "rate_min": min(rates),
            "rate_max": max(rates),
            "ratio": statistics.median(ratios) if ratios else None,
            "extra_us": statistics.median(extra) if extra else None,
            "errors": sum(run.get("errors", 0) for run in runs),
        }
        for name in fields:
            values = [run[name] for run in runs if run.get(name) is not None]
            summary[name] = statistics.median(values) if values else None
        if "peak_connections" in runs[0]:
            summary["peak_connections"] = max(run["peak_connections"] for run in runs)
        summaries.append(summary)
    return summaries


def _number(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def micro_table(results: Record) -> str:
    """Return the micro benchmark's table: requests/s per configuration, 1 and 8 threads."""
    summaries = {
        (s["driver"], s["config"], s["threads"]): s
        for s in summarize(results["micro"], ("threads",), ())
    }
    rows = []
    for driver, label in results["drivers"].items():
        configs = dict.fromkeys(key for d, key, _ in summaries if d == driver)
        for config in configs:
            row = [label, results["configurations"][config]]
            for threads in (1, 8):
                s = summaries.get((driver, config, threads))
                if s is None:
                    row += ["failed", "", ""]
                    continue
                row += [
                    _number(s["rate"]),
                    f"{s['rate_min']:,.0f}-{s['rate_max']:,.0f}",
                    _number(s["ratio"], 2),
                ]
                if threads == 1:
                    row.append(_number(s["extra_us"], 1))
            errors = sum(
                summaries[(driver, config, t)]["errors"]
                for t in (1, 8)
                if (driver, config, t) in summaries
            )
            rows.append([*row, str(errors)])
    header = [
        "driver", "configuration",
        "1 thread req/s", "min-max", "x held", "µs/req over held",
        "8 threads req/s", "min-max", "x held", "errors",
    ]  # fmt: skip
    return _table(header, rows)


MACRO_FIELDS = ("p50_ms", "p99_ms", "db_cpu_us", "app_cpu_us", "proxy_cpu_us")


def macro_summaries(results: Record) -> list[Record]:
    """Return the macro summaries, configurations in their usual order (not the run's)."""
    order = list(results["configurations"])
    summaries = summarize(results["macro"], ("view",), MACRO_FIELDS)
    return sorted(summaries, key=lambda s: order.index(s["config"]))


def macro_tables(results: Record) -> dict[str, str]:
    """Return the macro benchmark's tables, one per view."""
    summaries = macro_summaries(results)
    tables = {}
    for view in ("read", "write"):
        rows = []
        for driver, label in results["drivers"].items():
            for s in summaries:
                if s["driver"] != driver or s["view"] != view:
                    continue
                rows.append(
                    [
                        label,
                        results["configurations"][s["config"]],
                        _number(s["rate"]),
                        f"{s['rate_min']:,.0f}-{s['rate_max']:,.0f}",
                        _number(s["ratio"], 2),
                        _number(s["p50_ms"], 1),
                        _number(s["p99_ms"], 1),
                        str(s["peak_connections"]),
                        _number(s["db_cpu_us"]),
                        _number(s["app_cpu_us"]),
                        _number(s["proxy_cpu_us"]),
                        str(s["errors"]),
                    ]
                )
        header = [
            "driver", "configuration", "req/s", "min-max", "x held", "p50 ms", "p99 ms",
            "peak server conns", "DB CPU µs/req", "app CPU µs/req", "PgBouncer CPU µs/req",
            "errors",
        ]  # fmt: skip
        tables[view] = _table(header, rows)
    return tables


SERVERS = {"uvicorn": "uvicorn (ASGI)", "gevent": "gunicorn -k gevent"}


def serving_tables(results: Record) -> dict[str, str]:
    """Return the serving part's tables, one per view: ours against a new connection."""
    summaries = summarize(results["serving"], ("server", "view"), ("p99_ms", "app_cpu_us"), "new")
    found = {(s["server"], s["driver"], s["config"], s["view"]): s for s in summaries}
    tables = {}
    for view in ("read", "write"):
        rows = []
        for server, server_label in SERVERS.items():
            for driver, label in results["drivers"].items():
                new = found.get((server, driver, "new", view))
                for config in results["configurations"]:
                    s = found.get((server, driver, config, view))
                    if s is None:
                        continue
                    p99_ratio = s["p99_ms"] / new["p99_ms"] if new and new["p99_ms"] else None
                    rows.append(
                        [
                            server_label,
                            label,
                            results["configurations"][config],
                            _number(s["rate"]),
                            _number(s["ratio"], 2),
                            _number(s["p99_ms"], 1),
                            _number(p99_ratio, 2),
                            str(s["peak_connections"]),
                            _number(s["app_cpu_us"]),
                            str(s["errors"]),
                        ]
                    )
        header = [
            "server", "driver", "configuration", "req/s", "x new", "p99 ms", "p99 x new",
            "peak server conns", "app CPU µs/req", "errors",
        ]  # fmt: skip
        tables[view] = _table(header, rows)
    return tables


def failures(results: Record) -> list[str]:
    """Return one line per configuration that could not run."""
    lines = []
    for part in ("micro", "macro", "serving"):
        for record in results.get(part, []):
            if "failed" in record:
                lines.append(f"- {part} {record['driver']} {record['config']}: {record['failed']}")
    return sorted(set(lines))


def versions_section(results: Record) -> str:
    """Return the versions of everything measured, as markdown."""
    versions = results["versions"]
    lines = [f"- servers: {', '.join(versions['servers'].values())}"]
    lines += [f"- {name}: {text}" for name, text in versions["tools"].items()]
    for env, packages in versions["envs"].items():
        listed = ", ".join(f"{name} {version}" for name, version in packages.items())
        lines.append(f"- hatch env `{env}`: {listed}")
    return "\n".join(lines)


def markdown(results: Record) -> str:
    """Return the whole report."""
    settings = results["settings"]
    # Runs written before the order was shuffled rotated one fixed order.
    shuffled = settings.get("order") == "shuffled"
    order = "in its own shuffled order" if shuffled else "starting one configuration further along"
    load = ", ".join(f"{x:.1f}" for x in results["machine"]["load_average"])
    sections = [
        "# dj-db-conn-pool benchmarks",
        f"{results['date']}, {results['machine']['cpus']} CPUs (load average at the start: "
        f"{load}), {results['seconds']:.0f}s in all. Source: {results['source']}. "
        "Produced by `make bench` (bench/run.py).",
        versions_section(results),
    ]
    if results.get("source_changed"):
        sections.append(
            "**The pool's source (packages/) changed during this run: the results mix "
            "two versions of it.**"
        )
    if "micro" in results:
        sections += [
            "## Micro: Django's request cycle around one `SELECT 1`",
            "Fresh worker processes, one per configuration, every round; "
            f"{settings['micro_rounds']} rounds of {settings['micro_seconds']:g}s per "
            f"configuration and thread count, in {settings.get('micro_turns', 1)} turns, "
            f"each pass {order}. req/s: median; x held: median of each round's ratio to the held "
            "connection of the same round (so not always "
            "the ratio of the medians); µs/req over held: what the configuration adds to "
            "one request (single thread), taken the same way, round by round.",
            micro_table(results),
        ]
    if "macro" in results:
        tables = macro_tables(results)
        if "macro_turns" in settings:  # from 2026-11-26 on: all up at once, turns of wrk
            how = (
                f"in {settings['macro_turns']} turns, each pass {order}. Every round serves "
                "all configurations at once from fresh gunicorns "
                f"({settings.get('macro_warmup', 1):g}s of warm-up each), "
                "each on a database of its own; only the one whose turn it is gets requests."
            )
            sessions = "on the configuration's own database"
        else:
            how = f"(each round {order}); a fresh gunicorn per run, warmed up for 1s."
            sessions = "on the bench database"
        sections += [
            "## Macro: gunicorn (2 workers x 8 gthread threads), wrk with 16 connections",
            f"{settings['macro_rounds']} rounds of {settings['macro_seconds']:g}s per view and "
            f"configuration, configurations taking turns {how} req/s and x held as in the micro "
            "table; p50 and p99: the median of the turns' percentiles. Peak server conns: the "
            f"most client sessions {sessions} at once (sampled every 10 ms). CPU per request "
            "from /proc (user + system): the database server's processes (shared with "
            "whatever else uses that server meanwhile), gunicorn's workers, PgBouncer.",
            "### Read one row (`Item.objects.get(pk=…)`)",
            tables["read"],
            "### Write one row (`Hit.objects.create(…)`)",
            tables["write"],
            "![macro results](macro.png)",
        ]
    if "serving" in results:
        tables = serving_tables(results)
        sections += [
            "## Serving: uvicorn (ASGI) and gunicorn's gevent workers",
            "bench/app.py under uvicorn (2 worker processes, each request's sync work in a "
            "thread of its own) and under `gunicorn -k gevent` (2 workers), wrk with 16 "
            f"connections, {settings.get('serving_rounds')} rounds taken as in the macro "
            "part. x new: the median of each round's rate ratio to a new connection per "
            "request (Django's stock backend, `CONN_MAX_AGE=0`), the only stock setting "
            "that returns connections under ASGI; p99 x new: the ratio of the medians. "
            "Ours: `POOL_SIZE=8, MAX_OVERFLOW=0` per process. psycopg 3 and mysqlclient "
            "under uvicorn, psycopg 3 only under gevent (mysqlclient blocks the worker).",
            "### Read one row",
            tables["read"],
            "### Write one row",
            tables["write"],
        ]
    for driver, text in results.get("profiles", {}).items():
        summary = text.split("\n\n", 1)[0]
        sections += [
            f"## Where our pool's time goes: {results['drivers'][driver]}",
            f"From `overhead.py`; the whole breakdown is in [profile-{driver}.txt]"
            f"(profile-{driver}.txt).",
            f"```\n{summary}\n```",
        ]
    failed = failures(results)
    if failed:
        sections += ["## Configurations that failed", "\n".join(failed)]
    return "\n\n".join(sections) + "\n"


def chart(results: Record, path: Path) -> None:
    """Draw the macro results: requests/s per view, and peak server connections."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summaries = macro_summaries(results)
    drivers = list(results["drivers"].items())
    figure, axes = plt.subplots(
        2, len(drivers), figsize=(5 * len(drivers), 7), squeeze=False, sharey="row"
    )
    for column, (driver, label) in enumerate(drivers):
        configs = list(dict.fromkeys(s["config"] for s in summaries if s["driver"] == driver))
        by_key = {(s["config"], s["view"]): s for s in summaries if s["driver"] == driver}
        positions = range(len(configs))
        for offset, view in ((-0.2, "read"), (0.2, "write")):
            found = [by_key.get((config, view)) for config in configs]
            axes[0][column].bar(
                [p + offset for p in positions],
                [s["rate"] if s else 0 for s in found],
                width=0.4,
                yerr=[
                    [s["rate"] - s["rate_min"] if s else 0 for s in found],
                    [s["rate_max"] - s["rate"] if s else 0 for s in found],
                ],
                label=view,
            )
        peaks = [
            max((by_key[(c, v)]["peak_connections"] for v in ("read", "write") if (c, v) in by_key),
                default=0)
            for c in configs
        ]  # fmt: skip
        axes[1][column].bar(positions, peaks, color="grey")
        axes[0][column].set_title(label)
        for row in (0, 1):
            axes[row][column].set_xticks(list(positions))
            axes[row][column].set_xticklabels(configs, rotation=30, ha="right")
    axes[0][0].set_ylabel("requests/s (median, min-max)")
    axes[1][0].set_ylabel("peak server connections")
    axes[0][0].legend()
    figure.suptitle("gunicorn 2 x 8 gthread, wrk 16 connections")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write(results: Record, folder: Path) -> str:
    """Write bench.md, bench.json and macro.png into `folder`; return the tables as text."""
    folder.mkdir(exist_ok=True)
    (folder / "bench.json").write_text(json.dumps(results, indent=1) + "\n")
    if "macro" in results:
        chart(results, folder / "macro.png")
    text = markdown(results)
    (folder / "bench.md").write_text(text)
    return text
