"""dj_db_conn_pool: a connection pool for Django's database backends."""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)

from importlib.metadata import PackageNotFoundError, version

from .container import drain
from .exceptions import PoolError, PoolTimeout, TooManyRequests
from .options import setup
from .stats import stats

try:
    __version__ = version("django-db-connection-pool")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = [
    "PoolError",
    "PoolTimeout",
    "TooManyRequests",
    "__version__",
    "drain",
    "setup",
    "stats",
]
