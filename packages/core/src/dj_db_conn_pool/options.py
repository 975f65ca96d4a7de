"""POOL_OPTIONS: the keys, their defaults, their validation, and ``setup()``."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured


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
}

_defaults: dict[str, Any] = {key: option.default for key, option in OPTIONS.items()}


def resolve(pool_options: Any, alias: str) -> dict[str, Any]:
    """Return the complete, validated options of a pool from its POOL_OPTIONS."""
    where = f"DATABASES[{alias!r}]['POOL_OPTIONS']"
    if pool_options is None:
        pool_options = {}
    if not isinstance(pool_options, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict, not {type(pool_options).__name__}.")
    for key, value in pool_options.items():
        option = OPTIONS.get(key)
        if option is None:
            raise ImproperlyConfigured(
                f"{where}: unknown key {key!r}. Valid keys: {', '.join(OPTIONS)}."
            )
        if not option.accepts(value):
            raise ImproperlyConfigured(
                f"{where}[{key!r}] = {value!r} is not valid: expected {option.valid}."
            )
    return {**_defaults, **pool_options}


def setup(**defaults: Any) -> None:
    """Change the defaults of every pool created from now on.

    Takes the POOL_OPTIONS keys in lower case, for example
    ``setup(pool_size=20, max_overflow=5)``. Nothing changes if any is wrong.
    """
    for name, value in defaults.items():
        option = OPTIONS.get(name.upper()) if name.islower() else None
        if option is None:
            valid = ", ".join(key.lower() for key in OPTIONS)
            raise ImproperlyConfigured(
                f"dj_db_conn_pool.setup(): unknown argument {name!r}. Valid arguments: {valid}."
            )
        if not option.accepts(value):
            raise ImproperlyConfigured(
                f"dj_db_conn_pool.setup(): {name!r} = {value!r} is not valid: "
                f"expected {option.valid}."
            )
    _defaults.update({name.upper(): value for name, value in defaults.items()})


def current_defaults() -> dict[str, Any]:
    """Return a copy of the defaults that new pools start from."""
    return dict(_defaults)
