"""python-oracledb's driver mode, thin or thick, chosen in OPTIONS.

OPTIONS['driver_mode'] = 'thin' or 'thick'; with 'thick', OPTIONS['init_oracle_client']
holds the arguments of oracledb.init_oracle_client() (lib_dir, config_dir,
error_url, driver_name). Without 'driver_mode' the process keeps the mode
python-oracledb picks: thin, unless the application called init_oracle_client().
The mode is per process and fixed by the first connection, so every alias that
names one must name the same.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import oracledb
from django.core.exceptions import ImproperlyConfigured

MODES = ("thin", "thick")
CLIENT_ARGUMENTS = ("lib_dir", "config_dir", "error_url", "driver_name")
KEYS = ("driver_mode", "init_oracle_client")  # ours: not passed to oracledb.connect()

_lock = threading.Lock()


@dataclass(frozen=True)
class DriverMode:
    """The mode an alias asks for (None: python-oracledb's choice), and for thick its client."""

    mode: str | None
    client: Mapping[str, Any] = field(default_factory=dict)


def read(options: Mapping[str, Any], alias: str) -> DriverMode:
    """Return the alias's driver mode, or raise ImproperlyConfigured naming the bad setting."""
    where = f"DATABASES[{alias!r}]['OPTIONS']"
    mode = options.get("driver_mode")
    if mode is not None and mode not in MODES:
        raise ImproperlyConfigured(
            f"{where}['driver_mode'] = {mode!r} is not valid: expected 'thin' or 'thick' "
            f"(or no key: python-oracledb's default, thin)."
        )
    client = options.get("init_oracle_client")
    if client is None:
        return DriverMode(mode)
    if mode != "thick":
        raise ImproperlyConfigured(
            f"{where}['init_oracle_client'] is set but {where}['driver_mode'] is {mode!r}: "
            f"the Oracle Client libraries are for driver_mode 'thick'."
        )
    if not isinstance(client, Mapping) or not set(client) <= set(CLIENT_ARGUMENTS):
        raise ImproperlyConfigured(
            f"{where}['init_oracle_client'] = {client!r} is not valid: expected a dict of "
            f"oracledb.init_oracle_client() arguments: {', '.join(CLIENT_ARGUMENTS)}."
        )
    return DriverMode(mode, dict(client))


def apply(wanted: DriverMode, alias: str) -> None:
    """Put python-oracledb in the alias's mode before its first connection."""
    if wanted.mode is None:
        return
    where = f"DATABASES[{alias!r}]['OPTIONS']['driver_mode'] = {wanted.mode!r}"
    with _lock:
        thin = oracledb.is_thin_mode()
        if wanted.mode == "thin":
            if not thin:
                raise ImproperlyConfigured(
                    f"{where}, but python-oracledb is in thick mode already (another alias "
                    f"asked for it, or the application called oracledb.init_oracle_client()); "
                    f"the mode is per process: give every Oracle alias the same driver_mode."
                )
            enable_thin_mode = getattr(oracledb, "enable_thin_mode", None)  # oracledb 2.0+
            if enable_thin_mode is not None:
                enable_thin_mode()
            return
        if not thin:
            return  # thick already, by this or another alias, or by the application
        try:
            oracledb.init_oracle_client(**wanted.client)
        except oracledb.Error as error:
            raise ImproperlyConfigured(
                f"{where} could not load the Oracle Client libraries with "
                f"init_oracle_client({', '.join(f'{k}={v!r}' for k, v in wanted.client.items())}): "
                f"{error}. Thick mode cannot start once a thin connection exists, and needs "
                f"Oracle Instant Client (set OPTIONS['init_oracle_client']['lib_dir'], or the "
                f"library search path)."
            ) from error
