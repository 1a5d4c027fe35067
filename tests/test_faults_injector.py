"""FaultInjector on a fake world under the virtual clock: schedule, journal, how runs end."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
from typing import Any

import pytest
from faults_fakes import FakeWorld
from pydantic import TypeAdapter

from harness.clock import Clock
from harness.events import EventBus, FaultApplied, FaultReverted
from harness.faults import FAULTS, FaultInjector
from harness.faults.base import FaultUnit
from harness.faults.world_api import FaultWorld
from harness.scenario.fault_spec import DnsNodata, FaultSpec
from harness.world.control import DnsOverride

_ADAPTER: TypeAdapter[Any] = TypeAdapter(FaultSpec)
EAST = "dynamodb.us-east-1.aws.test"
WALL = 1_760_943_000.0  # 2025-10-20T06:50:00Z


def spec(**fields: Any) -> Any:
    if not fields["fault"].startswith("replication."):
        fields.setdefault("target", "us-east-1")
    return _ADAPTER.validate_python(fields)


def make(world: FakeWorld, timeline: list[Any], duration: float = 60.0) -> tuple[Any, list[Any]]:
    bus = EventBus()
    events: list[Any] = []
    bus.subscribe(FaultApplied, events.append)
    bus.subscribe(FaultReverted, events.append)
    injector = FaultInjector(
        world,
        timeline,
        clock=Clock.for_running_loop(),
        bus=bus,
        duration=duration,
        wall=lambda: WALL,
        rng=random.Random(3),
    )
    return injector, events


async def run_like_runner(injector: FaultInjector, reason: Any = "aborted") -> None:
    try:
        await injector.run()
    finally:
        await injector.revert_all(reason)


async def at(t0: float, moment: float) -> None:
    await asyncio.sleep(t0 + moment - asyncio.get_running_loop().time())


def changes(world: FakeWorld, t0: float) -> list[tuple[float, str]]:
    return [(round(t - t0, 6), change) for t, change, _ in world.zone.changes]


@pytest.mark.looptime
async def test_apply_and_revert_happen_on_schedule() -> None:
    world = FakeWorld()
    timeline = [
        spec(fault="dns.nodata", at=10, duration=20),
        spec(
            fault="endpoint.latency",
            at=5,
            duration=10,
            delay="300ms",
            target={"region": "us-east-1", "az": "us-east-1-az2"},
        ),
    ]
    injector, events = make(world, timeline)
    t0 = asyncio.get_running_loop().time()
    task = asyncio.create_task(run_like_runner(injector))
    await at(t0, 7)
    (override,) = world.regions["us-east-1"].overrides.values()
    assert (override.mode, override.endpoints, override.delay) == ("latency", (1,), 0.3)
    assert world.zone.active(EAST) == []
    await at(t0, 12)
    assert [o.mode for o in world.zone.active(EAST)] == ["nodata"]
    assert injector.active() == [
        ("endpoint.latency", "us-east-1/us-east-1-az2"),
        ("dns.nodata", "us-east-1"),
    ]
    await at(t0, 16)
    assert world.regions["us-east-1"].overrides == {}
    await task
    assert changes(world, t0) == [
        (10.0, "override_added:nodata"),
        (30.0, "override_removed:nodata"),
    ]
    timing = [
        (e.action, e.fault, e.scheduled, round(e.actual, 6)) for e in injector.journal.entries
    ]
    assert timing == [
        ("apply", "endpoint.latency", 5.0, 5.0),
        ("apply", "dns.nodata", 10.0, 10.0),
        ("revert", "endpoint.latency", 15.0, 15.0),
        ("revert", "dns.nodata", 30.0, 30.0),
    ]
    assert [type(e).__name__ for e in events] == ["FaultApplied"] * 2 + ["FaultReverted"] * 2
    assert events[1].scheduled == pytest.approx(t0 + 10) and events[1].wall == WALL
    assert injector.active() == []


@pytest.mark.looptime
async def test_schedule_lag_is_within_two_ms() -> None:
    """200 faults at seeded times: actual - scheduled on the loop clock (reported p50/p99)."""
    rng = random.Random(11)
    timeline = [
        spec(
            fault="dns.servfail",
            at=round(rng.uniform(0, 50), 4),
            duration=round(rng.uniform(0.001, 5), 4),
        )
        for _ in range(200)
    ]
    world = FakeWorld()
    injector, _ = make(world, timeline)
    await run_like_runner(injector)
    lags = injector.journal.lags_ms()
    assert len(lags) == 400
    p50 = statistics.median(lags)
    p99 = statistics.quantiles(lags, n=100)[98]
    print(f"fault lag, virtual clock: p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {max(lags):.3f} ms")
    assert 0 <= p50 <= 2 and 0 <= p99 <= 2 and max(lags) <= 2
    assert world.zone.overrides == {}


@pytest.mark.looptime
async def test_journal_and_summary_content() -> None:
    world = FakeWorld(replication=False)
    timeline = [
        spec(fault="dns.slow", at=1, duration=2, delay="1s", jitter="100ms"),
        spec(fault="replication.pause", at=2),  # no replication in this world: fails to apply
        spec(fault="dns.nxdomain", at=4),  # until the end
    ]
    injector, _ = make(world, timeline, duration=10)
    await run_like_runner(injector)
    journal = injector.journal.to_json()
    json.dumps(journal)  # journal.json must serialise
    first = journal[0]
    assert first["fault"] == "dns.slow" and first["target"] == "us-east-1"
    assert first["action"] == "apply" and first["scheduled"] == 1.0 and first["lag_ms"] == 0.0
    assert first["wall"] == "2025-10-20T06:50:00.000Z" and first["reason"] is None
    failed = [e for e in journal if e["fault"] == "replication.pause"]
    assert [e["action"] for e in failed] == ["apply", "revert"]
    assert "replication is off" in failed[0]["error"] and failed[1]["reason"] == "error"
    summary = injector.journal.faults_summary()
    json.dumps(summary)
    assert [s["fault"] for s in summary] == ["dns.slow", "replication.pause", "dns.nxdomain"]
    assert summary[0] | {"apply_lag_ms": 0, "revert_lag_ms": 0} == {
        "fault": "dns.slow",
        "target": "us-east-1",
        "scheduled_start": 1.0,
        "scheduled_end": 3.0,
        "applied_at": 1.0,
        "reverted_at": 3.0,
        "apply_lag_ms": 0,
        "revert_lag_ms": 0,
        "revert_reason": "scheduled",
        "error": None,
    }
    assert summary[1]["applied_at"] is None and "replication is off" in summary[1]["error"]
    assert summary[2]["scheduled_end"] is None
    assert (summary[2]["reverted_at"], summary[2]["revert_reason"]) == (10.0, "end_of_run")


@pytest.mark.looptime
async def test_fault_without_duration_is_reverted_at_the_end_of_the_run() -> None:
    world = FakeWorld()
    injector, events = make(world, [spec(fault="dns.nodata", at=3)], duration=20)
    t0 = asyncio.get_running_loop().time()
    await run_like_runner(injector)
    assert changes(world, t0) == [(3.0, "override_added:nodata"), (20.0, "override_removed:nodata")]
    reverted = events[-1]
    assert isinstance(reverted, FaultReverted) and reverted.reason == "end_of_run"
    assert reverted.scheduled == pytest.approx(t0 + 20)


@pytest.mark.looptime
async def test_exception_in_the_middle_of_a_run_reverts_everything() -> None:
    world = FakeWorld()
    timeline = [
        spec(fault="dns.nodata", at=5, duration=100),
        spec(fault="endpoint.down", at=6),
        spec(fault="replication.pause", at=7, source="us-east-1"),
        spec(fault="dns.servfail", at=50),  # never reached
    ]
    injector, events = make(world, timeline, duration=200)

    async def workload() -> None:
        await asyncio.sleep(15)
        raise RuntimeError("the load generator broke")

    t0 = asyncio.get_running_loop().time()
    with pytest.raises(ExceptionGroup):
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(injector.run())
                group.create_task(workload())
        finally:
            await injector.revert_all("error")
    assert world.zone.overrides == {} and world.regions["us-east-1"].overrides == {}
    assert world.replication is not None and world.replication.pauses == {}
    reverts = [e for e in injector.journal.entries if e.action == "revert"]
    assert [(e.fault, e.reason, round(e.actual, 6)) for e in reverts] == [
        ("replication.pause", "error", 15.0),
        ("endpoint.down", "error", 15.0),
        ("dns.nodata", "error", 15.0),
    ]
    assert changes(world, t0)[-1] == (15.0, "override_removed:nodata")
    assert injector.active() == [] and len(events) == 6


@pytest.mark.looptime
async def test_cancellation_what_sigint_becomes_reverts_everything() -> None:
    world = FakeWorld()
    timeline = [spec(fault="dns.nodata", at=1), spec(fault="endpoint.errors", at=2, status=503)]
    injector, _ = make(world, timeline, duration=100)
    task = asyncio.create_task(run_like_runner(injector, "interrupted"))
    await asyncio.sleep(10)
    assert len(injector.active()) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert world.zone.overrides == {} and world.regions["us-east-1"].overrides == {}
    assert {e.reason for e in injector.journal.entries if e.action == "revert"} == {"interrupted"}


class _HangsHalfway(FaultUnit[DnsNodata]):
    """Installs its override, then never finishes applying."""

    spec_type = DnsNodata
    client_sees = "test unit"
    handle: int | None = None

    async def apply(self, world: FaultWorld) -> None:
        self.handle = world.zone.add_override(world.dns_name("us-east-1"), _NODATA)
        await asyncio.Event().wait()

    async def revert(self, world: FaultWorld) -> None:
        if self.handle is not None:
            world.zone.remove_override(self.handle)
            self.handle = None


_NODATA = DnsOverride("nodata")


@pytest.mark.looptime
async def test_cancelled_mid_apply_is_reverted_and_double_revert_is_safe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(FAULTS, "dns.nodata", _HangsHalfway)
    world = FakeWorld()
    injector, events = make(world, [spec(fault="dns.nodata", at=1)], duration=100)
    task = asyncio.create_task(injector.run())
    await asyncio.sleep(5)
    assert len(world.zone.overrides) == 1 and injector.active() == [("dns.nodata", "us-east-1")]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await injector.revert_all("interrupted")
    await injector.revert_all("interrupted")
    assert world.zone.overrides == {} and injector.active() == []
    entries = [(e.action, e.error, e.reason) for e in injector.journal.entries]
    assert entries == [
        ("apply", "cancelled while applying", None),
        ("revert", None, "interrupted"),
    ]
    assert events == []  # never fully applied: telemetry saw nothing to count down


@pytest.mark.looptime
async def test_revert_all_twice_reverts_once() -> None:
    world = FakeWorld()
    injector, events = make(world, [spec(fault="endpoint.reset", at=0)], duration=30)
    task = asyncio.create_task(injector.run())
    await asyncio.sleep(1)
    await injector.revert_all("aborted")
    await injector.revert_all("aborted")
    await task  # returns: after revert_all nothing more is applied
    assert world.regions["us-east-1"].overrides == {}
    assert [e.action for e in injector.journal.entries] == ["apply", "revert"]
    assert len(events) == 2


@pytest.mark.looptime
async def test_overlapping_faults_on_one_name_compose_and_revert_independently() -> None:
    world = FakeWorld()
    timeline = [
        spec(fault="dns.nodata", at=10, duration=20),  # 10..30
        spec(fault="dns.servfail", at=20, duration=20),  # 20..40
    ]
    injector, _ = make(world, timeline)
    rng = random.Random(1)
    t0 = asyncio.get_running_loop().time()
    task = asyncio.create_task(run_like_runner(injector))
    seen = {}
    for moment in (5, 15, 25, 35, 45):
        await at(t0, moment)
        seen[moment] = world.zone.answer(EAST, rng)[0]
    await task
    assert seen == {5: "ok", 15: "nodata", 25: "servfail", 35: "servfail", 45: "ok"}


@pytest.mark.looptime
async def test_rate_zero_fault_has_no_effect() -> None:
    world = FakeWorld()
    timeline = [
        spec(fault="dns.nxdomain", at=1, rate=0),
        spec(fault="endpoint.errors", at=1, rate=0),
        spec(fault="replication.pause", at=1, rate=0),
    ]
    injector, _ = make(world, timeline)
    rng = random.Random(2)
    task = asyncio.create_task(run_like_runner(injector))
    await asyncio.sleep(2)
    assert {world.zone.answer(EAST, rng)[0] for _ in range(1000)} == {"ok"}
    (override,) = world.regions["us-east-1"].overrides.values()
    assert override.rate == 0.0
    assert world.replication is not None and world.replication.pauses == {}
    await task


@pytest.mark.looptime
async def test_flap_alternates_at_the_right_loop_times() -> None:
    world = FakeWorld()
    timeline = [spec(fault="dns.flap", at=5, duration=32, period=10, mode="timeout")]
    injector, _ = make(world, timeline)
    t0 = asyncio.get_running_loop().time()
    await run_like_runner(injector)
    assert changes(world, t0) == [
        (5.0, "override_added:drop"),
        (10.0, "override_removed:drop"),
        (15.0, "override_added:drop"),
        (20.0, "override_removed:drop"),
        (25.0, "override_added:drop"),
        (30.0, "override_removed:drop"),
        (35.0, "override_added:drop"),
        (37.0, "override_removed:drop"),  # the revert, in the middle of an `on` half
    ]
    assert injector.journal.entries[-1].details == {"on_phases": 4}


@pytest.mark.looptime
async def test_failing_apply_is_journaled_and_the_run_continues() -> None:
    world = FakeWorld()
    timeline = [
        spec(fault="endpoint.latency", at=1, target="eu-nowhere-1"),
        spec(fault="dns.automation_race", at=2),  # no automation in this world
        spec(fault="dns.nodata", at=3, duration=1),
    ]
    injector, events = make(world, timeline, duration=10)
    t0 = asyncio.get_running_loop().time()
    await run_like_runner(injector)
    errors = [(e.fault, e.action, e.error) for e in injector.journal.entries if e.error]
    assert errors[0][:2] == ("endpoint.latency", "apply") and "eu-nowhere-1" in errors[0][2]
    assert errors[1][:2] == ("dns.automation_race", "apply") and "automation" in errors[1][2]
    assert changes(world, t0) == [(3.0, "override_added:nodata"), (4.0, "override_removed:nodata")]
    assert [type(e).__name__ for e in events] == ["FaultApplied", "FaultReverted"]


def test_unknown_fault_is_refused_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(FAULTS, "dns.servfail")
    with pytest.raises(Exception, match=r"no fault unit for dns\.servfail"):
        FaultInjector(
            FakeWorld(),
            [spec(fault="dns.servfail", at=0)],
            clock=None,  # type: ignore[arg-type]
            bus=EventBus(),
            duration=1,
        )


@pytest.mark.looptime
async def test_one_shot_drain_is_over_as_soon_as_it_happened() -> None:
    world = FakeWorld()
    timeline = [spec(fault="endpoint.drain", at=2, duration=10)]
    injector, events = make(world, timeline, duration=20)
    task = asyncio.create_task(run_like_runner(injector))
    await asyncio.sleep(3)
    assert world.regions["us-east-1"].drains == [None] and injector.active() == []
    await task
    entries = [(e.action, e.scheduled, e.reason) for e in injector.journal.entries]
    assert entries == [("apply", 2.0, None), ("revert", 2.0, "scheduled")]
    assert injector.journal.entries[0].details == {"connections_closed": 5}
    assert [type(e).__name__ for e in events] == ["FaultApplied", "FaultReverted"]


@pytest.mark.looptime
async def test_run_counts_from_the_given_origin() -> None:
    world = FakeWorld()
    injector, _ = make(world, [spec(fault="dns.nodata", at=1, duration=1)], duration=5)
    t0 = asyncio.get_running_loop().time()
    await injector.run(origin=t0 + 10)  # the runner's origin, after its settle time
    assert changes(world, t0) == [
        (11.0, "override_added:nodata"),
        (12.0, "override_removed:nodata"),
    ]
    assert [e.actual for e in injector.journal.entries] == [1.0, 2.0]
    assert asyncio.get_running_loop().time() == pytest.approx(t0 + 15)
