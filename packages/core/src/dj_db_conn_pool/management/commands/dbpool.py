"""`manage.py dbpool`: the pools of this process, and whether a fleet fits the servers."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dj_db_conn_pool import capacity, options
from dj_db_conn_pool.checks import pooled_databases
from dj_db_conn_pool.stats import stats

PREAMBLE = """\
Pools of this process (pid {pid}) only. Each worker process of your server has
its own pools, which no other process can see; this command's process has only
the pools it opened itself, so its figures are not your workers'. For a worker's,
call dj_db_conn_pool.stats() inside it, or scrape its Prometheus collector."""


class Command(BaseCommand):
    help = (
        "Show each pooled alias's configured sizes and this process's pool figures; "
        "with --check-capacity --workers N, check that N processes fit the servers' "
        "connection limits (exit status 1 if not)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database",
            action="append",
            dest="aliases",
            metavar="ALIAS",
            help="Only this pooled alias (repeat for more). Default: every pooled alias.",
        )
        parser.add_argument(
            "--check-capacity",
            action="store_true",
            help="Ask each alias's server for its connection limits (this connects) and "
            "compare them with N x (POOL_SIZE + MAX_OVERFLOW). PostgreSQL and "
            "MySQL/MariaDB only: other aliases are listed as not checked.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            metavar="N",
            help="With --check-capacity: how many processes run this project, on every host.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        workers = opts["workers"]
        if opts["check_capacity"] and (workers is None or workers < 1):
            raise CommandError(
                "--check-capacity needs --workers N, the number of processes (>= 1)."
            )
        if workers is not None and not opts["check_capacity"]:
            raise CommandError("--workers goes with --check-capacity.")
        aliases = self.select(opts["aliases"])
        self.stdout.write(PREAMBLE.format(pid=os.getpid()))
        figures = stats()
        for alias, settings_dict in aliases.items():
            self.show_alias(alias, settings_dict, figures.get(alias))
        if opts["check_capacity"]:
            self.check_capacity(aliases, workers)

    def select(self, wanted: list[str] | None) -> dict[str, dict[str, Any]]:
        """Return the pooled aliases asked for (all of them by default)."""
        pooled = pooled_databases()
        if not pooled:
            raise CommandError("No alias of DATABASES has a dj_db_conn_pool ENGINE.")
        if not wanted:
            return pooled
        unknown = [alias for alias in wanted if alias not in pooled]
        if unknown:
            raise CommandError(
                f"Not a pooled alias: {', '.join(unknown)}. Pooled aliases: {', '.join(pooled)}."
            )
        return {alias: pooled[alias] for alias in wanted}

    def show_alias(
        self, alias: str, settings_dict: dict[str, Any], figures: dict[str, Any] | None
    ) -> None:
        """Print one alias's configured sizes, then its stats() figures in this process."""
        resolved = options.resolve(settings_dict.get("POOL_OPTIONS"), alias)
        bound = capacity.per_process(alias, settings_dict)
        rows: list[tuple[str, Any]] = [
            ("POOL_SIZE", resolved["POOL_SIZE"]),
            ("MAX_OVERFLOW", resolved["MAX_OVERFLOW"]),
            ("per process, at most", "no limit" if bound is None else f"{bound} connections"),
            ("held at all times", f"{capacity.held_always(alias, settings_dict)} (MIN_SIZE)"),
            ("held when quiet", self.describe_quiet(*capacity.quiet_hours(alias, settings_dict))),
        ]
        if figures is None:
            rows.append(("in this process", "no pool yet (it opens on the first query)"))
        else:
            for name, value in figures.items():
                if name in ("pool_size", "max_overflow"):
                    continue
                if isinstance(value, float):
                    value = f"{value:.3f}s"
                elif isinstance(value, list):
                    value = ", ".join(str(item) for item in value)
                rows.append((name, value))
        self.stdout.write(f"\n{alias} ({settings_dict['ENGINE']})")
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            self.stdout.write(f"  {name:<{width}}  {value}")

    def show_floor(self, workers: int, aliases: dict[str, dict[str, Any]]) -> None:
        """Print what `workers` processes hold at all times and after a quiet spell."""
        least = {alias: capacity.held_always(alias, s) for alias, s in aliases.items()}
        quiet = {alias: capacity.quiet_hours(alias, s) for alias, s in aliases.items()}
        always = " + ".join(f"{alias} {workers} x {n}" for alias, n in least.items())
        self.stdout.write(
            f"    holds {workers * sum(least.values())} at all times (MIN_SIZE: {always})"
        )
        bounded = [held for held, _ in quiet.values() if held is not None]
        total = "any number" if len(bounded) < len(quiet) else str(workers * sum(bounded))
        when = " + ".join(
            f"{alias} {workers} x {'?' if held is None else held}, {why}"
            for alias, (held, why) in quiet.items()
        )
        self.stdout.write(f"    holds {total} in quiet hours ({when})")

    @staticmethod
    def describe_quiet(held: int | None, why: str) -> str:
        """Say what a pool holds after a quiet spell."""
        return f"{'no limit' if held is None else held} ({why})"

    def check_capacity(self, aliases: dict[str, dict[str, Any]], workers: int) -> None:
        """Print each server limit against what `workers` processes may open; fail if over.

        Aliases on servers whose limits cannot be read are named and left out; if
        that leaves none, the check fails.
        """
        unsupported = {alias: capacity.unsupported(alias) for alias in aliases}
        skipped = [reason for reason in unsupported.values() if reason is not None]
        aliases = {alias: s for alias, s in aliases.items() if unsupported[alias] is None}
        if not aliases:
            raise CommandError(f"Cannot check capacity: {'; '.join(skipped)}.")
        bounds = {alias: capacity.per_process(alias, s) for alias, s in aliases.items()}
        limits = {alias: capacity.read_limits(alias) for alias in aliases}
        one = workers == 1
        fleet = f"{workers} worker process{'' if one else 'es'}"
        self.stdout.write(
            f"\nCapacity of {fleet}, each opening at most POOL_SIZE + MAX_OVERFLOW "
            "connections per alias\n(other clients of these servers count against the same "
            "limits):"
        )
        for reason in skipped:
            self.stdout.write(f"  not checked: {reason}")
        over = []
        for share in capacity.shares(workers, bounds, limits):
            limit, needed = share.limit, share.needed
            allowed = "no limit" if limit.allowed is None else f"{limit.allowed} allowed"
            connected = "" if limit.connected is None else f"; {limit.connected} connected now"
            self.stdout.write(f"  {limit.label}: {allowed} ({limit.source}){connected}")
            parts = " + ".join(
                f"{alias} {workers} x {bound}" if bound is not None else f"{alias} no limit"
                for alias, bound in bounds.items()
                if alias in share.demand
            )
            total = "any number" if needed is None else str(needed)
            verdict = "fits" if share.fits else "does NOT fit"
            self.stdout.write(f"    may open {total} ({parts}): {verdict}")
            self.show_floor(workers, {a: aliases[a] for a in share.demand})
            if not share.fits:
                over.append(f"{limit.label} may open {total}, {allowed}")
        if over:
            raise CommandError(f"{fleet} {'does' if one else 'do'} not fit: {'; '.join(over)}.")
        checked = f" of {', '.join(aliases)}" if skipped else ""
        self.stdout.write(f"{fleet} {'fits' if one else 'fit'} every limit{checked}.")
