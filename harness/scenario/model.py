"""The scenario: one YAML file describing the world, the clients, the strategies and the faults."""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from harness.outcomes import Outcome
from harness.scenario.fault_spec import FaultSpec
from harness.scenario.service_spec import Services, ServiceSpec
from harness.scenario.strategy_spec import FactoryStrategy, StrategySpec
from harness.scenario.types import (
    Deadline,
    Duration,
    LatencySpec,
    Name,
    Probability,
    Rate,
    Spec,
)


class AutomationSpec(Spec):
    """The DNS Planner/Enactor automation of the real incident (off unless enabled)."""

    enabled: bool = False
    plan_interval: Duration = 1.0
    enactors: int = Field(default=3, ge=1, le=9)
    enactor_delay: LatencySpec = LatencySpec(median=0.05, p99=0.5)
    cleanup_older_than: int = Field(
        default=10, ge=1, description="Clean-up deletes plans this many generations older."
    )
    safeguards: bool = Field(
        default=False,
        description="Check the generation at apply time and never delete the active plan.",
    )


class DnsSpec(Spec):
    zone: str = Field(default="aws.test", pattern=r"^([a-z0-9-]+\.)*[a-z0-9-]+$")
    service: str = Field(default="dynamodb", pattern=r"^[a-z0-9-]+$")
    ttl: Duration = Field(default=5.0, description="TTL of the endpoint A records.")
    negative_ttl: Duration = Field(default=5.0, description="SOA minimum: negative-caching TTL.")
    host: str = Field(default="127.0.0.1", description="Loopback address of the DNS server.")
    port: int = Field(default=0, ge=0, le=65535, description="0: a free port chosen at start.")
    automation: AutomationSpec = AutomationSpec()

    def endpoint_name(self, region: str) -> str:
        return f"{self.service}.{region}.{self.zone}"


class CapacitySpec(Spec):
    concurrency: int = Field(default=64, ge=1, le=100_000)
    queue: int = Field(default=256, ge=0, le=1_000_000)


class ServerConnectionsSpec(Spec):
    """Server-side connection lifetime, as behind a real load balancer."""

    idle_timeout: Duration = 60.0
    max_age: Duration | None = 30.0
    max_requests: int | None = Field(default=None, ge=1)


class RegionSpec(Spec):
    name: Name
    endpoints: int = Field(default=3, ge=1, le=250)
    rtt: Duration = Field(
        default=0.001,
        description="Round trip from the clients' home region (the first population's home).",
    )
    rtt_from: dict[Name, Duration] = Field(
        default_factory=dict,
        description="Round trips from callers in other regions (either side of a pair may give "
        "it). Missing pairs: see Scenario.rtt.",
    )
    rtt_jitter: Duration = Field(
        default=0.0,
        description="Standard deviation of each one-way trip (normal around rtt/2, folded at 0), "
        "drawn per attempt: real networks desynchronize clients.",
    )
    service_time: LatencySpec = LatencySpec(median=0.003, p99=0.02)
    capacity: CapacitySpec = CapacitySpec()
    azs: tuple[str, ...] = Field(default=(), description="Endpoint i lives in azs[i % len(azs)].")
    queue_discipline: Literal["fifo", "lifo"] = "fifo"
    drop_abandoned: bool = Field(
        default=False, description="Skip queued work whose client has already gone away."
    )
    connections: ServerConnectionsSpec = ServerConnectionsSpec()

    @property
    def az_names(self) -> tuple[str, ...]:
        return self.azs or tuple(f"{self.name}-az{i + 1}" for i in range(min(3, self.endpoints)))

    def az_of(self, endpoint_index: int) -> str:
        names = self.az_names
        return names[endpoint_index % len(names)]


class ReplicationSpec(Spec):
    enabled: bool = True
    lag: LatencySpec = LatencySpec(median=0.5, p99=2.0)


class KeysSpec(Spec):
    count: int = Field(default=10_000, ge=1, le=100_000_000)
    distribution: Literal["uniform", "zipf"] = "zipf"
    zipf_s: float = Field(default=1.1, gt=0, le=5)


class OpsSpec(Spec):
    get: float = Field(default=0.7, ge=0)
    put: float = Field(default=0.2, ge=0)
    update: float = Field(default=0.1, ge=0)
    delete: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _some(self) -> OpsSpec:
        if self.get + self.put + self.update + self.delete <= 0:
            raise ValueError("at least one op must have a weight > 0")
        return self


