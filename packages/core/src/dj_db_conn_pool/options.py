"""POOL_OPTIONS: the keys, their defaults, their validation, and ``setup()``."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .config import PoolConfig
from .errors import Errors


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class Option:
    """One POOL_OPTIONS key: its default, what it accepts, and how that reads."""

    default: Any
    accepts: Callable[[Any], bool]
    valid: str


OPTIONS: dict[str, Option] = {
    "POOL_SIZE": Option(10, lambda v: _is_int(v) and v >= 0, "an integer >= 0 (0: no limit)"),
    "MAX_OVERFLOW": Option(
        10, lambda v: _is_int(v) and v >= -1, "an integer >= 0, or -1 for no limit"
    ),
    "RECYCLE": Option(
        900, lambda v: _is_number(v) and (v == -1 or v > 0), "seconds > 0, or -1 to never recycle"
    ),
    "PRE_PING": Option(True, lambda v: isinstance(v, bool), "True or False"),
    "PING_INTERVAL": Option(30, lambda v: _is_number(v) and v >= 0, "seconds >= 0"),
    "TIMEOUT": Option(30, lambda v: _is_number(v) and v > 0, "seconds > 0"),
    "USE_LIFO": Option(False, lambda v: isinstance(v, bool), "True or False"),
    "ECHO": Option(False, lambda v: v in (True, False, "debug"), "True, False or 'debug'"),
    "MAX_WAITING": Option(
        None, lambda v: v is None or (_is_int(v) and v >= 0), "None (no limit) or an integer >= 0"
    ),
    "RESET_ON_RETURN": Option(
        "rollback", lambda v: v in ("rollback", "session"), "'rollback' or 'session'"
    ),
    "LEAK_TIMEOUT": Option(
        None, lambda v: v is None or (_is_number(v) and v > 0), "None (off) or seconds > 0"
    ),
    "STICKY": Option(True, lambda v: isinstance(v, bool), "True or False"),
    "SLOW_CHECKOUT": Option(
        1.0, lambda v: v is None or (_is_number(v) and v >= 0), "None (off) or seconds >= 0"
    ),
    "CREDENTIALS": Option(
        None,
        lambda v: v is None or (isinstance(v, str) and "." in v.strip(".")),
        "None, or the dotted path of a function (alias) -> dict of DATABASES keys",
    ),
    "RECONNECT_BACKOFF": Option(
        1.0, lambda v: _is_number(v) and v >= 0, "seconds >= 0 (0: every checkout may connect)"
    ),
    "MIN_SIZE": Option(
        0,
        lambda v: _is_int(v) and v >= 0,
        "an integer >= 0, at most POOL_SIZE (0: open connections only when needed)",
    ),
    "IDLE_TIMEOUT": Option(
        None, lambda v: v is None or (_is_number(v) and v > 0), "None (off) or seconds > 0"
    ),
}

_defaults: dict[str, Any] = {key: option.default for key, option in OPTIONS.items()}


@dataclass(frozen=True)
class Problem:
    """One mistake in a POOL_OPTIONS dict: what kind, which key, and what was expected."""

    kind: str  # "not a dict", "unknown key" or "invalid value"
    key: Any = None
    value: Any = None

    def describe(self, where: str) -> str:
        """Say the mistake, naming the setting (`where`), the bad value and the valid ones."""
        if self.kind == "not a dict":
            return f"{where} must be a dict, not {type(self.value).__name__}."
        if self.kind == "unknown key":
            return f"{where}: unknown key {self.key!r}. Valid keys: {', '.join(OPTIONS)}."
        return (
            f"{where}[{self.key!r}] = {self.value!r} is not valid: "
            f"expected {OPTIONS[self.key].valid}."
        )


def problems(pool_options: Any) -> list[Problem]:
    """Return every mistake in a POOL_OPTIONS value (None is no options); the one validator."""
    if pool_options is None:
        return []
    if not isinstance(pool_options, Mapping):
        return [Problem("not a dict", value=pool_options)]
    found = []
    for key, value in pool_options.items():
        option = OPTIONS.get(key)
        if option is None:
            found.append(Problem("unknown key", key, value))
        elif not option.accepts(value):
            found.append(Problem("invalid value", key, value))
    if not found:
        # MIN_SIZE against POOL_SIZE, either from the defaults (POOL_SIZE 0: no limit).
        merged = {**_defaults, **pool_options}
        if 0 < merged["POOL_SIZE"] < merged["MIN_SIZE"]:
            found.append(Problem("invalid value", "MIN_SIZE", merged["MIN_SIZE"]))
    return found


def resolve(pool_options: Any, alias: str) -> dict[str, Any]:
    """Return the complete, validated options of a pool from its POOL_OPTIONS."""
    found = problems(pool_options)
    if found:
        raise ImproperlyConfigured(found[0].describe(f"DATABASES[{alias!r}]['POOL_OPTIONS']"))
    return {**_defaults, **(pool_options or {})}


def setup(**defaults: Any) -> None:
    """Change the defaults of every pool created from now on.

    Takes the POOL_OPTIONS keys in lower case, for example
    ``setup(pool_size=20, max_overflow=5)``. Nothing changes if any is wrong.
    """
    where = "dj_db_conn_pool.setup()"
    for name in defaults:
        if not name.islower() or name.upper() not in OPTIONS:
            valid = ", ".join(key.lower() for key in OPTIONS)
            raise ImproperlyConfigured(
                f"{where}: unknown argument {name!r}. Valid arguments: {valid}."
            )
    # All at once: setup(pool_size=20, min_size=15) is valid where min_size=15 alone is not.
    found = problems({name.upper(): value for name, value in defaults.items()})
    if found:
        problem = found[0]
        raise ImproperlyConfigured(
            f"{where}: {problem.key.lower()!r} = {problem.value!r} is not valid: "
            f"expected {OPTIONS[problem.key].valid}."
        )
    _defaults.update({name.upper(): value for name, value in defaults.items()})


def current_defaults() -> dict[str, Any]:
    """Return a copy of the defaults that new pools start from."""
    return dict(_defaults)


def pool_config(alias: str, settings_dict: Mapping[str, Any], errors: Errors) -> PoolConfig:
    """Return the PoolConfig of an alias's settings: its POOL_OPTIONS, validated, and who it is."""
    resolved = resolve(settings_dict.get("POOL_OPTIONS"), alias)
    return PoolConfig(
        name=alias,
        where=(
            f"database {settings_dict.get('NAME')!r} on "
            f"{settings_dict.get('HOST') or 'localhost'!r} as {settings_dict.get('USER')!r}"
        ),
        database=settings_dict.get("NAME"),
        secret=settings_dict.get("PASSWORD") or "",
        autocommit=bool(settings_dict.get("AUTOCOMMIT", True)),
        errors=errors,
        **{key.lower(): value for key, value in resolved.items()},
    )
