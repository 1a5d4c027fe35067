"""Per-service metrics, pulled at scrape time from each world's service tier (harness.services).

The tier describes itself as plain rows (ServiceRow); this module turns them into the catalog's
`harness_service_*` families, labelled strategy=<world owner>, service, region.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from harness.telemetry import catalog as m
from harness.telemetry.collectors import family

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One service instance's counters and gauges at scrape time."""

    service: str
    region: str
    requests: Mapping[str, int]  # outcome -> count
    calls: Mapping[tuple[str, str], int]  # (target, outcome) -> count
    in_flight: int
    queued: int
    healthy: float
    leases: Mapping[str, float] = field(default_factory=dict)  # held, queued, waiting, throttle…


class ServiceSource(Protocol):
    def service_rows(self) -> Sequence[ServiceRow]: ...


SERVICE_METRICS: tuple[m.MetricDef, ...] = (
    m.SERVICE_REQUESTS, m.SERVICE_CALLS, m.SERVICE_IN_FLIGHT, m.SERVICE_QUEUED, m.SERVICE_HEALTHY,
    m.SERVICE_LEASES_HELD, m.SERVICE_LEASE_JOBS, m.SERVICE_LEASE_BACKLOG, m.SERVICE_LEASE_THROTTLE,
)  # fmt: skip
_JOBS = ("renewed", "established", "timed_out", "failed")


class ServiceCollector(Collector):
    def __init__(self) -> None:
        self._sources: dict[str, ServiceSource] = {}

    def add(self, owner: str, source: ServiceSource) -> None:
        self._sources[owner] = source

    def describe(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        for d in SERVICE_METRICS:
            metric = family(d)
            assert isinstance(metric, CounterMetricFamily | GaugeMetricFamily)
            yield metric

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        families = {d.name: family(d) for d in SERVICE_METRICS}
        for owner, source in list(self._sources.items()):
            try:
                for row in source.service_rows():
                    _add_row(families, owner, row)
            except Exception:  # one broken source must not take the whole scrape down
                log.exception("service source %r failed during a scrape", owner)
        for metric in families.values():
            assert isinstance(metric, CounterMetricFamily | GaugeMetricFamily)
            yield metric


def _add_row(families: Mapping[str, object], owner: str, row: ServiceRow) -> None:
    def add(d: m.MetricDef, labels: tuple[str, ...], value: float) -> None:
        metric = families[d.name]
        assert isinstance(metric, CounterMetricFamily | GaugeMetricFamily)
        metric.add_metric(list(labels), value)

    base = (owner, row.service, row.region)
    for outcome, count in row.requests.items():
        add(m.SERVICE_REQUESTS, (*base, outcome), count)
    for (target, outcome), count in row.calls.items():
        add(m.SERVICE_CALLS, (*base, target, outcome), count)
    add(m.SERVICE_IN_FLIGHT, base, row.in_flight)
    add(m.SERVICE_QUEUED, base, row.queued)
    add(m.SERVICE_HEALTHY, base, row.healthy)
    if not row.leases:
        return
    add(m.SERVICE_LEASES_HELD, base, row.leases["held"])
    for result in _JOBS:
        add(m.SERVICE_LEASE_JOBS, (*base, result), row.leases[result])
    add(m.SERVICE_LEASE_BACKLOG, (*base, "queued"), row.leases["queued"])
    add(m.SERVICE_LEASE_BACKLOG, (*base, "held_by_throttle"), row.leases["waiting"])
    add(m.SERVICE_LEASE_THROTTLE, base, row.leases["throttle"])
