"""Events -> Prometheus metrics, on a registry of the run's own (never the global REGISTRY).

Policies never import prometheus_client: they emit typed events and `Telemetry` subscribes
(Polly's telemetry, Locust's event hooks). Every metric is created from its catalog entry.
Families updated once or more per request (requests, attempts, latency, client DNS lookups) are
lean tables (tables.py); the rest are prometheus_client metrics whose labelled children are cached
in dicts keyed by label tuples: `.labels(...)` costs 2-3 µs per call, a dict lookup ~0.1 µs
(reference/libraries.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.metrics import MetricWrapperBase

from harness.events import (
    AttemptFinished,
    BreakerStateChanged,
    ConnectionsChanged,
    DnsLookup,
    EventBus,
    FailbackHappened,
    FailoverHappened,
    FaultApplied,
    FaultReverted,
    HedgeLaunched,
    PhaseChanged,
    RateLimiterChanged,
    RequestFinished,
    RetryScheduled,
    RetrySuppressed,
    TokensChanged,
)
from harness.faults.base import target_label
from harness.scenario.fault_spec import FaultSpec
from harness.telemetry import catalog as m
from harness.telemetry.catalog import BREAKER_STATE_VALUES, MetricDef, MetricType
from harness.telemetry.collectors import (
    GeneratorCollector,
    GeneratorLike,
    GeneratorStats,
    RunClockCollector,
    WorldCollector,
    WorldSource,
)
from harness.telemetry.fleet import FleetCollector, FleetStats
from harness.telemetry.tables import CounterTable, HistogramTable, TablesCollector

log = logging.getLogger(__name__)

M = TypeVar("M", bound=MetricWrapperBase)

NOT_SERVED = "none"  # region label of a request no region served


class Children(Generic[M]):
    """A labelled metric with its children cached by label-value tuple."""

    __slots__ = ("_cache", "metric")

    def __init__(self, metric: M) -> None:
        self.metric = metric
        self._cache: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._cache.get(values)
        if child is None:
            child = self._cache[values] = self.metric.labels(*values)
        return child

    def __len__(self) -> int:
        return len(self._cache)

    def items(self) -> list[tuple[tuple[str, ...], M]]:
        return list(self._cache.items())


def _counter(d: MetricDef, registry: CollectorRegistry) -> Children[Counter]:
    assert d.type is MetricType.COUNTER, d.name
    return Children(Counter(d.name, d.help, d.labels, registry=registry))


def _gauge(d: MetricDef, registry: CollectorRegistry) -> Children[Gauge]:
    assert d.type is MetricType.GAUGE, d.name
    return Children(Gauge(d.name, d.help, d.labels, registry=registry))


def _fleet(
    table: dict[tuple[str, ...], dict[int, float]],
    key: tuple[str, ...],
    host: int,
    value: float,
    combine: Callable[[Iterable[float]], float],
) -> float:
    """Record one host's value of a per-client gauge; return the fleet's combined value."""
    per_host = table.setdefault(key, {})
    per_host[host] = value
    return combine(per_host.values())


class Telemetry:
    """Subscribes to the bus and keeps the run's Prometheus metrics up to date."""

    def __init__(self, registry: CollectorRegistry, bus: EventBus) -> None:
        self.registry = registry
        r = registry
        self.requests = CounterTable(m.REQUESTS)
        self.request_duration = HistogramTable(m.REQUEST_DURATION)
        self.attempts = CounterTable(m.ATTEMPTS)
        self.attempt_duration = HistogramTable(m.ATTEMPT_DURATION)
        self.dns_lookups = CounterTable(m.DNS_LOOKUPS)
        hot = (self.requests, self.request_duration, self.attempts, self.attempt_duration)
        r.register(TablesCollector(*hot, self.dns_lookups))
        self.retries = _counter(m.RETRIES, r)
        self.retries_suppressed = _counter(m.RETRIES_SUPPRESSED, r)
        self.hedges = _counter(m.HEDGES, r)
        self.failovers = _counter(m.FAILOVERS, r)
        self.failbacks = _counter(m.FAILBACKS, r)
        self.breaker_state = _gauge(m.BREAKER_STATE, r)
        self.breaker_transitions = _counter(m.BREAKER_TRANSITIONS, r)
        self.tokens = _gauge(m.TOKENS, r)
        self.rate_limit = _gauge(m.RATE_LIMIT, r)
        self.connections = _gauge(m.CONNECTIONS, r)
        self.fault_active = _gauge(m.FAULT_ACTIVE, r)
        self.fault_apply_delay = _gauge(m.FAULT_APPLY_DELAY, r)
        self.phase = _gauge(m.PHASE, r)
        self._phase_now: str | None = None
        self._applied: dict[tuple[str, str], int] = {}  # overlapping faults of one kind and target
        self._open_connections: dict[tuple[str, str], dict[int, int]] = {}  # per host
        self._breakers: dict[tuple[str, ...], dict[int, float]] = {}  # per host, as the gauges
        self._tokens: dict[tuple[str, ...], dict[int, float]] = {}
        self._rates: dict[tuple[str, ...], dict[int, float]] = {}
        self._world = WorldCollector()
        self._generators = GeneratorCollector()
        self._run_clock = RunClockCollector()
        self._fleets = FleetCollector()
        for collector in (self._world, self._generators, self._run_clock, self._fleets):
            r.register(collector)
        self._subscribe(bus)

    def _subscribe(self, bus: EventBus) -> None:
        bus.subscribe(RequestFinished, self._on_request)
        bus.subscribe(AttemptFinished, self._on_attempt)
        bus.subscribe(RetryScheduled, self._on_retry)
        bus.subscribe(RetrySuppressed, self._on_retry_suppressed)
        bus.subscribe(HedgeLaunched, self._on_hedge)
        bus.subscribe(FailoverHappened, self._on_failover)
        bus.subscribe(FailbackHappened, self._on_failback)
        bus.subscribe(BreakerStateChanged, self._on_breaker)
        bus.subscribe(TokensChanged, self._on_tokens)
        bus.subscribe(RateLimiterChanged, self._on_rate_limit)
        bus.subscribe(DnsLookup, self._on_dns_lookup)
        bus.subscribe(ConnectionsChanged, self._on_connections)
        bus.subscribe(FaultApplied, self._on_fault_applied)
        bus.subscribe(FaultReverted, self._on_fault_reverted)
        bus.subscribe(PhaseChanged, self._on_phase)

    # ---- pulled sources ----------------------------------------------------------------------

    def add_world_source(self, owner: str, source: WorldSource) -> None:
        """Export a world's state labelled strategy=<owner> (the strategy that world serves)."""
        self._world.add(owner, source)

    def remove_world_source(self, owner: str) -> None:
        self._world.remove(owner)

    def add_generator_source(
        self, strategy: str, source: Callable[[], GeneratorStats] | GeneratorLike
    ) -> None:
        """Export a generator's send lag, in-flight count and saturation, read at scrape time:
        either a function returning GeneratorStats or the generator itself (GeneratorLike)."""
        self._generators.add(strategy, source)

    def remove_generator_source(self, strategy: str) -> None:
        self._generators.remove(strategy)

    def add_fleet_source(self, strategy: str, fleet: FleetStats) -> None:
        """Export a strategy's fleet size and hosts failing now, read at scrape time."""
        self._fleets.add(strategy, fleet)

    def start_run(self, now: Callable[[], float]) -> None:
        """Start `harness_run_elapsed_seconds` on the run's clock (e.g. `loop.time`)."""
        self._run_clock.start(now)

    def finish_run(self) -> None:
        """Freeze `harness_run_elapsed_seconds` at its final value."""
        self._run_clock.finish()

    def declare_faults(self, timeline: Sequence[FaultSpec]) -> None:
        """Publish every fault of the timeline at 0 from the start, so a dashboard (and an
        alert on `== 0`) sees it before it is first applied, not an absent series."""
        for spec in timeline:
            key = (spec.fault, target_label(spec))
            if not self._applied.get(key):
                self.fault_active(*key).set(0.0)

    def declare_phases(self, names: tuple[str, ...]) -> None:
        """Publish every phase at 0 from the start, so dashboards show the whole list."""
        for name in names:
            self.phase(name).set(1.0 if name == self._phase_now else 0.0)

    def declare_strategy(
        self, strategy: str, regions: Sequence[str], blocks: Collection[str] = ()
    ) -> None:
        """Publish a strategy's rare-event counters at 0 before the run, for the blocks it has
        ("hedge", "failover", "breaker"), and its circuits as closed. A counter series born at 1
        has no increase Prometheus can see: a failover that happens once in a run would never
        show in rate() (Prometheus instrumentation guide: initialise known label values)."""
        if "hedge" in blocks:
            for region in regions:
                self.hedges(strategy, region)
        if "failover" in blocks:
            for source in regions:
                self.failbacks(strategy, source)
                for region in regions:
                    if region != source:
                        self.failovers(strategy, source, region)
        if "breaker" in blocks:
            for region in regions:
                self.breaker_state(strategy, region).set(BREAKER_STATE_VALUES["closed"])
                for state in BREAKER_STATE_VALUES:
                    self.breaker_transitions(strategy, region, state)

    # ---- event handlers (hot path: requests and attempts) ------------------------------------

    def _on_request(self, e: RequestFinished) -> None:
        self.requests.inc((e.strategy, e.outcome, e.region_served or NOT_SERVED))
        result = "ok" if e.outcome.is_success else "failed"
        self.request_duration.observe((e.strategy, result), e.end - e.intended_start)

    def _on_attempt(self, e: AttemptFinished) -> None:
        kind = "hedge" if e.is_hedge else "retry" if e.is_retry else "first"
        self.attempts.inc((e.strategy, e.region, e.outcome, kind))
        self.attempt_duration.observe((e.strategy, e.region), e.duration)

    def _on_retry(self, e: RetryScheduled) -> None:
        self.retries(e.strategy, e.reason).inc()

    def _on_retry_suppressed(self, e: RetrySuppressed) -> None:
        self.retries_suppressed(e.strategy, e.gate, e.reason).inc()

    def _on_hedge(self, e: HedgeLaunched) -> None:
        self.hedges(e.strategy, e.region).inc()

    def _on_failover(self, e: FailoverHappened) -> None:
        self.failovers(e.strategy, e.from_region, e.to_region).inc()

    def _on_failback(self, e: FailbackHappened) -> None:
        self.failbacks(e.strategy, e.to_region).inc()

    def _on_breaker(self, e: BreakerStateChanged) -> None:
        state = e.state.replace("-", "_")
        value = BREAKER_STATE_VALUES.get(state)
        if value is None:
            log.warning("unknown breaker state %r from strategy %r", e.state, e.strategy)
            return
        # a fleet: the gauge is the worst state of any host; transitions count every host's
        self.breaker_state(e.strategy, e.region).set(
            _fleet(self._breakers, (e.strategy, e.region), e.host, value, max)
        )
        self.breaker_transitions(e.strategy, e.region, state).inc()

    def _on_tokens(self, e: TokensChanged) -> None:
        tokens = _fleet(self._tokens, (e.strategy, e.gate), e.host, e.tokens, min)
        self.tokens(e.strategy, e.gate).set(tokens)  # the most depleted host of the fleet

    def _on_rate_limit(self, e: RateLimiterChanged) -> None:
        rate = _fleet(self._rates, (e.strategy,), e.host, e.rate, min)
        self.rate_limit(e.strategy).set(rate)  # the most throttled host of the fleet

    def _on_dns_lookup(self, e: DnsLookup) -> None:
        self.dns_lookups.inc((e.strategy, e.result, e.source))

    def _on_connections(self, e: ConnectionsChanged) -> None:
        # a fleet's hosts each report their own pool: the gauge is the fleet's sum
        key = (e.strategy, e.region)
        per_host = self._open_connections.setdefault(key, {})
        per_host[e.host] = e.open
        self.connections(*key).set(sum(per_host.values()))

    def _on_fault_applied(self, e: FaultApplied) -> None:
        key = (e.fault, e.target)
        self._applied[key] = self._applied.get(key, 0) + 1
        self.fault_active(*key).set(1.0)
        self.fault_apply_delay(*key).set(max(0.0, e.actual - e.scheduled))

    def _on_fault_reverted(self, e: FaultReverted) -> None:
        key = (e.fault, e.target)
        left = self._applied[key] = max(0, self._applied.get(key, 0) - 1)
        self.fault_active(*key).set(1.0 if left else 0.0)

    def _on_phase(self, e: PhaseChanged) -> None:
        if self._phase_now is not None:
            self.phase(self._phase_now).set(0.0)
        self._phase_now = e.name
        self.phase(e.name).set(1.0)
