"""Pulled metrics: world state, load-generator health and run time, read at scrape time.

The DNS server and the endpoints keep plain integer counters (harness.world.stats) and stay free
of metric calls on their hot paths; a custom Collector turns them into metric families only when
Prometheus scrapes (the prometheus_client "custom collector" pattern). Scrapes are served from the
event loop (aiohttp), so sources are read on the loop's thread and need no locks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol, runtime_checkable

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from harness.telemetry import catalog as m
from harness.telemetry.catalog import MetricDef, MetricType
from harness.world.stats import ConsistencyStats, DnsQueryCount, RegionStats, ReplicationStats

log = logging.getLogger(__name__)

SEND_LAG_QUANTILE = "0.99"


class WorldSource(Protocol):
    """What a world (DNS server, regions, replication) exposes to telemetry."""

    def dns_stats(self) -> Sequence[DnsQueryCount]: ...
    def region_stats(self) -> Sequence[RegionStats]: ...
    def replication_stats(self) -> Sequence[ReplicationStats]: ...
    def consistency_stats(self) -> Sequence[ConsistencyStats]: ...


@dataclass(frozen=True, slots=True)
class GeneratorStats:
    """Health of one strategy's open-loop generator (untrustworthy numbers when saturated)."""

    sent_total: int  # sends whose lag was measured
    send_lag_p99: float  # seconds, over the generator's own window
    send_lag_max: float
    in_flight: int
    saturated: bool
    send_lag_sum: float | None = None  # seconds over all sends, when the generator keeps it


class LagHistogram(Protocol):
    @property
    def count(self) -> int: ...
    def summary_ms(self) -> Mapping[str, float | None]: ...


class GeneratorLike(Protocol):
    """What harness.client.workload.OpenLoopGenerator offers (read at scrape time)."""

    @property
    def send_lag(self) -> LagHistogram: ...
    @property
    def in_flight(self) -> int: ...
    def saturation_reasons(self) -> list[str]: ...


def stats_of(generator: GeneratorLike) -> GeneratorStats:
    """GeneratorStats from a generator: two percentile queries (~0.3-0.5 ms each, hdrhistogram)."""
    lag = generator.send_lag.summary_ms()
    return GeneratorStats(
        sent_total=generator.send_lag.count,
        send_lag_p99=(lag.get("p99") or 0.0) / 1000.0,
        send_lag_max=(lag.get("max") or 0.0) / 1000.0,
        in_flight=generator.in_flight,
        saturated=bool(generator.saturation_reasons()),
    )


def family(d: MetricDef, labels: Sequence[str] | None = None) -> Metric:
    """An empty metric family for a catalog entry (counter, gauge or summary)."""
    names = list(d.labels if labels is None else labels)
    if d.type is MetricType.COUNTER:
        return CounterMetricFamily(d.name, d.help, labels=names)
    if d.type is MetricType.GAUGE:
        return GaugeMetricFamily(d.name, d.help, labels=names)
    if d.type is MetricType.SUMMARY:
        return SummaryMetricFamily(d.name, d.help, labels=names)
    raise ValueError(f"{d.name}: a pulled metric cannot be a {d.type}")


_REGION_FIELDS: tuple[tuple[MetricDef, str], ...] = (
    (m.ENDPOINT_CAPACITY, "concurrency"),
    (m.ENDPOINT_QUEUE_LIMIT, "queue_limit"),
    (m.ENDPOINT_IN_FLIGHT, "in_flight"),
    (m.ENDPOINT_QUEUED, "queued"),
    (m.ENDPOINT_SERVED, "served_total"),
    (m.ENDPOINT_THROTTLED, "throttled_total"),
    (m.ENDPOINT_ERRORS, "errors_total"),
    (m.ENDPOINT_ABANDONED, "abandoned_total"),
    (m.ENDPOINT_DROPPED, "dropped_abandoned_total"),
    (m.ENDPOINT_CONNECTIONS, "connections_open"),
    (m.ENDPOINT_CONNECTIONS_CLOSED, "connections_closed_by_server_total"),
)
_REPLICATION_FIELDS: tuple[tuple[MetricDef, str], ...] = (
    (m.REPLICATION_LAG, "lag_seconds"),
    (m.REPLICATION_PENDING, "pending"),
    (m.REPLICATION_APPLIED, "applied_total"),
    (m.LOST_WRITES, "lost_writes_total"),
)
WORLD_METRICS: tuple[MetricDef, ...] = (
    m.DNS_QUERIES,
    *(d for d, _ in _REGION_FIELDS),
    *(d for d, _ in _REPLICATION_FIELDS),
    m.STALE_READS,
)
GENERATOR_METRICS = (m.SEND_LAG, m.SEND_LAG_MAX, m.GENERATOR_IN_FLIGHT, m.SATURATED)


