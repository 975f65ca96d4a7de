"""The django-suite matrix of hatch.toml, the one source of truth for runs and CI.

    python3 -m integration.django_suite.matrix [--engine E] [--django D]

prints one `+django=D,+engine=E` hatch selection per matrix entry, which the
Makefile runs one at a time (hatch stops a matrix at the first failing env).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import tomllib

HATCH_TOML = Path(__file__).resolve().parents[2] / "hatch.toml"
ENV = "django-suite"


@dataclass(frozen=True)
class Entry:
    """One environment of the matrix."""

    python: str
    django: str
    engine: str


def entries(path: Path = HATCH_TOML) -> list[Entry]:
    """Return every python, django and engine combination of the django-suite matrix."""
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        Entry(python, django, engine)
        for block in config["envs"][ENV]["matrix"]
        for python in block["python"]
        for django in block["django"]
        for engine in block["engine"]
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m integration.django_suite.matrix")
    parser.add_argument("--engine")
    parser.add_argument("--django")
    args = parser.parse_args(argv)
    for entry in entries():
        if args.engine in (None, entry.engine) and args.django in (None, entry.django):
            print(f"+django={entry.django},+engine={entry.engine}")


if __name__ == "__main__":
    main()
