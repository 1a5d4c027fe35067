"""Cross-field checks a schema cannot express: names that must refer to something that exists."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterator

from harness.netguard import is_loopback
from harness.scenario.fault_spec import (
    DnsAutomationRace,
    DnsNodata,
    DnsNxdomain,
    DnsServfail,
    DnsSlow,
    DnsTimeout,
    DnsWrongAddress,
    FaultSpec,
    ReplicationPause,
    ServiceThrottle,
    Target,
)
from harness.scenario.model import RegionSpec, Scenario
from harness.scenario.service_checks import service_problems, unknown_service
from harness.scenario.strategy_spec import FailoverBlock, StrategySpec

Path = tuple[str | int, ...]
Found = Iterator[tuple[Path, str]]


def semantic_problems(
    scenario: Scenario, known_strategies: Collection[str] | None
) -> list[tuple[Path, str]]:
    """(field path, message) for every cross-reference that does not hold; empty if all is well."""
    return [
        *_regions(scenario),
        *_strategies(scenario, known_strategies),
        *_timeline(scenario),
        *_phases(scenario),
        *_strategy_references(scenario, known_strategies),
        *service_problems(scenario, known_strategies),
    ]


def _regions(scenario: Scenario) -> Found:
    regions = {r.name: r for r in scenario.regions}
    seen: set[str] = set()
    for index, region in enumerate(scenario.regions):
        if region.name in seen:
            yield ("regions", index, "name"), f"duplicate region name {region.name!r}"
        seen.add(region.name)
    home = scenario.clients.home_region
    if home and home not in regions:
        yield ("clients", "home_region"), _unknown_region(home, regions)
    for index, population in enumerate(scenario.clients.populations):
        if population.home not in regions:
            path = ("clients", "populations", index, "home")
            yield path, _unknown_region(population.home, regions)
    for index, region in enumerate(scenario.regions):
        for name in region.rtt_from:
            if name not in regions:
                yield ("regions", index, "rtt_from", name), _unknown_region(name, regions)
    if not is_loopback(scenario.dns.host):
        yield ("dns", "host"), f"{scenario.dns.host!r} is not a loopback address"


def _strategies(scenario: Scenario, known_strategies: Collection[str] | None) -> Found:
    if scenario.strategies == "all":
        return
    regions = set(scenario.region_names)
    names: list[str] = []
    for index, ref in enumerate(scenario.strategies):
        if isinstance(ref, str):
            if known_strategies is not None and ref not in known_strategies:
                yield ("strategies", index), f"unknown strategy {ref!r} (see `harness strategies`)"
            names.append(ref)
            continue
        names.append(ref.name)
        # A FactoryStrategy is imported and called when the run starts; errors are reported then.
        if isinstance(ref, StrategySpec):
            for b, block in enumerate(ref.blocks):
                if isinstance(block, FailoverBlock):
                    for r, name in enumerate(block.regions or ()):
                        if name not in regions:
                            path = ("strategies", index, "blocks", b, "regions", r)
                            yield path, _unknown_region(name, regions)
    for index, name in enumerate(names):
        if name in names[:index]:
            yield ("strategies", index), f"strategy {name!r} listed more than once"


def _timeline(scenario: Scenario) -> Found:
    for index, fault in enumerate(scenario.timeline):
        if fault.at >= scenario.duration:
            yield ("timeline", index, "at"), f"starts at {fault.at:g}s, after the run ends"
        for path, message in fault_problems(scenario, fault):
            yield ("timeline", index, *path), message


def fault_problems(scenario: Scenario, fault: FaultSpec) -> Found:
    """What is wrong with one fault entry in this scenario's world (paths relative to the entry):
    used for the timeline and for faults applied through the control API."""
    regions = {r.name: r for r in scenario.regions}
    if isinstance(fault, ReplicationPause):
        for side in ("source", "destination"):
            name = getattr(fault, side)
            if name is not None and name not in regions:
                yield (side,), _unknown_region(name, regions)
        return
    region = regions.get(fault.target.region)
    if region is None:
        yield ("target",), _unknown_region(fault.target.region, regions)
    elif fault.target.service is not None or isinstance(fault, ServiceThrottle):
        yield from _service_target(scenario, fault)
    else:
        yield from _target(("target",), fault.target, region)
    if isinstance(fault, DnsWrongAddress) and not _is_ipv4_loopback(fault.address):
        yield (
            ("address",),
            f"{fault.address!r} is not an IPv4 loopback address (an A record, 127.0.0.0/8)",
        )
    fix_at = fault.manual_fix_at if isinstance(fault, DnsAutomationRace) else None
    if fix_at is not None and fix_at < fault.at:
        yield ("manual_fix_at",), "the fix comes before the fault"


_SERVICE_DNS_FAULTS = (DnsNodata, DnsNxdomain, DnsServfail, DnsTimeout, DnsSlow)


def _service_target(scenario: Scenario, fault: object) -> Found:
    target: Target = getattr(fault, "target")  # noqa: B009  (every fault here has one)
    path: Path = ("target",)
    if target.service is None:
        yield (*path, "service"), "service.throttle needs a target service (a lease service)"
        return
    if not isinstance(fault, (*_SERVICE_DNS_FAULTS, ServiceThrottle)):
        kinds = "dns.nodata/nxdomain/servfail/timeout/slow and service.throttle"
        yield (*path, "service"), f"a service can be the target of {kinds} only"
        return
    names = {s.name: s for s in scenario.services}
    spec = names.get(target.service)
    if spec is None:
        yield (*path, "service"), unknown_service(target.service, names)
    elif target.region not in spec.regions:
        yield (*path, "region"), f"service {spec.name!r} is not hosted in {target.region}"
    elif isinstance(fault, ServiceThrottle) and spec.kind != "lease":
        yield (
            (*path, "service"),
            f"service.throttle acts on a lease service; {spec.name!r} is {spec.kind}",
        )


def _target(path: Path, target: Target, region: RegionSpec) -> Found:
    if target.az is not None and target.az not in region.az_names:
        names = ", ".join(region.az_names)
        yield (*path, "az"), f"unknown AZ {target.az!r} in {region.name} (has {names})"
    for e, endpoint in enumerate(target.endpoints or ()):
        if endpoint >= region.endpoints:
            yield (
                (*path, "endpoints", e),
                f"endpoint {endpoint} does not exist ({region.name} has {region.endpoints}, "
                f"numbered from 0)",
            )


def _phases(scenario: Scenario) -> Found:
    previous = -1.0
    for index, phase in enumerate(scenario.phases):
        if phase.at < previous:
            yield ("phases", index, "at"), "phases must be in time order"
        if phase.at >= scenario.duration:
            yield ("phases", index, "at"), "phase starts after the run ends"
        previous = max(previous, phase.at)


def _strategy_references(scenario: Scenario, known_strategies: Collection[str] | None) -> Found:
    """stop_when and slo name strategies: they must be ones this scenario runs."""
    if scenario.strategies == "all":
        if known_strategies is None:
            return
        running: Collection[str] = known_strategies
        problem = "unknown strategy {!r}"
    else:
        running = {ref if isinstance(ref, str) else ref.name for ref in scenario.strategies}
        problem = "strategy {!r} is not in this scenario"
    for index, stop in enumerate(scenario.stop_when):
        name = getattr(stop, "strategy", None)
        if name is not None and name not in running:
            yield ("stop_when", index, "strategy"), problem.format(name)
    for name in scenario.slo:
        if name not in running:
            yield ("slo", name), problem.format(name)


def _is_ipv4_loopback(address: str) -> bool:
    try:
        return ipaddress.IPv4Address(address).is_loopback
    except ValueError:
        return False


def _unknown_region(name: str, regions: Collection[str]) -> str:
    return f"unknown region {name!r} (regions: {', '.join(regions)})"
