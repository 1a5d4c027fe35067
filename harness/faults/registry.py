"""The one explicit registry: a timeline entry's `fault` string -> the unit that performs it.
A new fault is one unit (plus its spec in harness/scenario/fault_spec.py) and one line here."""

from __future__ import annotations

from typing import Any, get_args

from harness.faults.base import FaultUnit
from harness.faults.dns import (
    DnsFlapFault,
    DnsNodataFault,
    DnsNxdomainFault,
    DnsServfailFault,
    DnsSlowFault,
    DnsTimeoutFault,
    DnsWrongAddressFault,
)
from harness.faults.endpoint import (
    EndpointBlackholeFault,
    EndpointDownFault,
    EndpointDrainFault,
    EndpointErrorsFault,
    EndpointLatencyFault,
    EndpointResetFault,
    EndpointThrottleFault,
)
from harness.faults.race import DnsAutomationRaceFault
from harness.faults.replication import ReplicationPauseFault
from harness.faults.service import ServiceThrottleFault
from harness.scenario.types import Spec

FAULTS: dict[str, type[FaultUnit[Any]]] = {
    "dns.nodata": DnsNodataFault,
    "dns.nxdomain": DnsNxdomainFault,
    "dns.servfail": DnsServfailFault,
    "dns.timeout": DnsTimeoutFault,
    "dns.slow": DnsSlowFault,
    "dns.wrong_address": DnsWrongAddressFault,
    "dns.flap": DnsFlapFault,
    "dns.automation_race": DnsAutomationRaceFault,
    "endpoint.latency": EndpointLatencyFault,
    "endpoint.errors": EndpointErrorsFault,
    "endpoint.throttle": EndpointThrottleFault,
    "endpoint.blackhole": EndpointBlackholeFault,
    "endpoint.reset": EndpointResetFault,
    "endpoint.down": EndpointDownFault,
    "endpoint.drain": EndpointDrainFault,
    "replication.pause": ReplicationPauseFault,
    "service.throttle": ServiceThrottleFault,
}


def fault_name(spec_type: type[Spec]) -> str:
    """The `fault` literal of a spec class, e.g. DnsNodata -> "dns.nodata"."""
    (name,) = get_args(spec_type.model_fields["fault"].annotation)
    return str(name)
