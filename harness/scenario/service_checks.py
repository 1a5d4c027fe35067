"""Cross-field checks of `services:` and of strategies' `tokens:`: unknown names, dependency
cycles, endpoints that do not exist. One (field path, message) per problem, like checks.py."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from harness.scenario.model import Scenario
from harness.scenario.service_spec import DYNAMODB, ServiceSpec
from harness.scenario.strategy_spec import StrategySpec

Path = tuple[str | int, ...]
Found = Iterator[tuple[Path, str]]

MAX_ADDRESSES = 254  # one /24 per service: hosting regions × endpoints must fit


def service_problems(scenario: Scenario, known_strategies: Collection[str] | None) -> Found:
    services = {s.name: s for s in scenario.services}
    regions = set(scenario.region_names)
    seen: set[str] = set()
    for index, spec in enumerate(scenario.services):
        path: Path = ("services", index)
        if spec.name in seen:
            yield (*path, "name"), f"duplicate service name {spec.name!r}"
        seen.add(spec.name)
        if spec.name == DYNAMODB:
            yield (*path, "name"), f"{DYNAMODB!r} names the regions' endpoints; pick another name"
        yield from _hosting(path, spec, regions)
        named = "strategy" in spec.model_fields_set  # the default is a catalog strategy
        if named and known_strategies is not None and spec.strategy not in known_strategies:
            yield (
                (*path, "strategy"),
                f"unknown strategy {spec.strategy!r} (see `harness strategies`)",
            )
        for c, call in enumerate(spec.calls):
            where = (*path, "calls", c)
            if call.to == DYNAMODB:
                if call.endpoint == "global":
                    yield (*where, "endpoint"), "dynamodb has no global endpoint"
                continue
            callee = services.get(call.to)
            if callee is None:
                yield (*where, "to"), unknown_service(call.to, services)
            elif call.endpoint == "global" and callee.home is None:
                yield (*where, "endpoint"), f"service {call.to!r} has no home (no global name)"
            elif call.endpoint == "local" and not set(spec.regions) <= set(callee.regions):
                missing = sorted(set(spec.regions) - set(callee.regions))
                yield (*where, "endpoint"), f"{call.to!r} is not hosted in {', '.join(missing)}"
    yield from _cycles(scenario)
    yield from _tokens(scenario, services)


def _hosting(path: Path, spec: ServiceSpec, regions: set[str]) -> Found:
    for r, region in enumerate(spec.regions):
        if region not in regions:
            yield (*path, "regions", r), _unknown_region(region, regions)
    if len(set(spec.regions)) != len(spec.regions):
        yield (*path, "regions"), "a region is listed more than once"
    if spec.home is not None and spec.home not in spec.regions:
        yield (*path, "home"), f"home {spec.home!r} is not one of the service's regions"
    if len(spec.regions) * spec.endpoints > MAX_ADDRESSES:
        yield (*path, "endpoints"), f"regions × endpoints must be at most {MAX_ADDRESSES}"


def _cycles(scenario: Scenario) -> Found:
    """A service that (through its calls) calls itself would never answer: report each cycle once,
    at the call that closes it."""
    edges = {
        s.name: [(c, call.to) for c, call in enumerate(s.calls) if call.to != DYNAMODB]
        for s in scenario.services
    }
    index = {s.name: i for i, s in enumerate(scenario.services)}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []
    found: list[tuple[Path, str]] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for c, callee in edges.get(name, []):
            if callee not in edges:
                continue
            if state.get(callee) == 1:
                cycle = [*stack[stack.index(callee) :], callee]
                found.append(
                    (
                        ("services", index[name], "calls", c, "to"),
                        f"dependency cycle: {' -> '.join(cycle)}",
                    )
                )
            elif state.get(callee) is None:
                visit(callee)
        stack.pop()
        state[name] = 2

    for name in edges:
        if name not in state:
            visit(name)
    yield from found


def _tokens(scenario: Scenario, services: dict[str, ServiceSpec]) -> Found:
    if scenario.strategies == "all":
        return
    for index, ref in enumerate(scenario.strategies):
        if not isinstance(ref, StrategySpec) or ref.tokens is None:
            continue
        path: Path = ("strategies", index, "tokens")
        spec = services.get(ref.tokens.service)
        if spec is None:
            yield (*path, "service"), unknown_service(ref.tokens.service, services)
        elif spec.kind != "token":
            kind = f"a {spec.kind} service"
            yield (*path, "service"), f"service {spec.name!r} is {kind}, not a token service"
        elif ref.tokens.endpoint in ("global", "failover") and spec.home is None:
            yield (*path, "endpoint"), f"service {spec.name!r} has no home (no global name)"
        elif ref.tokens.endpoint in ("regional", "failover"):
            missing = [home for home in scenario.homes if home not in spec.regions]
            if missing:
                where = ", ".join(missing)
                yield (*path, "endpoint"), f"service {spec.name!r} is not hosted in {where}"


def unknown_service(name: str, services: Collection[str]) -> str:
    known = ", ".join(services) or "none declared"
    return f"unknown service {name!r} (services: {known}; or {DYNAMODB})"


def _unknown_region(name: str, regions: Collection[str]) -> str:
    return f"unknown region {name!r} (regions: {', '.join(sorted(regions))})"
