"""The live automation on the virtual clock, writing a fake zone; and the race fault end to end."""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Any

import pytest
from faults_fakes import FakeWorld, FakeZone
from pydantic import TypeAdapter

from harness.clock import Clock
from harness.events import AutomationEvent, EventBus
from harness.faults import FaultInjector
from harness.faults.world_api import AutomationControl
from harness.scenario.fault_spec import FaultSpec
from harness.scenario.model import AutomationSpec
from harness.world.automation import DnsAutomation

NAME = "dynamodb.us-east-1.aws.test"
ADDRS = ("127.0.10.1", "127.0.10.2", "127.0.10.3")


def automation(
    zone: FakeZone, *, seed: int = 7, safeguards: bool = False, bus: EventBus | None = None
) -> DnsAutomation:
    spec = AutomationSpec(enabled=True, safeguards=safeguards)
    return DnsAutomation(
        spec,
        region="us-east-1",
        name=NAME,
        addresses=ADDRS,
        zone=zone,
        rng=random.Random(seed),
        bus=bus,
    )


def test_it_satisfies_the_faults_view() -> None:
    control: AutomationControl = automation(FakeZone())
    assert control.enactors == ("enactor-az1", "enactor-az2", "enactor-az3")
    spec = AutomationSpec(enabled=True, enactors=4)
    named = DnsAutomation(
        spec,
        region="r",
        name=NAME,
        addresses=ADDRS,
        zone=FakeZone(),
        rng=random.Random(1),
        azs=("r-a", "r-b", "r-c"),
    )
    assert named.enactors == ("enactor-r-a", "enactor-r-b", "enactor-r-c", "enactor-r-a-2")


async def race(seed: int, safeguards: bool) -> tuple[DnsAutomation, FakeZone, float]:
    zone = FakeZone({NAME: ADDRS})
    auto = automation(zone, seed=seed, safeguards=safeguards)
    t0 = asyncio.get_running_loop().time()
    async with auto.running():
        auto.stall(auto.enactors[0], t0 + 5.0, 20.0)
        await asyncio.sleep(40)
    return auto, zone, t0


@pytest.mark.looptime
async def test_seeded_race_empties_the_record_deterministically() -> None:
    auto, zone, t0 = await race(seed=7, safeguards=False)
    assert zone.addresses(NAME) == () and auto.inconsistent
    (emptying,) = auto.state.emptyings
    assert emptying.applied_by == auto.enactors[0] and emptying.deleted_by != auto.enactors[0]
    assert emptying.cleanup_generation - emptying.generation > 10
    again, _, t1 = await race(seed=7, safeguards=False)
    report = auto.race_report(origin=t0)
    assert again.race_report(origin=t1) == report  # same seed -> same generations and moments
    kinds = [e["kind"] for e in report["events"]]
    assert kinds == ["stall", "plan_applied", "cleanup", "record_emptied", "inconsistent"]


@pytest.mark.looptime
async def test_same_seed_with_safeguards_keeps_the_record() -> None:
    auto, zone, _ = await race(seed=7, safeguards=True)
    assert zone.addresses(NAME) and not auto.inconsistent
    assert all(change != "empty" for _, change, _ in zone.changes)
    assert [e.kind for e in auto.state.notable] == ["stall", "plan_refused_stale"]


@pytest.mark.looptime
async def test_inconsistent_state_refuses_plans_until_the_manual_fix() -> None:
    bus = EventBus()
    events: list[AutomationEvent] = []
    bus.subscribe(AutomationEvent, events.append)
    zone = FakeZone({NAME: ADDRS})
    auto = automation(zone, bus=bus)
    t0 = asyncio.get_running_loop().time()
    async with auto.running():
        auto.stall(auto.enactors[1], t0 + 2.0, 15.0)
        await asyncio.sleep(30)
        assert auto.inconsistent and zone.addresses(NAME) == ()
        refused, generation = auto.state.refusals, auto.state.latest_generation
        await asyncio.sleep(10)  # ten more plans: every Enactor refuses them
        assert auto.state.latest_generation == generation + 10
        assert auto.state.refusals >= refused + 3 * 10 and zone.addresses(NAME) == ()
        assert auto.manual_fix() is True
        assert zone.addresses(NAME) == auto.state.plans[auto.state.latest_generation].addresses
        await asyncio.sleep(5.5)  # re-enabled: new plans are applied again
        assert not auto.inconsistent and zone.addresses(NAME)
        assert auto.state.record_generation == auto.state.latest_generation
    kinds = {e.kind for e in events}
    assert {"plan_issued", "plan_applied", "cleanup", "record_emptied", "inconsistent"} <= kinds
    assert {"plan_refused_inconsistent", "manual_fix"} <= kinds


@pytest.mark.looptime
async def test_plans_follow_the_interval_and_sometimes_leave_an_endpoint_out() -> None:
    zone = FakeZone({NAME: ADDRS})
    auto = automation(zone, seed=3)
    async with auto.running():
        await asyncio.sleep(100.5)
    plans = list(auto.state.plans.values())
    assert auto.state.latest_generation == 101
    assert [round(b.issued_at - a.issued_at, 6) for a, b in itertools.pairwise(plans)] == [1.0] * (
        len(plans) - 1
    )
    assert not auto.state.emptyings and zone.addresses(NAME)
    sizes = {len(p.addresses) for p in plans}
    assert sizes <= {2, 3} and 3 in sizes


_ADAPTER: TypeAdapter[Any] = TypeAdapter(FaultSpec)


@pytest.mark.looptime
async def test_race_fault_end_to_end_empties_then_repairs_the_record() -> None:
    world = FakeWorld()
    zone = world.zone
    auto = automation(zone)
    world.automation = auto
    timeline = [
        _ADAPTER.validate_python(
            {
                "fault": "dns.automation_race",
                "target": "us-east-1",
                "at": 10,
                "duration": 80,
                "stall": 20,
                "manual_fix_at": 70,
            }
        )
    ]
    injector = FaultInjector(
        world,
        timeline,
        clock=Clock.for_running_loop(),
        bus=EventBus(),
        duration=100,
        rng=random.Random(4),
    )
    t0 = asyncio.get_running_loop().time()
    async with auto.running():
        try:
            await injector.run()
        finally:
            await injector.revert_all("aborted")
    emptied = [t - t0 for t, change, name in zone.changes if change == "empty" and name == NAME]
    assert len(emptied) == 1 and 10 < emptied[0] < 70
    fixed = [t - t0 for t, change, _ in zone.changes if change == "set" and t - t0 >= 70]
    assert fixed[0] == pytest.approx(70)
    assert zone.addresses(NAME) and not auto.inconsistent
    (revert,) = [e for e in injector.journal.entries if e.action == "revert"]
    details = revert.details
    assert details["repaired"] is True and details["fixed_at"] == pytest.approx(70)
    (emptying,) = details["automation"]["emptyings"]
    assert emptying["applied_by"] == details["enactor"]
    assert emptying["at"] == pytest.approx(emptied[0])
