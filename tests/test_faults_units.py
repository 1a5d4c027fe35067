"""Each fault unit against the fake world: what it installs, what revert removes, idempotence."""

from __future__ import annotations

import asyncio
import random
import typing
from typing import Any

import pytest
from faults_fakes import FakeAutomation, FakeWorld
from pydantic import TypeAdapter

from harness.faults import FAULTS, FaultContext, FaultError, fault_table, fault_table_markdown
from harness.faults.registry import fault_name
from harness.scenario.fault_spec import FaultSpec

_ADAPTER: TypeAdapter[Any] = TypeAdapter(FaultSpec)
EAST = "dynamodb.us-east-1.aws.test"


def unit(*, start: float = 0.0, end: float = 100.0, seed: int = 1, **fields: Any) -> Any:
    if not fields["fault"].startswith("replication."):
        fields.setdefault("target", "us-east-1")
    spec = _ADAPTER.validate_python(fields)
    return FAULTS[spec.fault](spec, FaultContext(start, end, random.Random(seed)))


def test_registry_covers_every_fault_spec() -> None:
    union = typing.get_args(typing.get_args(FaultSpec)[0])
    assert {fault_name(s) for s in union} == set(FAULTS)
    for name, cls in FAULTS.items():
        assert fault_name(cls.spec_type) == name and cls.client_sees


def test_fault_table_is_derived_from_the_specs() -> None:
    rows = {row["fault"]: row for row in fault_table()}
    assert set(rows) == set(FAULTS)
    slow = {a["name"]: a for a in rows["dns.slow"]["attributes"]}
    assert (slow["delay"]["unit"], slow["delay"]["default"]) == ("duration", "500ms")
    assert (slow["at"]["required"], slow["at"]["common"]) == (True, True)
    assert slow["rate"]["unit"] == "0-1" and slow["rate"]["default"] == "1.0"
    flap = {a["name"]: a for a in rows["dns.flap"]["attributes"]}
    assert flap["mode"]["unit"] == "one of nodata, nxdomain, servfail, timeout"
    assert rows["endpoint.errors"]["client_sees"].startswith("HTTP 500")
    table = fault_table_markdown()
    assert table.count("\n| `") == len(FAULTS) and "`stall` duration (20s)" in table


async def test_dns_faults_map_to_overrides_on_the_whole_name() -> None:
    world = FakeWorld()
    cases: dict[str, tuple[str, dict[str, Any]]] = {
        "dns.nodata": ("nodata", {}),
        "dns.nxdomain": ("nxdomain", {}),
        "dns.servfail": ("servfail", {}),
        "dns.timeout": ("drop", {}),
        "dns.slow": ("delay", {"delay": 1.5, "jitter": 0.25}),
    }
    for fault, (mode, extra) in cases.items():
        # endpoints/az narrow nothing: a DNS answer is for the whole name.
        u = unit(
            fault=fault, at=0, rate=0.5, target={"region": "us-east-1", "endpoints": [1]}, **extra
        )
        await u.apply(world)
        (override,) = world.zone.active(EAST)
        assert (override.mode, override.rate) == (mode, 0.5)
        assert (override.delay, override.jitter) == (
            extra.get("delay", 0.0),
            extra.get("jitter", 0.0),
        )
        await u.revert(world)
        await u.revert(world)  # idempotent
        assert world.zone.overrides == {}


async def test_wrong_address_replaces_only_the_targeted_endpoints() -> None:
    world = FakeWorld()
    whole = unit(fault="dns.wrong_address", at=0)
    await whole.apply(world)
    assert world.zone.active(EAST)[0].addresses == ("127.0.254.254",)
    await whole.revert(world)
    some = unit(
        fault="dns.wrong_address",
        at=0,
        address="127.0.99.9",
        target={"region": "us-east-1", "endpoints": [0, 2]},
    )
    await some.apply(world)
    assert world.zone.active(EAST)[0].addresses == ("127.0.99.9", "127.0.10.2")
    await some.revert(world)
    by_az = unit(
        fault="dns.wrong_address", at=0, target={"region": "us-east-1", "az": "us-east-1-az2"}
    )
    await by_az.apply(world)
    assert world.zone.active(EAST)[0].addresses == ("127.0.10.1", "127.0.254.254", "127.0.10.3")


async def test_endpoint_targets_az_endpoints_and_both() -> None:
    world = FakeWorld()
    region = world.regions["us-east-1"]
    targets = [
        ("us-east-1", None),
        ({"region": "us-east-1", "endpoints": [2, 0, 2]}, (2, 0)),
        ({"region": "us-east-1", "az": "us-east-1-az1"}, (0,)),
        ({"region": "us-east-1", "az": "us-east-1-az1", "endpoints": [0, 1]}, (0,)),
    ]
    for target, expected in targets:
        u = unit(fault="endpoint.throttle", at=0, fraction=0.25, target=target)
        await u.apply(world)
        (override,) = region.overrides.values()
        assert (override.mode, override.endpoints, override.fraction) == (
            "throttle",
            expected,
            0.25,
        )
        await u.revert(world)
        await u.revert(world)
        assert region.overrides == {}
    empty = unit(
        fault="endpoint.down",
        at=0,
        target={"region": "us-east-1", "az": "us-east-1-az1", "endpoints": [1]},
    )
    with pytest.raises(FaultError, match="selects no endpoint"):
        await empty.apply(world)
    await empty.revert(world)  # safe after a failed apply


