"""CREDENTIALS: passwords that rotate under load, on real servers.

Two logins take turns, as a vault's alternating-users rotation does: the one
not in use gets a new password, then becomes the current one. A login fetched
just before a switch still works, so a request never meets a password that
changed under it; what the test proves is that new connections log in with
whatever the function returns now, and old ones keep working.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import close_old_connections, connections

import dj_db_conn_pool
from conftest import TEST_DATABASE, alias
from dj_db_conn_pool import PoolError
from integration.engines import MYSQL, POSTGIS, Engine
from integration.helpers import fan_out

ALIAS = "rotating"
USERS = ("djpool_rot_a", "djpool_rot_b")
_current: dict[str, str] = {}
_lock = threading.Lock()


def current_credentials(alias: str) -> dict[str, str]:
    """The CREDENTIALS function under test: the login in use now."""
    assert alias == ALIAS
    with _lock:
        return dict(_current)


def failing_credentials(alias: str) -> dict[str, str]:
    raise RuntimeError("vault says no to s3cr3t-in-message")


class Rotation:
    """Create the two logins on a server, change their passwords, drop them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.turn = 0

    def admin(self, sql: str) -> None:
        if self.engine is POSTGIS:  # the socket trusts postgres; TCP asks for passwords
            import psycopg

            with psycopg.connect(
                host=POSTGIS.env("HOST"), port=POSTGIS.env("PORT"), user="postgres",
                dbname="postgres", autocommit=True,
            ) as admin:  # fmt: skip
                admin.execute(sql)
            return
        observer = self.engine.raw_connect()
        try:
            observer.cursor().execute(sql)
        finally:
            observer.close()

    def set_password(self, user: str, password: str) -> None:
        if self.engine is POSTGIS:
            self.admin(f"ALTER ROLE {user} PASSWORD '{password}'")
        else:
            self.admin(f"ALTER USER '{user}'@'%' IDENTIFIED BY '{password}'")

    def create(self) -> None:
        for user in USERS:
            if self.engine is POSTGIS:
                self.admin(f"DROP ROLE IF EXISTS {user}")
                self.admin(f"CREATE ROLE {user} LOGIN PASSWORD 'start-{user}'")
            else:
                self.admin(f"DROP USER IF EXISTS '{user}'@'%'")
                self.admin(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'start-{user}'")
                self.admin(f"GRANT ALL ON {TEST_DATABASE}.* TO '{user}'@'%'")
        with _lock:
            _current.update(USER=USERS[0], PASSWORD=f"start-{USERS[0]}")

    def rotate(self) -> None:
        """Give the login not in use a new password, then make it the current one."""
        self.turn += 1
        user = USERS[self.turn % 2]
        password = f"p{self.turn}-{os.getpid()}"
        self.set_password(user, password)
        with _lock:
            _current.update(USER=user, PASSWORD=password)

    def drop(self) -> None:
        for user in USERS:
            if self.engine is POSTGIS:
                self.admin(f"DROP ROLE IF EXISTS {user}")
            else:
                self.admin(f"DROP USER IF EXISTS '{user}'@'%'")


def settings_for(engine: Engine, **pool_options: Any) -> dict[str, Any]:
    if engine is POSTGIS:  # over TCP, where the cluster checks passwords
        server = {"HOST": "127.0.0.1", "PORT": POSTGIS.env("PORT"), "NAME": "postgres"}
        engine_path = "dj_db_conn_pool.backends.postgresql"
    else:
        server = {"HOST": MYSQL.env("HOST"), "PORT": MYSQL.env("PORT"), "NAME": TEST_DATABASE}
        engine_path = "dj_db_conn_pool.backends.mysql"
    return {
        "ENGINE": engine_path,
        **server,
        "USER": "written-in-settings",
        "PASSWORD": "never-used",
        "POOL_OPTIONS": {"CREDENTIALS": f"{__name__}.current_credentials", **pool_options},
    }


@pytest.fixture(params=["postgresql", "mysql"])
def rotation(request: pytest.FixtureRequest) -> Iterator[Rotation]:
    engine = POSTGIS if request.param == "postgresql" else MYSQL
    if not engine.configured:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the {engine.alias} server is not running")
        pytest.skip(f"{engine.env_prefix}_HOST is not set: run `make services`")
    pytest.importorskip("psycopg" if engine is POSTGIS else "MySQLdb")
    found = Rotation(engine)
    found.create()
    try:
        yield found
    finally:
        found.drop()


def test_rotating_passwords_under_load_fail_no_request(rotation: Rotation) -> None:
    # RECYCLE short, so that new logins happen all along; 8 threads, 4 connections.
    settings = settings_for(rotation.engine, POOL_SIZE=4, MAX_OVERFLOW=0, RECYCLE=0.3)
    stop = threading.Event()
    logins: set[str] = set()
    with alias(ALIAS, settings):

        def client(number: int) -> None:
            while not stop.is_set():
                close_old_connections()
                with connections[ALIAS].cursor() as cursor:
                    cursor.execute("SELECT current_user")
                    logins.add(str(cursor.fetchone()[0]).split("@")[0])
                close_old_connections()

        load = threading.Thread(target=lambda: errors.extend(fan_out(8, client)))
        errors: list[BaseException] = []
        load.start()
        for _ in range(8):
            time.sleep(0.25)
            rotation.rotate()
        stop.set()
        load.join()
        figures = dj_db_conn_pool.stats(ALIAS)[ALIAS]
    assert errors == [], [f"{type(e).__name__}: {e}" for e in errors[:3]]
    assert logins == set(USERS)  # both logins served requests
    assert figures["connections_opened"] > 4  # new logins, each with what was current
    assert figures["checkouts"] > 50


def test_failing_credentials_function_names_itself_not_its_secret(rotation: Rotation) -> None:
    settings = settings_for(rotation.engine)
    settings["POOL_OPTIONS"]["CREDENTIALS"] = f"{__name__}.failing_credentials"
    with alias(ALIAS, settings), pytest.raises(PoolError) as raised:
        connections[ALIAS].ensure_connection()
    message = str(raised.value)
    assert repr(ALIAS) in message and "failing_credentials" in message
    assert "RuntimeError" in message and "s3cr3t" not in message