@runtime_checkable
class _Generator(Protocol):
    # Runtime check of the GeneratorLike shape (a runtime protocol cannot hold properties' types).
    send_lag: object
    in_flight: object

    def saturation_reasons(self) -> list[str]: ...


class WorldCollector(Collector):
    """World state of every registered owner, labelled strategy=<owner>."""

    def __init__(self) -> None:
        self._sources: dict[str, WorldSource] = {}

    def add(self, owner: str, source: WorldSource) -> None:
        if owner in self._sources:
            raise ValueError(f"a world source for {owner!r} is already registered")
        self._sources[owner] = source

    def remove(self, owner: str) -> None:
        self._sources.pop(owner, None)

    def describe(self) -> Iterator[Metric]:
        return (family(d) for d in WORLD_METRICS)

    def collect(self) -> Iterator[Metric]:
        families = {d.name: family(d) for d in WORLD_METRICS}
        for owner, source in list(self._sources.items()):
            try:
                _add_world(families, owner, source)
            except Exception:  # one broken source must not take the whole scrape down
                log.exception("world source %r failed during a scrape", owner)
        return iter(families.values())


def _add_world(families: dict[str, Metric], owner: str, source: WorldSource) -> None:
    dns = families[m.DNS_QUERIES.name]
    for q in source.dns_stats():
        _add(dns, (owner, q.name, q.qtype, q.rcode), q.count)
    for r in source.region_stats():
        for d, field in _REGION_FIELDS:
            _add(families[d.name], (owner, r.region), getattr(r, field))
    for p in source.replication_stats():
        for d, field in _REPLICATION_FIELDS:
            _add(families[d.name], (owner, p.source, p.destination), getattr(p, field))
    stale = families[m.STALE_READS.name]
    for c in source.consistency_stats():
        _add(stale, (owner, c.region), c.stale_reads_total)


def _add(metric: Metric, labels: Sequence[str], value: float) -> None:
    assert isinstance(metric, CounterMetricFamily | GaugeMetricFamily)
    metric.add_metric(labels, value)


class GeneratorCollector(Collector):
    """Send lag, in-flight and saturation of each strategy's load generator."""

    def __init__(self) -> None:
        self._sources: dict[str, Callable[[], GeneratorStats]] = {}

    def add(self, strategy: str, source: Callable[[], GeneratorStats] | GeneratorLike) -> None:
        if strategy in self._sources:
            raise ValueError(f"a generator source for {strategy!r} is already registered")
        if isinstance(source, _Generator):
            self._sources[strategy] = partial(stats_of, source)
        elif callable(source):
            self._sources[strategy] = source
        else:
            raise TypeError(f"not a generator source: {source!r}")

    def remove(self, strategy: str) -> None:
        self._sources.pop(strategy, None)

    def describe(self) -> Iterator[Metric]:
        return (family(d) for d in GENERATOR_METRICS)

    def collect(self) -> Iterator[Metric]:
        lag = family(m.SEND_LAG)
        lag_max, in_flight, saturated = (family(d) for d in GENERATOR_METRICS[1:])
        for strategy, fn in list(self._sources.items()):
            try:
                s = fn()
            except Exception:  # one broken source must not take the whole scrape down
                log.exception("generator source %r failed during a scrape", strategy)
                continue
            # Summary samples by hand: _sum only when the generator keeps one.
            lag.add_sample(f"{m.SEND_LAG.name}_count", {"strategy": strategy}, s.sent_total)
            if s.send_lag_sum is not None:
                lag.add_sample(f"{m.SEND_LAG.name}_sum", {"strategy": strategy}, s.send_lag_sum)
            quantile = {"strategy": strategy, "quantile": SEND_LAG_QUANTILE}
            lag.add_sample(m.SEND_LAG.name, quantile, s.send_lag_p99)
            _add(lag_max, (strategy,), s.send_lag_max)
            _add(in_flight, (strategy,), s.in_flight)
            _add(saturated, (strategy,), 1.0 if s.saturated else 0.0)
        return iter((lag, lag_max, in_flight, saturated))


class RunClockCollector(Collector):
    """`harness_run_elapsed_seconds`: read from the run's clock at scrape time (0 before start)."""

    def __init__(self) -> None:
        self._now: Callable[[], float] | None = None
        self._started = 0.0
        self._final: float | None = None

    def start(self, now: Callable[[], float]) -> None:
        self._now, self._started, self._final = now, now(), None

    def finish(self) -> None:
        self._final = self.elapsed()

    def elapsed(self) -> float:
        if self._final is not None:
            return self._final
        return 0.0 if self._now is None else self._now() - self._started

    def describe(self) -> Iterator[Metric]:
        return iter((family(m.RUN_ELAPSED),))

    def collect(self) -> Iterator[Metric]:
        metric = family(m.RUN_ELAPSED)
        _add(metric, (), self.elapsed())
        return iter((metric,))
