"""The service tier in summary.json: per service, what it served (availability over the run and
per second), what its calls met, its leases, and the dependency graph the report draws.

Additive to the run summary: `summary["services"]` = {"tiers": {service: {...}}, "graph": {...}}.
With several worlds (one per strategy) a service's counts are summed over them and its
per-second availability is the share over all of them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from harness.scenario.fault_spec import ServiceThrottle
from harness.scenario.model import Scenario
from harness.scenario.service_spec import DYNAMODB, GLOBAL
from harness.services.instance import ServiceInstance
from harness.services.tier import ServiceTier

HELD = 0.99  # a lease service has recovered once this share of its leases is held again


def services_summary(
    scenario: Scenario, tiers: Mapping[str, ServiceTier], origin: float
) -> dict[str, Any]:
    instances = [i for tier in tiers.values() for i in tier.instances.values()]
    fault_end = _last_fault_end(scenario)
    out: dict[str, Any] = {}
    for spec in scenario.services:
        mine = [i for i in instances if i.name == spec.name]
        entry = _served(mine, origin, scenario.duration)
        entry.update(kind=spec.kind, regions=list(spec.regions), home=spec.home)
        entry["calls"] = _calls(mine)
        entry["instances"] = {
            region: _served([i for i in mine if i.region == region], origin, scenario.duration)
            for region in spec.regions
        }
        for one in entry["instances"].values():
            one.pop("timeline", None)
        if spec.kind == "lease":
            entry["leases"] = _leases(mine, origin, scenario.duration, fault_end)
        out[spec.name] = entry
    return {"tiers": out, "graph": _graph(scenario, instances, origin), "fault_end": fault_end}


def _served(instances: list[ServiceInstance], origin: float, duration: float) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    bins: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
    for instance in instances:
        outcomes.update(instance.requests)
        for second, (n, ok) in instance.bins.items():
            bins[second][0] += n
            bins[second][1] += ok
    requests = sum(outcomes.values())
    return {
        "requests": requests,
        "ok": outcomes.get("ok", 0),
        "availability": round(outcomes.get("ok", 0) / requests, 4) if requests else None,
        "outcomes": dict(sorted(outcomes.items())),
        "timeline": _timeline(bins, origin, duration),
    }


def _calls(instances: list[ServiceInstance]) -> dict[str, dict[str, int]]:
    out: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for instance in instances:
        for (target, outcome), count in instance.calls.items():
            out[target][outcome] += count
    return {target: dict(sorted(c.items())) for target, c in sorted(out.items())}


def _timeline(bins: Mapping[int, list[int]], origin: float, duration: float) -> list[float | None]:
    """Availability per second of the run (None: no request that second)."""
    start = int(origin)
    out: list[float | None] = []
    for t in range(int(duration) + 1):
        n, ok = bins.get(start + t, (0, 0))
        out.append(round(ok / n, 4) if n else None)
    return out


def _leases(
    instances: list[ServiceInstance], origin: float, duration: float, fault_end: float | None
) -> dict[str, Any]:
    start = int(origin)
    held: list[float | None] = []
    for t in range(int(duration) + 1):
        values = [i.samples[start + t] for i in instances if start + t in i.samples]
        held.append(round(sum(values) / len(values), 4) if values else None)
    stats = [i.leases.stats() for i in instances if i.leases is not None]
    lost_at = next((t for t, v in enumerate(held) if v is not None and v < HELD), None)
    recovered_at = None
    if lost_at is not None and held and (held[-1] or 0.0) >= HELD:
        last_low = max(t for t, v in enumerate(held) if v is not None and v < HELD)
        recovered_at = last_low + 1
    return {
        "count": sum(s.count for s in stats),
        "held_min": min((v for v in held if v is not None), default=None),
        "held_at_end": held[-1] if held else None,
        "lost_at": lost_at,
        "recovered_at": recovered_at,
        "recovery_after_fault_s": (
            recovered_at - fault_end if recovered_at is not None and fault_end is not None else None
        ),
        "renewed_total": sum(s.renewed_total for s in stats),
        "established_total": sum(s.established_total for s in stats),
        "timed_out_total": sum(s.timed_out_total for s in stats),
        "failed_total": sum(s.failed_total for s in stats),
        "held": held,
    }


def _last_fault_end(scenario: Scenario) -> float | None:
    """When the last failure (not a recovery lever) ends, in run seconds."""
    ends = [
        fault.at + (fault.duration if fault.duration is not None else scenario.duration)
        for fault in scenario.timeline
        if not isinstance(fault, ServiceThrottle)
    ]
    return min(max(ends), scenario.duration) if ends else None


def _graph(
    scenario: Scenario, instances: Iterable[ServiceInstance], origin: float
) -> dict[str, Any]:
    """Nodes (service instances and the DynamoDB regions they call) with availability per second,
    and edges caller -> callee. A call to a global name is an edge to the home instance."""
    instances = list(instances)
    nodes: dict[str, dict[str, Any]] = {}
    served: defaultdict[str, list[ServiceInstance]] = defaultdict(list)
    for instance in instances:
        served[f"{instance.name}@{instance.region}"].append(instance)
    for node, group in served.items():
        spec = group[0].spec
        timeline = _served(group, origin, scenario.duration)["timeline"]
        if spec.kind == "lease" or not any(v is not None for v in timeline):
            timeline = _leases(group, origin, scenario.duration, None)["held"]
        nodes[node] = {"kind": spec.kind, "timeline": timeline}
    callee_bins: defaultdict[str, defaultdict[int, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    edges: set[tuple[str, str]] = set()
    for instance in instances:
        caller = f"{instance.name}@{instance.region}"
        for target, bins in instance.call_bins.items():
            callee = _canonical(scenario, target)
            edges.add((caller, callee))
            for second, (n, ok) in bins.items():
                callee_bins[callee][second][0] += n
                callee_bins[callee][second][1] += ok
    for callee, bins in callee_bins.items():
        if callee not in nodes:  # DynamoDB: as its callers saw it
            nodes[callee] = {
                "kind": DYNAMODB,
                "timeline": _timeline(bins, origin, scenario.duration),
            }
    return {"nodes": nodes, "edges": sorted([a, b] for a, b in edges)}


def _canonical(scenario: Scenario, target: str) -> str:
    name, _, route = target.partition("@")
    if route == GLOBAL and name != DYNAMODB:
        home = scenario.service(name).home
        return f"{name}@{home}"
    return target
