"""Retry block: exact backoff delays per kind, stops (attempts, elapsed, deadline, gates)."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest
from policy_fakes import FakeTransport, Recorder, make_pipeline, make_request
from tenacity import AsyncRetrying

from harness.client.policies import retry as retry_module
from harness.events import AttemptFinished, EventBus, RetryScheduled, RetrySuppressed
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import QuotaBlock, RetryBlock

pytestmark = pytest.mark.looptime

SEED = 11


def _expected_delays(kind: str, n: int, *, base: float, mult: float, cap: float) -> list[float]:
    rng = random.Random(SEED)
    delays: list[float] = []
    previous = base
    for k in range(1, n + 1):
        ceiling = min(cap, base * mult ** (k - 1))
        if kind == "fixed":
            delays.append(base)
        elif kind == "exponential":
            delays.append(ceiling)
        elif kind == "full_jitter":
            delays.append(rng.uniform(0, ceiling))
        elif kind == "equal_jitter":
            delays.append(ceiling / 2 + rng.uniform(0, ceiling / 2))
        else:
            previous = min(cap, rng.uniform(base, previous * 3))
            delays.append(previous)
    return delays


@pytest.mark.parametrize(
    "kind", ["fixed", "exponential", "full_jitter", "equal_jitter", "decorrelated"]
)
async def test_backoff_delays_are_exact_and_seeded(kind: str) -> None:
    transport = FakeTransport(default=Outcome.SERVER_ERROR)
    bus = EventBus()
    recorder = Recorder(bus)
    options = RetryBlock(max_attempts=7, backoff=kind, base=0.1, multiplier=2.0, cap=1.0)  # type: ignore[arg-type]
    pipeline = make_pipeline([options], transport, bus=bus, seed=SEED, deadline=100.0)
    outcome = await pipeline.execute(make_request(deadline=100.0))

    expected = _expected_delays(kind, 6, base=0.1, mult=2.0, cap=1.0)
    scheduled = recorder.of(RetryScheduled)
    assert [event.delay for event in scheduled] == pytest.approx(expected, abs=1e-12)
    assert [event.attempt for event in scheduled] == [2, 3, 4, 5, 6, 7]
    send_times = [call.at for call in transport.calls]
    # looptime rounds each sleep to its 1 µs resolution
    assert send_times == pytest.approx([0.0, *itertools.accumulate(expected)], abs=1e-5)
    assert outcome.attempts == 7 and outcome.result.outcome is Outcome.SERVER_ERROR
    assert recorder.of(RetrySuppressed) == [
        RetrySuppressed("test", "max_attempts", Outcome.SERVER_ERROR)
    ]


async def test_exponential_doubles_and_caps() -> None:
    assert _expected_delays("exponential", 6, base=0.05, mult=2.0, cap=0.5) == pytest.approx(
        [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    )
    transport = FakeTransport(default=Outcome.CONNECT_ERROR)
    options = RetryBlock(max_attempts=7, backoff="exponential", base=0.05, cap=0.5)
    pipeline = make_pipeline([options], transport, deadline=100.0)
    await pipeline.execute(make_request(deadline=100.0))
    gaps = [b.at - a.at for a, b in itertools.pairwise(transport.calls)]
    assert gaps == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.5, 0.5], abs=1e-6)


async def test_only_outcomes_in_retry_on_are_retried() -> None:
    transport = FakeTransport(script={"r1": [Outcome.TIMEOUT, Outcome.CLIENT_ERROR]})
    options = RetryBlock(max_attempts=5, backoff="fixed", base=0.1, retry_on=(Outcome.TIMEOUT,))
    outcome = await make_pipeline([options], transport).execute(make_request())
    assert outcome.result.outcome is Outcome.CLIENT_ERROR
    assert outcome.attempts == 2


async def test_success_path_builds_no_tenacity_object(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real = AsyncRetrying

    def counting(*args: object, **kwargs: object) -> object:
        built.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(retry_module, "AsyncRetrying", counting)
    transport = FakeTransport(script={"r1": [Outcome.OK, Outcome.SERVER_ERROR, Outcome.OK]})
    pipeline = make_pipeline([RetryBlock(backoff="fixed", base=0.01)], transport)
    await pipeline.execute(make_request())
    assert built == []
    outcome = await pipeline.execute(make_request())
    assert len(built) == 1 and outcome.attempts == 2 and outcome.result.outcome is Outcome.OK


async def test_max_elapsed_stops_on_loop_time() -> None:
    transport = FakeTransport(default=Outcome.SERVER_ERROR)
    bus = EventBus()
    recorder = Recorder(bus)
    options = RetryBlock(max_attempts=50, backoff="fixed", base=1.0, max_elapsed=2.5)
    outcome = await make_pipeline([options], transport, bus=bus).execute(
        make_request(deadline=60.0)
    )
    assert [call.at for call in transport.calls] == pytest.approx([0.0, 1.0, 2.0, 3.0])
    assert outcome.attempts == 4
    assert recorder.of(RetrySuppressed)[-1].gate == "max_elapsed"


async def test_never_sleeps_past_the_deadline() -> None:
    transport = FakeTransport(default=(Outcome.SERVER_ERROR, 0.1))
    bus = EventBus()
    recorder = Recorder(bus)
    options = RetryBlock(max_attempts=50, backoff="fixed", base=1.0)
    outcome = await make_pipeline([options], transport, bus=bus).execute(make_request(deadline=2.5))
    # attempts at 0, 1.1; after the one ending at 1.2 a 1 s sleep would end at 2.2 < 2.5 → 2.2;
    # after it ends at 2.3, sleeping to 3.3 would cross the deadline: stop at once.
    assert [call.at for call in transport.calls] == pytest.approx([0.0, 1.1, 2.2])
    assert asyncio.get_running_loop().time() == pytest.approx(2.3)
    assert outcome.result.outcome is Outcome.SERVER_ERROR
    assert recorder.of(RetrySuppressed) == [
        RetrySuppressed("test", "deadline", Outcome.SERVER_ERROR)
    ]


async def test_retries_are_flagged_and_counted() -> None:
    transport = FakeTransport(script={"r1": [Outcome.THROTTLED, Outcome.DNS_SERVFAIL]})
    bus = EventBus()
    recorder = Recorder(bus)
    options = RetryBlock(max_attempts=3, backoff="fixed", base=0.01)
    outcome = await make_pipeline([options], transport, bus=bus).execute(make_request())
    flags = [(event.outcome, event.is_retry) for event in recorder.of(AttemptFinished)]
    assert flags == [
        (Outcome.THROTTLED, False),
        (Outcome.DNS_SERVFAIL, True),
        (Outcome.OK, True),
    ]
    assert outcome.regions_tried == ("r1", "r1", "r1")
    assert [event.reason for event in recorder.of(RetryScheduled)] == [
        Outcome.THROTTLED,
        Outcome.DNS_SERVFAIL,
    ]


async def test_gate_refusal_returns_the_last_real_failure() -> None:
    transport = FakeTransport(default=Outcome.SERVER_ERROR)
    bus = EventBus()
    recorder = Recorder(bus)
    blocks = [RetryBlock(max_attempts=5, backoff="fixed", base=0.01), QuotaBlock(initial=7)]
    outcome = await make_pipeline(blocks, transport, bus=bus).execute(make_request())
    assert outcome.attempts == 2  # one retry paid 5 of 7; the next cannot be paid
    assert outcome.result.outcome is Outcome.SERVER_ERROR
    assert recorder.of(RetrySuppressed) == [RetrySuppressed("test", "quota", Outcome.SERVER_ERROR)]


async def test_cancellation_propagates_out_of_the_backoff_sleep() -> None:
    transport = FakeTransport(default=Outcome.SERVER_ERROR)
    options = RetryBlock(max_attempts=5, backoff="fixed", base=10.0)
    pipeline = make_pipeline([options], transport, deadline=100.0)
    task = asyncio.create_task(pipeline.execute(make_request(deadline=100.0)))
    await asyncio.sleep(5.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(transport.calls) == 1


async def test_throttled_base_applies_after_throttling_only() -> None:
    """botocore 1.44: rand * min(scale * 2**(n-1), 20), scale 1 s after throttling, else 25 ms."""
    import random

    from tenacity import RetryCallState

    from harness.client.api import AttemptResult
    from harness.client.policies.backoff import make_wait

    options = RetryBlock(max_attempts=4, backoff="full_jitter", base=0.025, throttled_base=1.0)
    wait = make_wait(options, random.Random(7))
    reference = random.Random(7)

    def state(outcome: Outcome, attempt: int) -> RetryCallState:
        call = RetryCallState(None, None, (), {})
        call.attempt_number = attempt
        call.set_result(AttemptResult(outcome, "r1"))
        return call

    assert wait(state(Outcome.SERVER_ERROR, 1)) == reference.uniform(0, 0.025)
    assert wait(state(Outcome.THROTTLED, 2)) == reference.uniform(0, 2.0)
    assert wait(state(Outcome.TIMEOUT, 3)) == reference.uniform(0, 0.1)