class SaturationSpec(Spec):
    """When the generator cannot keep up, its numbers are not to be trusted."""

    max_send_lag_p99: Duration = 0.005
    max_in_flight: int = Field(default=20_000, ge=1)


class RampPoint(Spec):
    at: Duration
    rate: Rate


class BurstSpec(Spec):
    """`size` requests intended at the same instant (synchronized clients), maybe repeated."""

    at: Duration = 0.0
    size: int = Field(ge=1, le=100_000)
    every: Duration | None = Field(default=None, gt=0, description="Repeat period.")
    count: int = Field(default=1, ge=1, le=100_000, description="How many bursts in all.")

    @model_validator(mode="after")
    def _period(self) -> BurstSpec:
        if self.count > 1 and self.every is None:
            raise ValueError("count > 1 needs `every` (the repeat period)")
        return self


class PopulationSpec(Spec):
    """Clients living in one region: they resolve and call that region's DynamoDB first, pay the
    round trips from there, and ask its regional endpoints of services."""

    home: Name
    share: float = Field(
        default=1.0, gt=0, description="Relative share of the arrivals (normalized over all)."
    )


class ClientsSpec(Spec):
    home_region: Name | None = Field(default=None, description="Default: the first region.")
    populations: tuple[PopulationSpec, ...] = Field(
        default=(),
        max_length=50,
        description="Client populations in several home regions sharing the arrivals (instead "
        "of `home_region`); each has `hosts` hosts of its own.",
    )
    rate: Rate = Field(
        default=100.0,
        description="Offered requests per second for the whole fleet (see `ramp`, `hosts`).",
    )
    hosts: int = Field(
        default=16,  # measured: docs/fleets.md
        ge=1,
        le=256,
        description=(
            "Simulated client hosts per strategy (a fleet). Each host is one SDK client with its "
            "own resolver and DNS cache, connection pools and policy state (retry quota, "
            "breakers, limiter, budget); hosts start at staggered moments over the first "
            "connection lifetime and share the strategy's arrivals at random. See docs/fleets.md."
        ),
    )
    arrival: Literal["constant", "poisson"] = "poisson"
    ramp: tuple[RampPoint, ...] = Field(
        default=(),
        description="The rate over time: linear between points, constant after the last; the "
        "first point is at 0s. Replaces `rate`.",
    )
    bursts: tuple[BurstSpec, ...] = Field(
        default=(), description="Synchronized bursts on top of the arrivals (rate may be 0)."
    )
    deadline: Deadline = Field(
        default=3.0,
        description="The caller's deadline for one request, retries included; `none`: the "
        "caller waits until the strategy gives up. A strategy's timeout block may set its own.",
    )
    ops: OpsSpec = OpsSpec()
    keys: KeysSpec = KeysSpec()
    item_size: int = Field(default=200, ge=0, le=400_000)
    saturation: SaturationSpec = SaturationSpec()

    @field_validator("populations")
    @classmethod
    def _one_per_home(cls, populations: tuple[PopulationSpec, ...]) -> tuple[PopulationSpec, ...]:
        homes = [p.home for p in populations]
        for home in homes:
            if homes.count(home) > 1:
                raise ValueError(f"two populations with home {home!r}: one per home region")
        return populations

    @model_validator(mode="after")
    def _one_way_to_say_home(self) -> ClientsSpec:
        if self.populations and self.home_region is not None:
            raise ValueError("give `home_region` or `populations`, not both")
        return self

    @field_validator("ramp")
    @classmethod
    def _ramp_shape(cls, ramp: tuple[RampPoint, ...]) -> tuple[RampPoint, ...]:
        # a field validator, so the error points at `ramp`, not at the whole clients section
        if ramp:
            if ramp[0].at != 0.0:
                raise ValueError("the first point must be at 0s")
            times = [point.at for point in ramp]
            if any(b <= a for a, b in itertools.pairwise(times)):
                raise ValueError("point times must increase")
        return ramp

    @property
    def peak_rate(self) -> float:
        """The highest offered rate (bursts aside): what sizing the load generator needs."""
        return max((point.rate for point in self.ramp), default=self.rate)


def _strategy_form(value: Any) -> str:
    """Which of the three forms an entry is, so errors speak of that form only."""
    if isinstance(value, FactoryStrategy) or (isinstance(value, dict) and "factory" in value):
        return "factory"
    if isinstance(value, StrategySpec | dict):
        return "inline"
    return "name"


