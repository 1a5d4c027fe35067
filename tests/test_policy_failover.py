"""Regional failover and failback: per-request moves, health, probes, events."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from policy_fakes import FakeTransport, Recorder, block_of, make_pipeline, make_request

from harness.client.policies import FailoverPolicy
from harness.events import EventBus, FailbackHappened, FailoverHappened
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import BreakerBlock, FailoverBlock

pytestmark = pytest.mark.looptime


def _now() -> float:
    return asyncio.get_running_loop().time()


def _home_down_until(until: float, outcome: Outcome = Outcome.DNS_NXDOMAIN) -> FakeTransport:
    def behaviour(region: str, now: float) -> Outcome:
        return outcome if region == "r1" and now < until else Outcome.OK

    return FakeTransport(behaviour=behaviour, latency=0.001)


async def _drive(pipeline: object, seconds: float, gap: float = 0.5) -> list[str | None]:
    served = []
    end = _now() + seconds
    while _now() < end:
        outcome = await pipeline.execute(make_request())  # type: ignore[attr-defined]
        served.append(outcome.region_served)
        await asyncio.sleep(gap)
    return served


async def test_a_regional_failure_moves_the_request_at_once() -> None:
    transport = _home_down_until(100.0)
    pipeline = make_pipeline([FailoverBlock()], transport)
    outcome = await pipeline.execute(make_request())
    assert outcome.region_served == "r2" and outcome.regions_tried == ("r1", "r2")
    assert _now() == pytest.approx(0.002)


async def test_other_failures_are_returned_not_failed_over() -> None:
    transport = _home_down_until(100.0, Outcome.SERVER_ERROR)
    pipeline = make_pipeline([FailoverBlock()], transport)
    outcome = await pipeline.execute(make_request())
    assert outcome.result.outcome is Outcome.SERVER_ERROR and outcome.regions_tried == ("r1",)


async def test_failover_then_probes_then_failback_with_one_event_each() -> None:
    transport = _home_down_until(20.0)
    bus = EventBus()
    recorder = Recorder(bus)
    options = FailoverBlock(health="errors", probe_interval=5.0, failback_after=10.0)
    pipeline = make_pipeline([options], transport, bus=bus)
    failover = block_of(pipeline, FailoverPolicy)

    await _drive(pipeline, 1.5)  # three requests, three DNS failures at home → down at t=1
    assert failover.is_down("r1") and failover.preferred == "r2"
    assert recorder.of(FailoverHappened) == [FailoverHappened("test", "r1", "r2")]
    assert [at for at, _ in recorder.timed(FailoverHappened)] == pytest.approx([1.0], abs=0.01)
    calls_before = len(transport.calls)
    await _drive(pipeline, 2.0)
    assert transport.regions_called()[calls_before:] == ["r2"] * 4  # home skipped entirely

    await _drive(pipeline, 40.0)
    probes = [c.at for c in transport.calls if c.region == "r1" and 1.5 < c.at < 31.4]
    # probes every 5 s from t=6 (requests drift by their 1-2 ms each); from t=21 they succeed;
    # 10 s of OK probes → failback at 31, after which home takes every request
    assert probes == pytest.approx([6.0, 11.0, 16.0, 21.0, 26.0, 31.0], abs=0.1)
    assert recorder.of(FailbackHappened) == [FailbackHappened("test", "r1")]
    assert [at for at, _ in recorder.timed(FailbackHappened)] == pytest.approx([31.0], abs=0.1)
    assert len(recorder.of(FailoverHappened)) == 1
    assert not failover.is_down("r1") and transport.regions_called()[-1] == "r1"


async def test_a_failed_probe_of_any_kind_moves_the_request_on() -> None:
    def behaviour(region: str, now: float) -> Outcome:
        if region != "r1":
            return Outcome.OK
        return Outcome.DNS_NXDOMAIN if now < 3.0 else Outcome.SERVER_ERROR

    transport = FakeTransport(behaviour=behaviour, latency=0.001)
    pipeline = make_pipeline([FailoverBlock(probe_interval=5.0)], transport)
    await _drive(pipeline, 1.5)  # r1 down at t=1
    await asyncio.sleep(5.0)
    outcome = await pipeline.execute(make_request())  # the probe meets a 5xx
    assert outcome.regions_tried == ("r1", "r2") and outcome.region_served == "r2"
    assert block_of(pipeline, FailoverPolicy).is_down("r1")


async def test_down_region_still_tried_when_every_region_is_down() -> None:
    transport = FakeTransport(default=Outcome.CONNECT_ERROR)
    pipeline = make_pipeline([FailoverBlock()], transport)
    for _ in range(3):
        await pipeline.execute(make_request())
    failover = block_of(pipeline, FailoverPolicy)
    assert all(failover.is_down(r) for r in ("r1", "r2", "r3"))
    outcome = await pipeline.execute(make_request())
    assert outcome.regions_tried == ("r1", "r2", "r3")
    assert outcome.result.outcome is Outcome.CONNECT_ERROR


async def test_the_deadline_stops_moving_on() -> None:
    transport = FakeTransport(default=(Outcome.DNS_TIMEOUT, 1.0))
    pipeline = make_pipeline([FailoverBlock()], transport)
    outcome = await pipeline.execute(make_request(deadline=1.5))
    # r1 times out at 1.0; r2 gets the remaining 0.5 s; no time is left for r3
    assert outcome.regions_tried == ("r1", "r2")
    assert [c.timeout for c in transport.calls] == pytest.approx([1.5, 0.5])


async def test_breaker_health_fails_over_on_an_open_circuit() -> None:
    transport = _home_down_until(100.0, Outcome.TIMEOUT)
    bus = EventBus()
    recorder = Recorder(bus)
    breaker = BreakerBlock(
        window="count", window_size=4, min_throughput=4, failure_ratio=0.5, break_duration=5.0
    )
    blocks = [FailoverBlock(health="breaker", probe_interval=5.0, failback_after=0.0), breaker]
    pipeline = make_pipeline(blocks, transport, bus=bus)
    served = await _drive(pipeline, 2.0)
    # TIMEOUT is not a failover outcome: the first four requests fail at home; the fourth
    # opens the circuit, which marks r1 down, so the next requests go straight to r2.
    assert served == [None, None, None, None]
    assert block_of(pipeline, FailoverPolicy).is_down("r1")
    calls_before = len(transport.calls)
    served = await _drive(pipeline, 1.0)
    assert served == ["r2", "r2"]
    assert transport.regions_called()[calls_before:] == ["r2", "r2"]
    assert recorder.of(FailoverHappened) == [FailoverHappened("test", "r1", "r2")]


async def test_active_active_spreads_toward_low_rtt_and_avoids_down_regions() -> None:
    transport = FakeTransport()
    pipeline = make_pipeline([FailoverBlock(mode="active-active")], transport, seed=3)
    for _ in range(600):
        await pipeline.execute(make_request())
    counts = Counter(transport.regions_called())
    # weights 1, 1/2, 1/3 → 6/11, 3/11, 2/11 of 600 ≈ 327, 164, 109
    assert counts["r1"] > counts["r2"] > counts["r3"] > 60

    transport.behaviour = lambda region, now: (
        Outcome.CONNECT_ERROR if region == "r2" else Outcome.OK
    )
    bus = pipeline._bus
    recorder = Recorder(bus)
    for _ in range(200):
        outcome = await pipeline.execute(make_request())
        assert outcome.region_served in {"r1", "r3"}
    assert block_of(pipeline, FailoverPolicy).is_down("r2")
    assert recorder.of(FailoverHappened) == [FailoverHappened("test", "r2", "r1")]


async def test_explicit_region_order() -> None:
    transport = FakeTransport()
    pipeline = make_pipeline([FailoverBlock(regions=("r3", "r1"))], transport)
    outcome = await pipeline.execute(make_request())
    assert outcome.region_served == "r3"
