"""Options of every fault unit (Toxiproxy's toxics are the model). Behaviour: harness/faults/."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from harness.scenario.types import Duration, Name, Probability, Spec


class Target(Spec):
    """What a fault acts on: a region, optionally some of its endpoints (0-based) or one AZ."""

    region: Name
    endpoints: tuple[Annotated[int, Field(ge=0)], ...] | None = None
    az: str | None = None
    service: Name | None = Field(
        default=None, description="A service hosted in the region instead of its DynamoDB."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"region": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The shorthand `target: us-east-1` (a region name) is valid YAML for editors too.
        return {"anyOf": [handler(schema), {"type": "string", "description": "A region name."}]}

    def label(self) -> str:
        """Low-cardinality label for metrics and journal: region[/az][/endpoints]."""
        parts = [self.region] if self.service is None else [self.service, self.region]
        if self.az:
            parts.append(self.az)
        if self.endpoints is not None:
            parts.append("ep" + "+".join(str(i) for i in self.endpoints))
        return "/".join(parts)


class _Fault(Spec):
    at: Duration = Field(description="Start, from the beginning of the run.")
    duration: Duration | None = Field(default=None, description="How long; default: until the end.")
    rate: Probability = Field(default=1.0, description="Probability per query/request/connection.")


class _RegionFault(_Fault):
    target: Target


class DnsNodata(_RegionFault):
    """The record emptied: NOERROR with no addresses (what 2025-10-20 looked like)."""

    fault: Literal["dns.nodata"]


class DnsNxdomain(_RegionFault):
    fault: Literal["dns.nxdomain"]


class DnsServfail(_RegionFault):
    fault: Literal["dns.servfail"]


class DnsTimeout(_RegionFault):
    """Queries dropped: the client waits for its query timeout."""

    fault: Literal["dns.timeout"]


class DnsSlow(_RegionFault):
    fault: Literal["dns.slow"]
    delay: Duration = 0.5
    jitter: Duration = 0.0


class DnsWrongAddress(_RegionFault):
    """The record points at a loopback address where nothing listens."""

    fault: Literal["dns.wrong_address"]
    address: str = "127.0.254.254"


class DnsFlap(_RegionFault):
    """Alternates `mode` on for half of each period and off for the other half."""

    fault: Literal["dns.flap"]
    mode: Literal["nodata", "nxdomain", "servfail", "timeout"] = "nodata"
    period: Duration = 10.0


class DnsAutomationRace(_Fault):
    """One Enactor stalls at a seeded moment so the Planner/Enactor race can empty the record."""

    fault: Literal["dns.automation_race"]
    target: Target
    stall: Duration = Field(default=20.0, description="How long the Enactor is delayed.")
    manual_fix_at: Duration | None = Field(
        default=None, description="When operators repair the record; default: at + duration."
    )


class EndpointLatency(_RegionFault):
    fault: Literal["endpoint.latency"]
    delay: Duration = 0.2
    jitter: Duration = 0.0


class EndpointErrors(_RegionFault):
    fault: Literal["endpoint.errors"]
    status: Literal[500, 503, "throttling"] = 500


class EndpointThrottle(_RegionFault):
    """Capacity (concurrency and queue) cut to `fraction` of normal."""

    fault: Literal["endpoint.throttle"]
    fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5


class EndpointBlackhole(_RegionFault):
    """Connections accepted, requests never answered."""

    fault: Literal["endpoint.blackhole"]


class EndpointReset(_RegionFault):
    """Connections closed mid-request."""

    fault: Literal["endpoint.reset"]


class EndpointDown(_RegionFault):
    """Listening sockets closed: connections refused."""

    fault: Literal["endpoint.down"]


class EndpointDrain(_RegionFault):
    """Idle kept-alive connections closed at `at` (once), so clients must resolve again."""

    fault: Literal["endpoint.drain"]


class ReplicationPause(_Fault):
    """Replication stops from `source` to `destination` (either may be omitted: all)."""

    fault: Literal["replication.pause"]
    source: Name | None = None
    destination: Name | None = None


class ServiceThrottle(_RegionFault):
    """A recovery lever, not a failure: a lease service admits new jobs only while fewer than
    `max_queue` wait (the throttle by queue size AWS adopted after 2025-10-20)."""

    fault: Literal["service.throttle"]
    max_queue: int = Field(default=32, ge=1, le=1_000_000)


FaultSpec = Annotated[
    DnsNodata
    | DnsNxdomain
    | DnsServfail
    | DnsTimeout
    | DnsSlow
    | DnsWrongAddress
    | DnsFlap
    | DnsAutomationRace
    | EndpointLatency
    | EndpointErrors
    | EndpointThrottle
    | EndpointBlackhole
    | EndpointReset
    | EndpointDown
    | EndpointDrain
    | ReplicationPause
    | ServiceThrottle,
    Field(discriminator="fault"),
]
