"""Cross-field checks a schema cannot express: names that must refer to something that exists."""

from __future__ import annotations

from collections.abc import Collection

from harness.netguard import is_loopback
from harness.scenario.fault_spec import DnsWrongAddress, ReplicationPause
from harness.scenario.model import Scenario
from harness.scenario.strategy_spec import FactoryStrategy, FailoverBlock, StrategySpec

Path = tuple[str | int, ...]


def semantic_problems(
    scenario: Scenario, known_strategies: Collection[str] | None
) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    regions = {r.name: r for r in scenario.regions}

    seen: set[str] = set()
    for index, region in enumerate(scenario.regions):
        if region.name in seen:
            problems.append((("regions", index, "name"), f"duplicate region name {region.name!r}"))
        seen.add(region.name)

    if scenario.clients.home_region and scenario.clients.home_region not in regions:
        problems.append(
            (("clients", "home_region"), _unknown_region(scenario.clients.home_region, regions))
        )
    if not is_loopback(scenario.dns.host):
        problems.append((("dns", "host"), f"{scenario.dns.host!r} is not a loopback address"))

    strategy_names: list[str] = []
    if scenario.strategies != "all":
        for index, ref in enumerate(scenario.strategies):
            if isinstance(ref, str):
                if known_strategies is not None and ref not in known_strategies:
                    problems.append(
                        (("strategies", index), f"unknown strategy {ref!r} (see `harness strategies`)")
                    )
                strategy_names.append(ref)
                continue
            strategy_names.append(ref.name)
            if isinstance(ref, StrategySpec):
                for b, block in enumerate(ref.blocks):
                    if isinstance(block, FailoverBlock) and block.regions:
                        for r, name in enumerate(block.regions):
                            if name not in regions:
                                path: Path = ("strategies", index, "blocks", b, "regions", r)
                                problems.append((path, _unknown_region(name, regions)))
            elif isinstance(ref, FactoryStrategy):
                pass  # imported and called when the run starts; errors reported then
        dupes = sorted({n for n in strategy_names if strategy_names.count(n) > 1})
        for name in dupes:
            problems.append((("strategies",), f"strategy {name!r} listed more than once"))

    for index, fault in enumerate(scenario.timeline):
        if fault.at >= scenario.duration:
            problems.append(
                (("timeline", index, "at"), f"starts at {fault.at:g}s, after the run ends")
            )
        if isinstance(fault, ReplicationPause):
            for side in ("source", "destination"):
                name = getattr(fault, side)
                if name is not None and name not in regions:
                    problems.append((("timeline", index, side), _unknown_region(name, regions)))
            continue
        target = fault.target
        region = regions.get(target.region)
        if region is None:
            problems.append((("timeline", index, "target"), _unknown_region(target.region, regions)))
            continue
        if target.az is not None and target.az not in region.az_names:
            problems.append(
                (
                    ("timeline", index, "target", "az"),
                    f"unknown AZ {target.az!r} in {region.name} (has {', '.join(region.az_names)})",
                )
            )
        for e, endpoint in enumerate(target.endpoints or ()):
            if endpoint >= region.endpoints:
                problems.append(
                    (
                        ("timeline", index, "target", "endpoints", e),
                        f"endpoint {endpoint} does not exist ({region.name} has {region.endpoints})",
                    )
                )
        if isinstance(fault, DnsWrongAddress) and not is_loopback(fault.address):
            problems.append(
                (("timeline", index, "address"), f"{fault.address!r} is not a loopback address")
            )

    previous = -1.0
    for index, phase in enumerate(scenario.phases):
        if phase.at < previous:
            problems.append((("phases", index, "at"), "phases must be in time order"))
        if phase.at >= scenario.duration:
            problems.append((("phases", index, "at"), "phase starts after the run ends"))
        previous = phase.at

    for index, stop in enumerate(scenario.stop_when):
        name = getattr(stop, "strategy", None)
        if name is not None and scenario.strategies != "all" and name not in strategy_names:
            problems.append(
                (("stop_when", index, "strategy"), f"strategy {name!r} is not in this scenario")
            )
    for name in scenario.slo:
        if scenario.strategies != "all" and name not in strategy_names:
            problems.append((("slo", name), f"strategy {name!r} is not in this scenario"))
        elif scenario.strategies == "all" and known_strategies is not None:
            if name not in known_strategies:
                problems.append((("slo", name), f"unknown strategy {name!r}"))
    return problems


def _unknown_region(name: str, regions: Collection[str]) -> str:
    return f"unknown region {name!r} (regions: {', '.join(regions)})"
