"""An in-process DB-API driver for the pool's unit tests (SQLAlchemy's MockDBAPI is the model).

Each connection keeps what a real one keeps locally (a transaction open or
not, the autocommit flag, closed) and counts what the "server" received.
Its fileno() is one end of a real socketpair, so the pool's socket poll and
socket identity work; the server end can kill the session, which makes the
socket readable and the next ping or execute fail. `sockets=False` makes
connections without fileno(), as JDBC's or oracledb thin's.
"""

from __future__ import annotations

import socket
from collections import Counter
from typing import Any

from dj_db_conn_pool.hooks import DriverHooks

GOODBYE = b"X"


class Error(Exception):
    """The driver's error class (DB-API's Error)."""


class Connection:
    """One fake driver connection."""

    def __init__(self, driver: FakeDriver, number: int) -> None:
        self.driver = driver
        self.number = number
        self.autocommit = driver.autocommit
        self.read_only = driver.read_only  # what the server last reported (libpq's status)
        self.in_transaction = False
        self.closed = False
        self.killed = False
        self.received: Counter[str] = Counter()
        self.sockets = socket.socketpair() if driver.sockets else None

    def __repr__(self) -> str:
        return f"<fake connection {self.number}>"

    def fileno(self) -> int:
        if self.sockets is None:
            raise AttributeError("no socket")  # as JDBC: nothing to poll
        if self.closed:
            raise Error("connection already closed")  # as psycopg's and mysqlclient's
        return self.sockets[0].fileno()

    def _server(self, what: str) -> None:
        if self.closed:
            raise Error("connection already closed")
        self.received[what] += 1
        if self.killed:
            raise Error("server closed the connection unexpectedly")

    def execute(self, sql: str) -> None:
        """Run a statement: BEGIN, or any statement outside autocommit, opens a transaction."""
        self._server("execute")
        if sql.split()[0].upper() == "BEGIN" or not self.autocommit:  # DB-API's implicit BEGIN
            self.in_transaction = True

    def cursor(self) -> Cursor:
        return Cursor(self)

    def ping(self) -> None:
        self._server("ping")

    def rollback(self) -> None:
        self._server("rollback")
        self.in_transaction = False

    def commit(self) -> None:
        self._server("commit")
        self.in_transaction = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.received["close"] += 1
            if self.sockets is not None:
                # A real driver says goodbye to the server (libpq's Terminate):
                # the fork guard's test watches for it. The server's end stays
                # the driver's (close_all()).
                self.sockets[0].send(GOODBYE)
                self.sockets[0].close()

    def kill(self) -> None:
        """End the session from the server's side: the socket turns readable, queries fail."""
        self.killed = True
        if self.sockets is not None:
            try:
                self.sockets[1].send(b"E")
            except OSError:  # the client's end is gone already
                pass


class Cursor:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def execute(self, sql: str) -> None:
        self.connection.execute(sql)

    def close(self) -> None:
        pass


class FakeDriver:
    """A driver module: connect() and the connections it made."""

    Error = Error

    def __init__(self, autocommit: bool = True, sockets: bool = True) -> None:
        self.autocommit = autocommit
        self.sockets = sockets
        self.read_only = False  # the server new connections reach: a standby if True
        self.connections: list[Connection] = []
        self.refuse: Exception | None = None  # raised by the next connect()s while set
        self.attempts = 0  # connect() calls, refused ones included

    def connect(self) -> Connection:
        self.attempts += 1
        if self.refuse is not None:
            raise self.refuse
        connection = Connection(self, len(self.connections))
        self.connections.append(connection)
        return connection

    def open_connections(self) -> list[Connection]:
        return [c for c in self.connections if not c.closed]

    def close_all(self) -> None:
        for connection in self.connections:
            if connection.sockets is not None:
                for end in connection.sockets:
                    end.close()


class FakeHooks(DriverHooks):
    """The hooks an engine would write for this driver: answers read locally."""

    @staticmethod
    def transaction_open(dbapi_connection: Any) -> bool:
        return bool(dbapi_connection.in_transaction)

    @staticmethod
    def ping(dbapi_connection: Any) -> None:
        dbapi_connection.ping()

    @staticmethod
    def read_only(dbapi_connection: Any) -> bool:
        return bool(dbapi_connection.read_only)
