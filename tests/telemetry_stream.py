"""A small synthetic event stream that exercises every catalog metric (tests of the telemetry area).

`one_of_each(bus)` emits one event of every type; `tick(bus, world, n)` emits a steady slice of
traffic; `FakeWorld` is a WorldSource whose counters grow with each tick.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import events as ev
from harness.outcomes import Outcome
from harness.telemetry.collectors import GeneratorStats
from harness.world.stats import ConsistencyStats, DnsQueryCount, RegionStats, ReplicationStats

STRATEGIES = ("alpha", "beta")
HOME, OTHER = "us-east-1", "us-west-2"
NAME = "dynamodb.us-east-1.amazonaws.com"


def request(
    strategy: str, outcome: Outcome, served: str | None, latency: float
) -> ev.RequestFinished:
    return ev.RequestFinished(
        strategy=strategy, op="get", key_hash=7, outcome=outcome, attempts=1,
        regions_tried=(HOME,), region_served=served, status=200 if served else None,
        intended_start=10.0, start=10.001, end=10.0 + latency,
    )  # fmt: skip


def one_of_each(bus: ev.EventBus, strategy: str = "alpha") -> None:
    """Every event type telemetry handles, once (faults: one applied, one applied and reverted)."""
    bus.emit(ev.PhaseChanged("baseline", 0.0))
    bus.emit(request(strategy, Outcome.OK, HOME, 0.02))
    bus.emit(request(strategy, Outcome.DNS_NXDOMAIN, None, 0.3))
    bus.emit(ev.AttemptFinished(strategy, HOME, Outcome.DNS_NXDOMAIN, False, False, 0.004))
    bus.emit(ev.AttemptFinished(strategy, OTHER, Outcome.OK, True, False, 0.07))
    bus.emit(ev.AttemptFinished(strategy, OTHER, Outcome.OK, False, True, 0.06))
    bus.emit(ev.RetryScheduled(strategy, Outcome.DNS_NXDOMAIN, 1, 0.05))
    bus.emit(ev.RetrySuppressed(strategy, "quota", Outcome.TIMEOUT))
    bus.emit(ev.HedgeLaunched(strategy, OTHER))
    bus.emit(ev.FailoverHappened(strategy, HOME, OTHER))
    bus.emit(ev.FailbackHappened(strategy, HOME))
    bus.emit(ev.BreakerStateChanged(strategy, HOME, "open"))
    bus.emit(ev.TokensChanged(strategy, "quota", 495.0))
    bus.emit(ev.RateLimiterChanged(strategy, 12.5))
    bus.emit(ev.DnsLookup(strategy, NAME, "ok", "cache"))
    bus.emit(ev.DnsLookup(strategy, NAME, "dns_nxdomain", "wire"))
    bus.emit(ev.ConnectionsChanged(strategy, HOME, 3))
    bus.emit(ev.FaultApplied("dns_empty", NAME, scheduled=5.0, actual=5.002, wall=0.0))
    bus.emit(ev.FaultApplied("latency", OTHER, scheduled=6.0, actual=6.0, wall=0.0))
    bus.emit(ev.FaultReverted("latency", OTHER, 8.0, 8.0, 0.0, "scheduled"))
    bus.emit(ev.PhaseChanged("outage", 5.0))


def tick(bus: ev.EventBus, world: FakeWorld, n: int) -> None:
    """A slice of steady traffic for every strategy: successes, failures, retries, breakers."""
    world.ticks = n
    states = ("closed", "open", "half_open")
    for s in STRATEGIES:
        bus.emit(request(s, Outcome.OK, HOME if n % 2 else OTHER, 0.01 + 0.001 * (n % 7)))
        bus.emit(request(s, Outcome.DNS_NODATA, None, 0.5))
        bus.emit(ev.AttemptFinished(s, HOME, Outcome.DNS_NODATA, False, False, 0.003))
        bus.emit(ev.AttemptFinished(s, OTHER, Outcome.OK, True, False, 0.05))
        bus.emit(ev.AttemptFinished(s, OTHER, Outcome.OK, False, True, 0.04))
        bus.emit(ev.RetryScheduled(s, Outcome.DNS_NODATA, 1, 0.05))
        bus.emit(ev.RetrySuppressed(s, "budget", Outcome.DNS_NODATA))
        bus.emit(ev.HedgeLaunched(s, OTHER))
        bus.emit(ev.FailoverHappened(s, HOME, OTHER))
        bus.emit(ev.FailbackHappened(s, HOME))
        bus.emit(ev.BreakerStateChanged(s, HOME, states[n % 3]))
        bus.emit(ev.TokensChanged(s, "quota", 500.0 - n % 50))
        bus.emit(ev.RateLimiterChanged(s, 20.0 + n % 5))
        bus.emit(ev.DnsLookup(s, NAME, "ok", "cache" if n % 2 else "stale"))
        bus.emit(ev.DnsLookup(s, NAME, "dns_nodata", "wire"))
        bus.emit(ev.ConnectionsChanged(s, OTHER, n % 4))


@dataclass
class FakeWorld:
    """A WorldSource with counters proportional to the number of ticks."""

    ticks: int = 0

    def dns_stats(self) -> list[DnsQueryCount]:
        t = self.ticks
        return [DnsQueryCount(NAME, "A", "NOERROR", 3 * t), DnsQueryCount(NAME, "A", "NXDOMAIN", t)]

    def region_stats(self) -> list[RegionStats]:
        t = self.ticks
        return [
            RegionStats(region, 64, 128, t % 5, t % 3, 10 * t, t, t, t, t, 4, t)
            for region in (HOME, OTHER)
        ]

    def replication_stats(self) -> list[ReplicationStats]:
        t = self.ticks
        return [ReplicationStats(HOME, OTHER, 0.01 * (t % 10), t % 4, 5 * t, t)]

    def consistency_stats(self) -> list[ConsistencyStats]:
        return [ConsistencyStats(OTHER, self.ticks)]


def generator_stats(n: int = 100) -> GeneratorStats:
    return GeneratorStats(
        sent_total=n, send_lag_p99=0.0009, send_lag_max=0.004, in_flight=5, saturated=False,
        send_lag_sum=0.0003 * n,
    )  # fmt: skip
