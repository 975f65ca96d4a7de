"""An in-process DB-API driver for the pool's unit tests (SQLAlchemy's MockDBAPI is the model).

Each connection keeps what a server would: a transaction (opened by BEGIN, or
by any statement with autocommit off), the autocommit mode, whether its session
was killed, and everything it received. A real socket pair stands in for the
wire, so the pool's socket poll and descriptor checks work on it: a kill writes
to the far end, as a server's goodbye would.
"""

from __future__ import annotations

import itertools
import socket
from typing import Any

from dj_db_conn_pool.config import PoolConfig
from dj_db_conn_pool.hooks import DriverHooks
from dj_db_conn_pool.pool import PoolEntry


class Error(Exception):
    """The driver's own error class (the pool's `driver_error`)."""


class FakeConnection:
    """One session of the fake server."""

    _ids = itertools.count(1)

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.id = next(self._ids)
        self.autocommit = False  # as DB-API says; the pool's owner sets it
        self.in_transaction = False
        self.killed = self.closed = False
        self.received: list[str] = []
        self.near, self.far = socket.socketpair()

    def fileno(self) -> int:
        if self.closed:
            raise Error("connection closed")
        return self.near.fileno()

    def _check(self) -> None:
        if self.closed:
            raise Error("connection closed")
        if self.killed:
            raise Error("server closed the connection unexpectedly")

    def execute(self, sql: str) -> None:
        self._check()
        self.received.append(sql)
        if sql == "BEGIN" or not self.autocommit:
            self.in_transaction = True

    def cursor(self) -> FakeCursor:
        self._check()
        return FakeCursor(self)

    def rollback(self) -> None:
        self._check()
        self.received.append("ROLLBACK")
        self.in_transaction = False

    def commit(self) -> None:
        self._check()
        self.received.append("COMMIT")
        self.in_transaction = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.near.close()
            self.far.close()
            self.server.open.discard(self)

    def kill(self) -> None:
        """End the session from the server's side; its socket gets the news."""
        self.killed = True
        self.far.send(b"E")


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection

    def execute(self, sql: str) -> None:
        self.connection.execute(sql)

    def close(self) -> None:
        pass


class FakeServer:
    """Opens sessions, and refuses them while `down`."""

    def __init__(self) -> None:
        self.open: set[FakeConnection] = set()
        self.opened: list[FakeConnection] = []
        self.down = False

    def connect(self) -> FakeConnection:
        if self.down:
            raise Error("could not connect: the server is down (password: hunter2)")
        connection = FakeConnection(self)
        self.open.add(connection)
        self.opened.append(connection)
        return connection


class FakeHooks(DriverHooks):
    """What a real engine's hooks read, read from the fake connection: all local."""

    @staticmethod
    def transaction_open(dbapi_connection: Any) -> bool:
        return bool(dbapi_connection.in_transaction)

    @staticmethod
    def broken(dbapi_connection: Any) -> bool:
        return bool(dbapi_connection.closed)


def make_pool(server: FakeServer | None = None, **options: Any) -> tuple[PoolEntry, FakeServer]:
    """Return a pool over a fake server, with PoolConfig fields as keyword arguments."""
    server = server or FakeServer()
    config = PoolConfig(name="unit", where="the fake server", secret="hunter2", **options)
    return PoolEntry(config, server.connect, FakeHooks, Error), server


def lend(entry: PoolEntry) -> Any:
    """Check a connection out and set it up as the pool's owner would (autocommit on)."""
    checkout = entry.checkout()
    checkout.dbapi_connection.autocommit = entry.config.autocommit
    return checkout
