"""Per-strategy aggregates for summary.json, fed by RequestFinished events (memory flat)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.events import RequestFinished
from harness.telemetry.latency import LatencyHistogram


class PopulationStats:
    """One client population's share of a strategy's requests (its home region's clients)."""

    def __init__(self) -> None:
        self.requests = 0
        self.ok = 0
        self.outcomes: Counter[str] = Counter()
        self.regions_served: Counter[str] = Counter()
        self.latency_ok = LatencyHistogram()

    def add(self, event: RequestFinished) -> None:
        self.requests += 1
        self.outcomes[event.outcome.value] += 1
        if event.outcome.is_success:
            self.ok += 1
            self.latency_ok.record(event.latency)
        if event.region_served is not None:
            self.regions_served[event.region_served] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "availability": round(self.ok / self.requests, 6) if self.requests else None,
            "latency_ok_ms": self.latency_ok.summary_ms(),
            "outcomes": dict(sorted(self.outcomes.items())),
            "regions_served": dict(sorted(self.regions_served.items())),
        }


class StrategyStats(PopulationStats):
    """A strategy's figures: its populations' tally plus attempts, cross-region share and the
    latency of every request."""

    def __init__(
        self, name: str, home: str, description: str = "", homes: tuple[str, ...] = ()
    ) -> None:
        """`homes`: the client populations' home regions; with more than one, `populations`
        in to_json gives each one's figures."""
        super().__init__()
        self.name = name
        self.home = home
        self.description = description
        self.populations = {h: PopulationStats() for h in homes} if len(homes) > 1 else {}
        self.attempts = 0
        self.cross_region = 0
        # every request; latency_ok (successes only) is the population tally's: a request that
        # failed in 0.1 ms must not make the strategy look fast
        self.latency = LatencyHistogram()

    def add(self, event: RequestFinished) -> None:
        super().add(event)
        self.attempts += event.attempts
        served = event.region_served
        if served is not None and served != (event.home or self.home):
            self.cross_region += 1
        self.latency.record(event.latency)
        population = self.populations.get(event.home)
        if population is not None:
            population.add(event)

    def to_json(self) -> dict[str, Any]:
        served = sum(self.regions_served.values())
        return {
            "description": self.description,
            "requests": self.requests,
            "ok": self.ok,
            "availability": round(self.ok / self.requests, 6) if self.requests else None,
            "latency_ms": self.latency.summary_ms(),  # every request, failed ones included
            "latency_ok_ms": self.latency_ok.summary_ms(),  # successful requests only
            "attempts": self.attempts,
            "attempts_per_request": round(self.attempts / self.requests, 4)
            if self.requests
            else None,
            "outcomes": dict(sorted(self.outcomes.items())),
            "regions_served": dict(sorted(self.regions_served.items())),
            "cross_region_share": round(self.cross_region / served, 6) if served else 0.0,
            **(
                {"populations": {h: p.to_json() for h, p in self.populations.items()}}
                if self.populations
                else {}
            ),
        }


class RunStats:
    """All strategies of one run; subscribe `add` to RequestFinished."""

    def __init__(self) -> None:
        self.strategies: dict[str, StrategyStats] = {}

    def register(
        self, name: str, home: str, description: str, homes: tuple[str, ...] = ()
    ) -> StrategyStats:
        stats = self.strategies[name] = StrategyStats(name, home, description, homes)
        return stats

    def add(self, event: RequestFinished) -> None:
        self.strategies[event.strategy].add(event)
