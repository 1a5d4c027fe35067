"""Valid scenarios load to the right values; units parse; the JSON Schema is usable."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.outcomes import Outcome
from harness.scenario import Scenario, load_scenario, parse_scenario
from harness.scenario.fault_spec import DnsAutomationRace, EndpointBlackhole, ReplicationPause
from harness.scenario.strategy_spec import FactoryStrategy, FailoverBlock, RetryBlock, StrategySpec
from harness.scenario.types import LatencySpec
from harness.units import format_duration, parse_duration, parse_rate

DATA = Path(__file__).parent / "data"
REPO_SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.yaml"))

MINIMAL = """\
name: minimal
duration: 90s
regions:
  - name: us-east-1
  - name: us-west-2
"""

BLOCK_KINDS = {"timeout", "retry", "quota", "limiter", "budget", "throttling", "breaker", "hedge"}
FAULT_KINDS = {
    "dns.nodata",
    "dns.nxdomain",
    "dns.servfail",
    "dns.timeout",
    "dns.slow",
    "dns.wrong_address",
    "dns.flap",
    "dns.automation_race",
    "endpoint.latency",
    "endpoint.errors",
    "endpoint.throttle",
    "endpoint.blackhole",
    "endpoint.reset",
    "endpoint.down",
    "endpoint.drain",
    "replication.pause",
}


def test_minimal_scenario_gets_the_documented_defaults() -> None:
    scenario = parse_scenario(MINIMAL, "minimal.yaml")
    assert scenario.duration == 90.0
    assert scenario.region_names == ("us-east-1", "us-west-2")
    assert scenario.home_region == "us-east-1"  # no clients.home_region: the first region
    assert scenario.strategies == "all"
    assert scenario.seed == 1
    assert scenario.dns.host == "127.0.0.1"
    assert scenario.dns.endpoint_name("us-west-2") == "dynamodb.us-west-2.aws.test"
    assert scenario.regions[0].az_names == ("us-east-1-az1", "us-east-1-az2", "us-east-1-az3")
    assert scenario.timeline == () and scenario.slo == {}


def test_full_scenario_uses_every_section() -> None:
    scenario = load_scenario(DATA / "scenario_full.yaml", known_strategies=["naive"])
    assert scenario.home_region == "us-east-1"
    assert scenario.dns.automation.enabled
    assert scenario.clients.rate == 500.0
    assert scenario.regions[1].service_time == LatencySpec(median=0.004, p99=0.004)
    assert scenario.regions[0].az_of(2) == "use1-az4"

    assert scenario.strategies != "all"
    name, inline, factory = scenario.strategies
    assert name == "naive"
    assert isinstance(inline, StrategySpec) and isinstance(factory, FactoryStrategy)
    assert {block.kind for block in inline.blocks} == BLOCK_KINDS | {"failover"}
    failover = next(b for b in inline.blocks if isinstance(b, FailoverBlock))
    assert failover.on == (Outcome.DNS_NXDOMAIN, Outcome.DNS_NODATA, Outcome.CONNECT_ERROR)
    retry = next(b for b in inline.blocks if isinstance(b, RetryBlock))
    assert (retry.base, retry.cap, retry.max_elapsed) == (0.05, 20.0, 10.0)
    assert inline.dns.max_stale == 86400.0 and inline.pool.max_age == 300.0
    assert factory.factory == "mypackage.strategies:build"

    assert {fault.fault for fault in scenario.timeline} == FAULT_KINDS
    race = next(f for f in scenario.timeline if isinstance(f, DnsAutomationRace))
    assert (race.at, race.manual_fix_at) == (90.0, 240.0)
    blackhole = next(f for f in scenario.timeline if isinstance(f, EndpointBlackhole))
    assert blackhole.target.label() == "us-east-1/ep0+2"
    pause = next(f for f in scenario.timeline if isinstance(f, ReplicationPause))
    assert (pause.source, pause.destination, pause.duration) == ("us-east-1", "eu-west-1", 60.0)

    assert [p.at for p in scenario.phases] == [0.0, 120.0, 300.0]
    assert [s.kind for s in scenario.stop_when] == ["saturated", "success_ratio_below"]
    assert scenario.slo["kitchen-sink"].p99 == 0.25


def test_a_scenario_is_immutable() -> None:
    scenario = parse_scenario(MINIMAL)
    with pytest.raises(ValueError):
        scenario.seed = 2


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("500us", 0.0005),
        (" 90 s ", 90.0),
        ("42", 42.0),
        (7, 7.0),
        (0.5, 0.5),
    ],
)
def test_durations(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)
    scenario = parse_scenario(f"name: d\nduration: {text}\nregions: [{{name: r}}]\n")
    assert scenario.duration == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "per_second"), [("500/s", 500.0), ("30/m", 0.5), ("3600/h", 1.0), (2.5, 2.5)]
)
def test_rates(text: str | float, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)
    yaml_text = f"name: r\nduration: 1m\nregions: [{{name: r}}]\nclients: {{rate: {text}}}\n"
    assert parse_scenario(yaml_text).clients.rate == pytest.approx(per_second)


@pytest.mark.parametrize(
    "bad", ["5 parsecs", "-1s", "1e3s", "", "s", True, None, [1], 10**400, float("nan")]
)
def test_bad_durations_raise_value_error_only(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize("bad", ["500/fortnight", "-5/s", "fast", False, {}, float("inf"), -1])
def test_bad_rates_raise_value_error_only(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_rate(bad)


def test_format_duration_reads_back() -> None:
    assert [format_duration(s) for s in (0.25, 1.5, 90.0, 120.0)] == [
        "250ms",
        "1.5s",
        "1m30s",
        "2m",
    ]
    for seconds in (0.25, 1.5, 120.0):
        assert parse_duration(format_duration(seconds)) == seconds


def test_latency_from_a_constant_or_a_pair() -> None:
    constant = LatencySpec.model_validate("4ms")
    assert (constant.median, constant.p99, constant.sigma) == (0.004, 0.004, 0.0)
    assert LatencySpec.model_validate(0.002).p99 == 0.002
    fitted = LatencySpec.model_validate({"median": "4ms", "p99": "25ms"})
    assert fitted.sigma > 0
    with pytest.raises(ValueError, match="p99 must be"):
        LatencySpec.model_validate({"median": "25ms", "p99": "4ms"})


def test_yaml_1_1_booleans_do_not_eat_keys_or_names() -> None:
    """`on:` is FailoverBlock.on, and `no`/`off` stay strings; true/false are still booleans."""
    text = MINIMAL + (
        "dns: {automation: {enabled: true, safeguards: yes}}\n"
        "strategies:\n"
        "  - name: s\n"
        "    blocks:\n"
        "      - kind: failover\n"
        "        on: [dns_nodata]\n"
    )
    scenario = parse_scenario(text)
    assert scenario.dns.automation.enabled and scenario.dns.automation.safeguards
    assert scenario.strategies != "all"
    strategy = scenario.strategies[0]
    assert isinstance(strategy, StrategySpec)
    assert strategy.blocks[0] == FailoverBlock(on=(Outcome.DNS_NODATA,))
    renamed = parse_scenario(MINIMAL.replace("us-west-2", "no"))
    assert renamed.region_names == ("us-east-1", "no")


def test_anchors_and_merge_keys_are_allowed_in_moderation() -> None:
    text = (
        "name: merged\nduration: 60s\nregions:\n"
        "  - &region {name: us-east-1, endpoints: 2, rtt: 5ms}\n"
        "  - {<<: *region, name: us-west-2}\n"
    )
    scenario = parse_scenario(text)
    assert [(r.name, r.endpoints, r.rtt) for r in scenario.regions] == [
        ("us-east-1", 2, 0.005),
        ("us-west-2", 2, 0.005),
    ]


def test_overrides_replace_top_level_fields_and_are_validated() -> None:
    assert parse_scenario(MINIMAL, overrides={"seed": 7, "duration": 30.0}).seed == 7
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(MINIMAL, "m.yaml", overrides={"seed": -1})
    assert [(p.field, p.line) for p in caught.value.problems] == [("seed", 1)]


def test_json_schema_is_valid_json_with_the_duration_pattern() -> None:
    schema = Scenario.model_json_schema()
    text = json.dumps(schema)
    assert json.loads(text) == schema
    assert {"name", "duration", "regions"} <= set(schema["required"])
    duration = schema["properties"]["duration"]
    patterns = [choice["pattern"] for choice in duration["anyOf"] if "pattern" in choice]
    assert patterns, duration
    accepts = re.compile(patterns[0])
    assert all(accepts.match(v) for v in ("250ms", "1.5s", "2m", "1h", " 3d "))
    assert not any(accepts.match(v) for v in ("5 parsecs", "-1s", "1e3s"))
    for name in ("StrategySpec", "FactoryStrategy", "DnsNodata", "RetryBlock", "SloSpec"):
        assert name in schema["$defs"]


def test_json_schema_agrees_with_the_parser_on_durations() -> None:
    pattern = re.compile(
        next(
            c["pattern"]
            for c in Scenario.model_json_schema()["properties"]["duration"]["anyOf"]
            if "pattern" in c
        )
    )
    for text in ("250ms", "1.5s", "90s", "2m", "1h", "500us", "7"):
        assert pattern.match(text) and parse_duration(text) >= 0


def test_the_repository_scenarios_are_valid() -> None:
    """Every scenarios/*.yaml shipped with the project loads (vacuous until there are some)."""
    try:
        from harness.client import catalog

        known: tuple[str, ...] | None = tuple(catalog.names())
    except ImportError:
        known = None
    for path in REPO_SCENARIOS:
        try:
            load_scenario(path, known_strategies=known)
        except ScenarioError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{path} is invalid:\n{exc}")


def test_a_scenario_round_trips_through_json() -> None:
    """Runs record their scenario as JSON; reading it back must give the same scenario."""
    scenario = load_scenario(DATA / "scenario_full.yaml")
    assert Scenario.model_validate_json(scenario.model_dump_json()) == scenario
    assert Scenario.model_validate(scenario.model_dump()) == scenario


def test_strategies_can_be_given_as_objects() -> None:
    inline = StrategySpec(name="mine", blocks=(RetryBlock(max_attempts=2),))
    factory = FactoryStrategy(name="theirs", factory="pkg.mod:make")
    scenario = parse_scenario(MINIMAL, overrides={"strategies": ("naive", inline, factory)})
    assert scenario.strategies == ("naive", inline, factory)
