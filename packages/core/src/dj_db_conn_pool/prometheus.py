"""Prometheus metrics of this process's pools (the core's `prometheus` extra).

Call ``dj_db_conn_pool.prometheus.register()`` once per process, for example in
an AppConfig.ready(); whatever serves prometheus_client's registry (its
``start_http_server()``, a /metrics view) then exports, per alias, what
``stats()`` reports and a histogram of the time each checkout waited.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from . import pool
from .figures import COUNTERS, SIZES, STATE
from .stats import stats

PREFIX = "dj_db_conn_pool_"
# Seconds: a free connection is lent in well under a millisecond; a full pool
# makes requests wait up to TIMEOUT (30s by default).
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class PoolCollector:
    """Read stats() at each scrape: one sample per alias of each gauge and counter."""

    def describe(self) -> Iterable[Metric]:
        return self._families().values()

    def collect(self) -> Iterable[Metric]:
        families = self._families()
        for alias, figures in stats().items():
            for key, family in families.items():
                family.add_metric([alias], figures[key])
        return families.values()

    @staticmethod
    def _families() -> dict[str, GaugeMetricFamily | CounterMetricFamily]:
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            figure.key: GaugeMetricFamily(PREFIX + figure.metric, figure.help, labels=["alias"])
            for figure in (*STATE, *SIZES)
        }
        families.update(
            {
                figure.key: CounterMetricFamily(
                    PREFIX + figure.metric, figure.help, labels=["alias"]
                )
                for figure in COUNTERS
            }
        )
        return families


class PoolMetrics:
    """What register() added to one registry; close() takes it out again."""

    def __init__(self, registry: CollectorRegistry, buckets: Sequence[float]) -> None:
        self.registry = registry
        self.collector = PoolCollector()
        self.wait_seconds = Histogram(
            PREFIX + "wait_seconds",
            "Seconds each checkout waited for a connection, lent or not.",
            ["alias"],
            registry=registry,
            buckets=buckets,
        )
        registry.register(self.collector)
        pool.wait_observers.append(self.observe_wait)

    def observe_wait(self, alias: str, waited: float) -> None:
        """Record one checkout's wait (the pool calls this)."""
        self.wait_seconds.labels(alias).observe(waited)

    def close(self) -> None:
        """Stop observing and take the metrics out of the registry (once)."""
        with _lock:
            if _registered.get(self.registry) is not self:
                return
            del _registered[self.registry]
            pool.wait_observers.remove(self.observe_wait)
            self.registry.unregister(self.collector)
            self.registry.unregister(self.wait_seconds)


_registered: dict[CollectorRegistry, PoolMetrics] = {}
_lock = threading.Lock()


def register(
    registry: CollectorRegistry = REGISTRY, buckets: Sequence[float] = WAIT_BUCKETS
) -> PoolMetrics:
    """Export the pools' metrics through `registry` (prometheus_client's default); once each."""
    with _lock:
        metrics = _registered.get(registry)
        if metrics is None:
            metrics = _registered[registry] = PoolMetrics(registry, buckets)
        return metrics
