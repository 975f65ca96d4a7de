"""The pooled Django database backends; each engine ships in its own wheel."""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)