async def test_endpoint_modes_carry_their_options() -> None:
    world = FakeWorld()
    region = world.regions["us-east-1"]
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("endpoint.latency", {"delay": "50ms", "jitter": "10ms"}, {"delay": 0.05, "jitter": 0.01}),
        ("endpoint.errors", {"status": "throttling"}, {"status": "throttling"}),
        ("endpoint.blackhole", {}, {}),
        ("endpoint.reset", {}, {}),
        ("endpoint.down", {}, {}),
    ]
    for fault, extra, check in cases:
        u = unit(fault=fault, at=0, **extra)
        await u.apply(world)
        (override,) = region.overrides.values()
        assert override.mode == fault.split(".")[1]
        assert {k: getattr(override, k) for k in check} == check
        await u.revert(world)


async def test_drain_is_one_shot() -> None:
    world = FakeWorld()
    u = unit(fault="endpoint.drain", at=0, target={"region": "us-east-1", "endpoints": [1]})
    await u.apply(world)
    await u.revert(world)
    assert world.regions["us-east-1"].drains == [(1,)] and u.details() == {"connections_closed": 5}


async def test_replication_pause_and_resume() -> None:
    world = FakeWorld()
    u = unit(fault="replication.pause", at=0, source="us-east-1")
    await u.apply(world)
    assert world.replication is not None
    assert list(world.replication.pauses.values()) == [("us-east-1", None)]
    await u.revert(world)
    await u.revert(world)
    assert world.replication.pauses == {}


@pytest.mark.looptime
async def test_flap_applied_late_keeps_the_scheduled_phases() -> None:
    world = FakeWorld()
    t0 = asyncio.get_running_loop().time()
    u = unit(start=t0, fault="dns.flap", at=0, period=4)
    await asyncio.sleep(2.5)  # applied in the `off` half of the first period
    await u.apply(world)
    assert world.zone.overrides == {}
    await asyncio.sleep(1.0)  # t = 3.5: still off
    assert world.zone.overrides == {}
    await asyncio.sleep(1.0)  # t = 4.5: on
    assert len(world.zone.overrides) == 1
    await u.revert(world)
    await u.revert(world)
    assert world.zone.overrides == {}
    await asyncio.sleep(10)
    assert world.zone.overrides == {}  # the task is gone


async def test_flap_needs_a_period() -> None:
    u = unit(fault="dns.flap", at=0, period=0)
    with pytest.raises(FaultError, match="period"):
        await u.apply(FakeWorld())


@pytest.mark.looptime
async def test_race_fault_stalls_a_seeded_enactor_and_fixes_on_time() -> None:
    automation = FakeAutomation()
    world = FakeWorld(automation=automation)
    t0 = asyncio.get_running_loop().time()
    u = unit(
        start=t0,
        seed=5,
        fault="dns.automation_race",
        at=0,
        duration=100,
        stall=20,
        manual_fix_at=60,
    )
    await u.apply(world)
    ((enactor, stall_at, duration),) = automation.stalls
    assert enactor in automation.enactors and duration == 20
    assert t0 <= stall_at <= t0 + (60 - 20) / 2  # leaves time for the race before the fix
    again = unit(
        start=t0,
        seed=5,
        fault="dns.automation_race",
        at=0,
        duration=100,
        stall=20,
        manual_fix_at=60,
    )
    await again.apply(FakeWorld(automation=(twin := FakeAutomation())))
    assert twin.stalls == automation.stalls  # seeded
    await again.revert(FakeWorld(automation=twin))
    automation.inconsistent = True
    await asyncio.sleep(61)
    assert automation.fixes == [pytest.approx(t0 + 60)] and u.repaired
    await u.revert(world)
    await u.revert(world)
    assert automation.fixes == [pytest.approx(t0 + 60)]  # already fixed and consistent
    assert automation.cleared == 2
    assert u.details()["fixed_at"] == pytest.approx(60)


@pytest.mark.looptime
async def test_race_fault_revert_fixes_when_the_fix_time_was_not_reached() -> None:
    automation = FakeAutomation(inconsistent=True)
    world = FakeWorld(automation=automation)
    u = unit(fault="dns.automation_race", at=0)  # no duration: fixed at revert
    await u.apply(world)
    await asyncio.sleep(5)
    await u.revert(world)
    assert len(automation.fixes) == 1 and not automation.inconsistent and automation.cleared == 1


async def test_race_fault_refuses_another_region() -> None:
    world = FakeWorld(automation=FakeAutomation(region="us-west-2"))
    u = unit(fault="dns.automation_race", at=0)
    with pytest.raises(FaultError, match="runs for us-west-2"):
        await u.apply(world)
    await u.revert(world)
