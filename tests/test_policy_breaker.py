"""Circuit breaker per region: open, half-open and closed at exact loop times."""

from __future__ import annotations

import asyncio

import pytest
from policy_fakes import FakeTransport, Recorder, block_of, make_pipeline, make_request

from harness.client.policies import BreakerPolicy
from harness.events import BreakerStateChanged, EventBus
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import BreakerBlock

pytestmark = pytest.mark.looptime

F, K = Outcome.SERVER_ERROR, Outcome.OK
COUNT = BreakerBlock(
    window="count", window_size=4, min_throughput=4, failure_ratio=0.5, break_duration=5.0
)


async def _run(pipeline: object, n: int, *, gap: float = 0.0) -> list[Outcome]:
    outcomes = []
    for _ in range(n):
        outcome = await pipeline.execute(make_request())  # type: ignore[attr-defined]
        outcomes.append(outcome.result.outcome)
        await asyncio.sleep(gap)
    return outcomes


async def test_count_window_opens_then_half_opens_then_closes_on_time() -> None:
    transport = FakeTransport(script={"r1": [F, K, F, K, F]})
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = make_pipeline([COUNT], transport, bus=bus)
    breaker = block_of(pipeline, BreakerPolicy)

    # failures at calls 1 and 3 are judged on < 4 calls; call 5 sees (K, F, K, F): 50 % → open
    assert await _run(pipeline, 5, gap=1.0) == [F, K, F, K, F]
    assert breaker.state("r1") == "open" and not breaker.allows("r1")
    opened_at = 4.0
    assert recorder.timed(BreakerStateChanged) == [
        (opened_at, BreakerStateChanged("test", "r1", "open"))
    ]

    # while open: no attempt reaches the wire
    assert await _run(pipeline, 4, gap=1.0) == [Outcome.CIRCUIT_OPEN] * 4
    assert len(transport.calls) == 5
    assert asyncio.get_running_loop().time() == pytest.approx(opened_at + 5.0)

    # at opened_at + break_duration: half-open, one probe, it succeeds → closed
    assert breaker.allows("r1")
    assert await _run(pipeline, 1) == [K]
    states = [(at, event.state) for at, event in recorder.timed(BreakerStateChanged)]
    assert states == [(4.0, "open"), (9.0, "half_open"), (9.0, "closed")]
    assert breaker.state("r1") == "closed"


async def test_a_failed_probe_reopens_for_another_break() -> None:
    transport = FakeTransport(script={"r1": [F, F, F, F, F]})
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = make_pipeline([COUNT], transport, bus=bus)
    await _run(pipeline, 4)  # opens at t=0
    await asyncio.sleep(5.0)
    assert await _run(pipeline, 2) == [F, Outcome.CIRCUIT_OPEN]
    assert [event.state for event in recorder.of(BreakerStateChanged)] == [
        "open",
        "half_open",
        "open",
    ]
    await asyncio.sleep(4.999)
    assert not block_of(pipeline, BreakerPolicy).allows("r1")
    await asyncio.sleep(0.001)
    assert block_of(pipeline, BreakerPolicy).allows("r1")


async def test_time_window_forgets_old_failures() -> None:
    options = BreakerBlock(
        window="time", sampling_duration=10.0, min_throughput=3, failure_ratio=1.0
    )
    transport = FakeTransport(default=F)
    pipeline = make_pipeline([options], transport)
    breaker = block_of(pipeline, BreakerPolicy)
    await _run(pipeline, 2)  # t = 0
    await asyncio.sleep(10.0)  # those two fall out of the window
    await _run(pipeline, 2)
    assert breaker.state("r1") == "closed"
    await _run(pipeline, 1)
    assert breaker.state("r1") == "open"


async def test_min_throughput_and_ratio_threshold() -> None:
    options = BreakerBlock(window="count", window_size=10, min_throughput=10, failure_ratio=0.3)
    transport = FakeTransport(script={"r1": [K] * 7 + [F] * 2 + [K] + [F]})
    pipeline = make_pipeline([options], transport)
    breaker = block_of(pipeline, BreakerPolicy)
    await _run(pipeline, 10)  # 2 / 10 failures: 20 % < 30 %
    assert breaker.state("r1") == "closed"
    await _run(pipeline, 1)  # window (K*6, F, F, K, F): 30 %
    assert breaker.state("r1") == "open"


async def test_half_open_lets_only_the_probes_through() -> None:
    options = BreakerBlock(
        window="count",
        window_size=2,
        min_throughput=2,
        failure_ratio=1.0,
        break_duration=1.0,
        half_open_probes=2,
    )
    transport = FakeTransport(script={"r1": [F, F]}, latency=0.5)
    pipeline = make_pipeline([options], transport)
    await _run(pipeline, 2)
    await asyncio.sleep(1.0)
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(pipeline.execute(make_request())) for _ in range(3)]
    results = [task.result().result.outcome for task in tasks]
    assert results == [K, K, Outcome.CIRCUIT_OPEN]
    assert block_of(pipeline, BreakerPolicy).state("r1") == "closed"


async def test_regions_have_separate_circuits_and_blocked_calls_are_ignored() -> None:
    transport = FakeTransport(script={"r1": [F, F]})
    options = BreakerBlock(window="count", window_size=2, min_throughput=2, failure_ratio=1.0)
    pipeline = make_pipeline([options], transport)
    breaker = block_of(pipeline, BreakerPolicy)
    await _run(pipeline, 2)
    assert breaker.state("r1") == "open" and breaker.state("r2") == "closed"
    assert breaker.allows("r2")
