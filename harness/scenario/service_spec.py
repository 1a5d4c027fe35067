"""Options of the dependent services a scenario may declare beside the DynamoDB-style regions.

A service is a small HTTP server hosted in one or more regions, with capacity and service time as
regions have, and dependencies: calls it makes to DynamoDB or to another service, per request or on
a schedule, through the same DNS and HTTP as every client (a server is also a client, with a
strategy of its own from the catalog). Behaviour: harness/world/services/.

DNS names in the zone: `<service>.<region>.<zone>` for each hosting region, and for a service with
a `home` (the STS/IAM pattern: one global endpoint homed in one region) also `<service>.<zone>`,
which answers with the home region's addresses.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from harness.scenario.types import Duration, LatencySpec, Name, Spec

DYNAMODB = "dynamodb"  # the name a call uses for the regions' DynamoDB-style endpoints


class ServiceCapacity(Spec):
    concurrency: int = Field(default=32, ge=1, le=100_000)
    queue: int = Field(default=128, ge=0, le=1_000_000)


class CallSpec(Spec):
    """One dependency: `to` is `dynamodb` or another service's name."""

    to: Name
    every: Literal["request"] | Duration = Field(
        default="request",
        description="`request`: once per request served; a duration: on a schedule.",
    )
    op: Literal["get", "put"] = Field(default="get", description="The DynamoDB op (dynamodb only).")
    endpoint: Literal["local", "global"] = Field(
        default="local",
        description="local: the calling instance's own region; global: the service's global "
        "name (a service with a home).",
    )

    @property
    def scheduled(self) -> bool:
        return self.every != "request"


class TokenSpec(Spec):
    """An auth service: each request it serves issues a token valid for `ttl`."""

    ttl: Duration = Field(default=300.0, description="How long an issued token is valid.")


class LeaseSpec(Spec):
    """A control-plane service holding `count` leases, each renewed against DynamoDB (a put) every
    `renew_every` and lost `ttl` after its last renewal. A lost lease must be re-established: a job
    of `establish` work that must finish within `timeout` of being queued, or it is thrown away
    and queued again (the DropletWorkflow Manager of 2025-10-20)."""

    count: int = Field(default=200, ge=1, le=100_000)
    ttl: Duration = 30.0
    renew_every: Duration = 10.0
    workers: int = Field(default=8, ge=1, le=10_000, description="Jobs processed at once.")
    renew: LatencySpec = LatencySpec(median=0.01, p99=0.03)
    establish: LatencySpec = LatencySpec(median=0.15, p99=0.4)
    timeout: Duration = Field(default=2.0, description="A job older than this is re-queued.")
    retry_after: Duration = Field(default=1.0, description="Wait before re-trying a failed job.")

    @model_validator(mode="after")
    def _renew_before_expiry(self) -> LeaseSpec:
        if self.renew_every >= self.ttl:
            raise ValueError("renew_every must be shorter than ttl (leases would expire anyway)")
        return self


class ServiceSpec(Spec):
    name: Name
    kind: Literal["plain", "token", "lease"] = "plain"
    regions: tuple[Name, ...] = Field(min_length=1, description="Hosting regions.")
    home: Name | None = Field(
        default=None,
        description="A global service: `<service>.<zone>` answers with this region's endpoints.",
    )
    endpoints: int = Field(default=2, ge=1, le=250)
    service_time: LatencySpec = LatencySpec(median=0.002, p99=0.01)
    capacity: ServiceCapacity = ServiceCapacity()
    calls: tuple[CallSpec, ...] = ()
    strategy: Name = Field(
        default="aws-standard-2026", description="The catalog strategy its own calls use."
    )
    deadline: Duration = Field(default=2.0, description="Deadline of each of its own calls.")
    token: TokenSpec = TokenSpec()
    lease: LeaseSpec = LeaseSpec()


class TokenSettings(Spec):
    """How a client strategy gets the token each request needs (strategy field `tokens`)."""

    service: Name = Field(description="The token service (kind: token).")
    cache: bool = Field(default=True, description="Keep a token until it expires.")
    endpoint: Literal["global", "regional", "failover"] = Field(
        default="global",
        description="global: the service's global name; regional: its name in the client's "
        "home region; failover: global first, regional when that fails.",
    )


Services = Annotated[tuple[ServiceSpec, ...], Field(max_length=50)]


GLOBAL = "global"  # the route key of a service's global name


def service_dns_name(service: str, zone: str, region: str = GLOBAL) -> str:
    """`<service>.<region>.<zone>`, or `<service>.<zone>` for the global name."""
    return f"{service}.{zone}" if region == GLOBAL else f"{service}.{region}.{zone}"


def service_routes(spec: ServiceSpec, zone: str) -> dict[str, str]:
    """Route key ("global" first when the service has a home, then each region) -> DNS name."""
    routes = {GLOBAL: service_dns_name(spec.name, zone)} if spec.home is not None else {}
    routes.update({region: service_dns_name(spec.name, zone, region) for region in spec.regions})
    return routes
