"""Lean counters and histograms for the per-request hot path, exposed at scrape time.

prometheus_client guards every value with a lock: measured on this machine, `Counter.inc()` costs
~1.4 µs and `Histogram.observe()` ~4 µs (a linear bucket scan, one locked increment per step),
even with cached children. The families updated once or more per request live here instead as
plain dicts — ~0.3 µs per increment, ~0.5 µs per observation (bisect) — and a custom Collector
turns them into ordinary counter and histogram families when Prometheus scrapes. Scrapes run on
the event loop's thread (aiohttp), so the tables need no locks; `list(dict.items())` keeps a
scrape from another thread safe as well, at worst one observation out of step.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import TypeAlias

from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from harness.telemetry.catalog import MetricDef, MetricType

Key: TypeAlias = tuple[str, ...]


class CounterTable:
    """A labelled counter: label-value tuple -> count."""

    __slots__ = ("counts", "d")

    def __init__(self, d: MetricDef) -> None:
        if d.type is not MetricType.COUNTER:
            raise ValueError(f"{d.name} is not a counter")
        self.d = d
        self.counts: dict[Key, float] = {}

    def inc(self, key: Key, amount: float = 1.0) -> None:
        counts = self.counts
        counts[key] = counts.get(key, 0.0) + amount

    def family(self) -> Metric:
        metric = CounterMetricFamily(self.d.name, self.d.help, labels=self.d.labels)
        for key, count in list(self.counts.items()):
            metric.add_metric([str(v) for v in key], count)
        return metric


class HistogramTable:
    """A labelled histogram: label-value tuple -> [count per bucket ..., count above, sum]."""

    __slots__ = ("bounds", "d", "rows")

    def __init__(self, d: MetricDef) -> None:
        if d.type is not MetricType.HISTOGRAM:
            raise ValueError(f"{d.name} is not a histogram")
        self.d = d
        self.bounds = d.buckets
        self.rows: dict[Key, list[float]] = {}

    def observe(self, key: Key, value: float) -> None:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0.0] * (len(self.bounds) + 2)
        # bisect_left: a value equal to a bound belongs to that bucket (le = "less or equal").
        row[bisect_left(self.bounds, value)] += 1
        row[-1] += value

    def family(self) -> Metric:
        metric = HistogramMetricFamily(self.d.name, self.d.help, labels=self.d.labels)
        edges = [repr(float(b)) for b in self.bounds] + ["+Inf"]  # as prometheus_client: "1.0"
        for key, row in list(self.rows.items()):
            cumulative, buckets = 0.0, []
            for edge, count in zip(edges, row[:-1], strict=True):
                cumulative += count
                buckets.append((edge, cumulative))
            metric.add_metric([str(v) for v in key], buckets, row[-1])
        return metric


class TablesCollector(Collector):
    """Exposes a set of tables as metric families."""

    def __init__(self, *tables: CounterTable | HistogramTable) -> None:
        self._tables = tables

    def describe(self) -> Iterator[Metric]:
        return (type(t)(t.d).family() for t in self._tables)

    def collect(self) -> Iterator[Metric]:
        return (t.family() for t in self._tables)
