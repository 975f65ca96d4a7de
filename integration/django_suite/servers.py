"""The database server of a run: a compose.yaml service when Docker works, else local.

The local servers are the ones `make services` starts (integration/services.py),
found through the DJ_DB_CONN_POOL_* variables or .services/env, or the suite's
own instances of the system's servers (system_servers.py). The compose
services listen on 127.0.0.1 on ports of their own, so all can coexist.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "integration" / "compose.yaml"
SERVICES_ENV = ROOT / ".services" / "env"

# The throwaway servers of compose.yaml all use it.
COMPOSE_PASSWORD = "djpool-test-only"


@dataclass(frozen=True)
class Server:
    """Where the suite's databases live, and which Django series support that server."""

    name: str  # a service of compose.yaml, or "local"
    family: str  # the kind of server: postgresql, postgis (with PostGIS), mysql, oceanbase
    host: str
    port: str
    user: str
    password: str = ""
    django: tuple[str, ...] = ()  # the Django series (hatch's `django`) it supports; (): all
    ci: bool = True  # in the CI matrix (gen_workflow.py)

    def supports(self, django_version: str) -> bool:
        """Return whether this Django version supports the server."""
        return not self.django or any(
            django_version == series or django_version.startswith(f"{series}.")
            for series in self.django
        )

    def connection(self) -> dict[str, str]:
        """Return the DATABASES keys that reach the server."""
        return {"HOST": self.host, "PORT": self.port, "USER": self.user, "PASSWORD": self.password}


COMPOSE_SERVERS = {
    server.name: server
    for server in (
        Server("postgresql", "postgresql", "127.0.0.1", "15432", "postgres", COMPOSE_PASSWORD),
        # The oldest PostgreSQL that Django 5.2 supports; Django 6 needs 15.
        Server(
            "postgresql14", "postgresql", "127.0.0.1", "15433", "postgres", COMPOSE_PASSWORD,
            django=("5.2",),
        ),
        # PostgreSQL with PostGIS, for GeoDjango.
        Server("postgis", "postgis", "127.0.0.1", "15434", "postgres", COMPOSE_PASSWORD),
        Server("mariadb", "mysql", "127.0.0.1", "13306", "root", COMPOSE_PASSWORD),
        Server("mysql", "mysql", "127.0.0.1", "13307", "root", COMPOSE_PASSWORD),
        # OceanBase CE (MySQL mode); Django does not support it, so the oceanbase
        # engines compare with Django's MySQL backend with its version check lifted.
        # CI uses seekdb from `make services` instead (SERVER=local, the default).
        Server("oceanbase", "oceanbase", "127.0.0.1", "12881", "root@test", ci=False),
        # No pooled Oracle engine yet: the service is there for when one exists.
        Server("oracle", "oracle", "127.0.0.1", "11521", "system", COMPOSE_PASSWORD, ci=False),
    )
}  # fmt: skip
POSTGRESQL_FAMILIES = ("postgresql", "postgis")
DEFAULT_SERVICE = {"postgresql": "postgresql", "postgis": "postgis", "mysql": "mariadb"}
_LOCAL_PREFIX = {
    "postgresql": "DJ_DB_CONN_POOL_PG",
    "postgis": "DJ_DB_CONN_POOL_POSTGIS",
    "mysql": "DJ_DB_CONN_POOL_MYSQL",
    "oceanbase": "DJ_DB_CONN_POOL_OCEANBASE",  # seekdb
}


def docker_works() -> bool:
    """Return whether a Docker engine answers."""
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _services_env() -> dict[str, str]:
    if not SERVICES_ENV.exists():
        return {}
    lines = SERVICES_ENV.read_text().splitlines()
    return dict(line.removeprefix("export ").split("=", 1) for line in lines if "=" in line)


def local(family: str) -> Server:
    """Return the local server of this family, from the environment or .services/env."""
    prefix = _LOCAL_PREFIX[family]
    env = {**_services_env(), **os.environ}
    if f"{prefix}_HOST" not in env:
        raise SystemExit(
            f"no local {family} server: run `make services` (or set {prefix}_HOST and friends)"
        )
    return Server(
        "local",
        family,
        env[f"{prefix}_HOST"],
        env.get(f"{prefix}_PORT", ""),
        env.get(f"{prefix}_USER", ""),
        env.get(f"{prefix}_PASSWORD", ""),
    )


def compose_up(server: Server) -> None:
    """Start a compose service and wait until its health check passes."""
    if not docker_works():
        raise SystemExit(f"server {server.name!r} is a compose service, and Docker does not work")
    command = ["docker", "compose", "-f", str(COMPOSE_FILE), "up", "-d", "--wait", server.name]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def _auto(family: str) -> str:
    if family == "oceanbase":
        return "local"  # seekdb, light enough for every machine; OceanBase CE: SERVER=oceanbase
    if docker_works():
        return DEFAULT_SERVICE[family]
    from . import system_servers

    if family in POSTGRESQL_FAMILIES and system_servers.pg_bindir(family) is not None:
        return "system-postgresql"
    if family == "mysql" and system_servers.mariadb_installed():
        return "system-mariadb"
    return "local"


def choose(family: str, requested: str) -> Server:
    """Return the server to use: auto, local, system-<family> or a compose service.

    auto is the family's compose service when Docker works; otherwise the
    suite's own instance of the system's server when installed (see
    system_servers.py), else the local server of `make services`.
    """
    if requested == "auto":
        requested = _auto(family)
    if requested == "local":
        return local(family)
    from . import system_servers

    if requested == "system-postgresql" and family in POSTGRESQL_FAMILIES:
        return system_servers.start_postgresql(family)
    if requested == "system-mariadb" and family == "mysql":
        return system_servers.start_mariadb()
    server = COMPOSE_SERVERS.get(requested)
    if server is None:
        raise SystemExit(
            f"unknown server {requested!r}: auto, local, system-postgresql, system-mariadb, "
            f"{', '.join(COMPOSE_SERVERS)}"
        )
    if server.family != family:
        raise SystemExit(f"server {server.name!r} is {server.family}, not {family}")
    compose_up(server)
    return server
