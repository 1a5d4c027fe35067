"""`--duration`: run a scenario for another length with its story intact.

The timeline is scaled by new / old duration: every phase start, and every fault's start,
duration and its own timeline times (a flap's period, the automation race's stall and manual fix).
What describes the system rather than the story is kept: TTLs, latencies, deadlines, rates,
connection ages. So a much shorter run keeps the order and proportions of its phases and faults,
but a fault may then be shorter than a TTL or a connection's age, and bite differently.
"""

from __future__ import annotations

from typing import Any

from harness.scenario.fault_spec import DnsAutomationRace, DnsFlap, FaultSpec
from harness.scenario.model import Scenario

# fields of a fault, beyond `at` and `duration`, that are times on the run's timeline
_TIMELINE_FIELDS: dict[type[Any], tuple[str, ...]] = {
    DnsFlap: ("period",),
    DnsAutomationRace: ("stall", "manual_fix_at"),
}


def rescale(scenario: Scenario, duration: float) -> Scenario:
    """The scenario run for `duration` seconds, its phases and faults scaled to fit."""
    if duration == scenario.duration or scenario.duration <= 0:
        return scenario.model_copy(update={"duration": duration})
    factor = duration / scenario.duration
    phases = tuple(p.model_copy(update={"at": _scaled(p.at, factor)}) for p in scenario.phases)
    timeline = tuple(_fault(f, factor) for f in scenario.timeline)
    return scenario.model_copy(
        update={"duration": duration, "phases": phases, "timeline": timeline}
    )


def _fault(fault: FaultSpec, factor: float) -> FaultSpec:
    update: dict[str, float | None] = {"at": _scaled(fault.at, factor)}
    for name in ("duration", *_TIMELINE_FIELDS.get(type(fault), ())):
        value = getattr(fault, name)
        update[name] = None if value is None else _scaled(value, factor)
    return fault.model_copy(update=update)


def _scaled(seconds: float, factor: float) -> float:
    return round(seconds * factor, 3)