StrategyRef = Annotated[
    Annotated[Name, Tag("name")]
    | Annotated[StrategySpec, Tag("inline")]
    | Annotated[FactoryStrategy, Tag("factory")],
    Discriminator(_strategy_form),
]
StrategyList = Annotated[
    Annotated[Literal["all"], Tag("all")] | Annotated[tuple[StrategyRef, ...], Tag("list")],
    Discriminator(lambda value: "all" if isinstance(value, str) else "list"),
]


class PhaseSpec(Spec):
    name: Name
    at: Duration


class SaturatedStop(Spec):
    kind: Literal["saturated"]


class SuccessRatioStop(Spec):
    kind: Literal["success_ratio_below"]
    strategy: Name
    threshold: Probability
    window: Duration = 10.0
    after: Duration = Field(default=0.0, description="Ignore the first part of the run.")


StopCondition = Annotated[SaturatedStop | SuccessRatioStop, Field(discriminator="kind")]


class SloSpec(Spec):
    availability: Probability | None = None
    availability_during_fault: Probability | None = None
    availability_after_recovery: Probability | None = None
    p50: Duration | None = None
    p99: Duration | None = None
    p999: Duration | None = None
    max_attempts_per_request: float | None = Field(default=None, gt=0)


class RunSpec(Spec):
    isolation: Literal["per-strategy", "shared"] = "per-strategy"
    clock: Literal["virtual", "real"] = "virtual"
    # seeds per strategy for `harness compare` (seed, seed+1, ...); --repeat overrides it
    repeats: int = Field(default=1, ge=1, le=50)


class Scenario(Spec):
    """A whole scenario, validated once at load and immutable afterwards."""

    name: Name
    description: str = ""
    seed: int = Field(default=1, ge=0, le=2**63 - 1)
    duration: Duration
    dns: DnsSpec = DnsSpec()
    regions: tuple[RegionSpec, ...] = Field(min_length=1, max_length=50)
    replication: ReplicationSpec = ReplicationSpec()
    services: Services = Field(
        default=(), description="Dependent services (harness.scenario.service_spec)."
    )
    clients: ClientsSpec = ClientsSpec()
    strategies: StrategyList = "all"
    run: RunSpec = RunSpec()
    phases: tuple[PhaseSpec, ...] = ()
    timeline: tuple[FaultSpec, ...] = ()
    stop_when: tuple[StopCondition, ...] = ()
    slo: dict[Name, SloSpec] = Field(default_factory=dict)

    @property
    def home_region(self) -> str:
        """The first (or only) population's home: the region `rtt` is measured from."""
        if self.clients.populations:
            return self.clients.populations[0].home
        return self.clients.home_region or self.regions[0].name

    @property
    def populations(self) -> tuple[tuple[str, float], ...]:
        """(home region, share of the arrivals) per client population; shares sum to 1."""
        given = self.clients.populations
        if not given:
            return ((self.home_region, 1.0),)
        total = sum(p.share for p in given)
        return tuple((p.home, p.share / total) for p in given)

    @property
    def homes(self) -> tuple[str, ...]:
        return tuple(home for home, _ in self.populations)

    def rtt(self, caller: str, region: str) -> float:
        """The round trip between a caller in region `caller` and `region`'s endpoints.

        A pair given in either region's `rtt_from` wins. Otherwise: from the home region, the
        region's `rtt`; to the home region, the caller region's `rtt` (round trips are
        symmetric); within one region, as within the home region; between two other regions,
        through the home region (the sum of their `rtt`s: give `rtt_from` for anything better)."""
        spec = self.region(region)
        if caller in spec.rtt_from:
            return spec.rtt_from[caller]
        try:
            other = self.region(caller)
        except KeyError:  # an unknown caller (a tool without our header): as from the home
            return spec.rtt
        if region in other.rtt_from:
            return other.rtt_from[region]
        home = self.home_region
        if caller == home:
            return spec.rtt
        if region == home:
            return other.rtt
        if caller == region:
            return self.region(home).rtt
        return other.rtt + spec.rtt

    def region(self, name: str) -> RegionSpec:
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(name)

    @property
    def region_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regions)

    def service(self, name: str) -> ServiceSpec:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


def json_schema() -> dict[str, object]:
    """The scenario format as JSON Schema (draft 2020-12), for editors' YAML support."""
    schema = Scenario.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:dns-outage-harness:scenario",
        **schema,
    }


__all__ = ["Outcome", "Scenario", "json_schema"]
