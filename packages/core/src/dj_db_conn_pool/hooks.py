"""DriverHooks: what the pool asks of a driver connection, with plain DB-API defaults.

The pool keeps all policy (when to roll back, ping, discard); an engine only
answers questions about its driver, each without a round trip unless its name
says otherwise (rollback, ping, set_autocommit, reset_session). Like
SQLAlchemy's _ConnDialect beside its Pool: one small object per driver.
"""

from __future__ import annotations

from typing import Any, ClassVar

from . import liveness


class DriverHooks:
    """The default answers; an engine subclasses this where its driver knows better."""

    # Whether reset_session() works: RESET_ON_RETURN="session" is refused where not.
    can_reset_session: ClassVar[bool] = False

    @staticmethod
    def transaction_open(dbapi_connection: Any) -> bool:
        """Return whether a transaction may be open: False only where the driver proves none is."""
        return True

    @staticmethod
    def rollback(dbapi_connection: Any) -> None:
        """Roll back whatever transaction may be open."""
        dbapi_connection.rollback()

    @staticmethod
    def autocommit(dbapi_connection: Any) -> bool | None:
        """Return the driver's autocommit mode, read locally; None where it cannot tell."""
        autocommit = getattr(dbapi_connection, "autocommit", None)
        return autocommit if isinstance(autocommit, bool) else None

    @staticmethod
    def set_autocommit(dbapi_connection: Any, autocommit: bool) -> None:
        """Set the driver's autocommit mode (no transaction is open)."""
        dbapi_connection.autocommit = autocommit

    @staticmethod
    def broken(dbapi_connection: Any) -> bool:
        """Return whether the driver knows, locally, that this connection is unusable."""
        return bool(getattr(dbapi_connection, "closed", False))

    @staticmethod
    def read_only(dbapi_connection: Any) -> bool:
        """Return whether the server last said this session cannot write, read locally.

        PostgreSQL reports it after every round trip (libpq's parameter status);
        a driver that cannot tell without a query says False.
        """
        return False

    @staticmethod
    def read_only_error(error: BaseException) -> bool:
        """Return whether a driver error says the server refused a write as read-only."""
        return False

    @staticmethod
    def may_be_dead(dbapi_connection: Any) -> bool:
        """Return whether an idle connection may have died, telling without a round trip.

        With PRE_PING, True makes the pool ping the connection before lending
        it; False lends it unless it sat idle PING_INTERVAL seconds. The default
        polls the driver's socket (liveness.py). A driver without fileno() has
        no socket to poll, so the default says True and such connections are
        pinged at every checkout. An engine whose driver can tell more without
        a round trip overrides this; one that returns False (or only what the
        driver knows locally, such as a `closed` flag) pings after PING_INTERVAL
        idle instead, and a session killed meanwhile fails its first query.
        """
        return liveness.socket_has_news(dbapi_connection)

    @staticmethod
    def reset_session(dbapi_connection: Any) -> None:
        """Reset the session to a fresh login's state, keeping the connection open."""
        raise NotImplementedError("this driver cannot reset a session")

    @staticmethod
    def ping(dbapi_connection: Any) -> None:
        """Raise if the server does not answer on this connection (a round trip)."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
