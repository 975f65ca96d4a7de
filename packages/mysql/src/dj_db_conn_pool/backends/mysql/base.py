"""MySQL and MariaDB through Django's own backend (mysqlclient), pooled."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

try:
    from django.db.backends.mysql import base
except ImproperlyConfigured as error:
    raise ImproperlyConfigured(
        f"{error}. dj_db_conn_pool.backends.mysql needs mysqlclient: "
        "pip install django-db-connection-pool-mysql (it depends on mysqlclient, "
        "which builds against libmysqlclient-dev or libmariadb-dev)."
    ) from error

from dj_db_conn_pool.capacity import Limit, one_row, server_of
from dj_db_conn_pool.hooks import DriverHooks
from dj_db_conn_pool.mixin import PooledDatabaseWrapperMixin

from . import native

# ER_OPTION_PREVENTS_STATEMENT, which names the option: read-only, or another.
_OPTION_PREVENTS_STATEMENT = 1290
# The client's last error said the connection is lost (CR_SERVER_GONE_ERROR,
# CR_SERVER_LOST, CR_SERVER_LOST_EXTENDED): libmariadb closed its socket then.
_LOST = frozenset((2006, 2013, 2055))


class MySQLHooks(DriverHooks):
    """What the pool asks mysqlclient: the status word (native.py) tells most."""

    transaction_open = staticmethod(native.transaction_open)
    can_reset_session = True

    @staticmethod
    def reset_session(dbapi_connection: Any) -> None:
        native.reset_connection(dbapi_connection)

    @staticmethod
    def broken(dbapi_connection: Any) -> bool:
        # A lost connection stays `open`, its closed descriptor's number still
        # reported by fileno(): the last error tells, read locally.
        return not dbapi_connection.open or dbapi_connection.errno() in _LOST

    @staticmethod
    def ping(dbapi_connection: Any) -> None:
        dbapi_connection.ping()

    @staticmethod
    def read_only_error(error: BaseException) -> bool:
        args: tuple[Any, ...] = getattr(error, "args", ())
        if len(args) != 2 or args[0] != _OPTION_PREVENTS_STATEMENT:
            return False
        return "read-only" in str(args[1]) or "read_only" in str(args[1])

    @staticmethod
    def autocommit(dbapi_connection: Any) -> bool:
        return bool(dbapi_connection.get_autocommit())  # the status word's bit: no round trip

    @staticmethod
    def set_autocommit(dbapi_connection: Any, autocommit: bool) -> None:
        dbapi_connection.autocommit(autocommit)


# The session's max_user_connections is the account's own limit when it has one.
_LIMITS = (
    "SELECT @@GLOBAL.max_connections, @@SESSION.max_user_connections, CURRENT_USER(), VERSION()"
)
_CONNECTED = "SHOW GLOBAL STATUS LIKE 'Threads_connected'"


class DatabaseWrapper(PooledDatabaseWrapperMixin, base.DatabaseWrapper):
    pool_hooks = MySQLHooks

    def pool_server_limits(self) -> list[Limit]:
        """Return the server's connection limits: its own and the account's."""
        server, where = server_of(self)
        maximum, user_limit, account, version = one_row(self, _LIMITS)
        _, connected = one_row(self, _CONNECTED)
        return [
            Limit(
                ("server", *server),
                f"{'MariaDB' if 'MariaDB' in version else 'MySQL'} {where}",
                int(maximum),
                f"max_connections {maximum}",
                int(connected),
            ),
            Limit(
                ("role", *server, account),
                f"account {account!r}",
                int(user_limit) if int(user_limit) > 0 else None,
                f"max_user_connections {user_limit}",
            ),
        ]
