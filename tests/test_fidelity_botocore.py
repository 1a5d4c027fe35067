"""Differential tests: real botocore 1.44.8 (installed) against a real world on loopback, and the
harness's copy of it (`aws-standard-2026`) against the same world under the same fault.

Per case: attempts per call (identical where the fault is deterministic, including the call at
which the retry quota runs dry), and the wait distribution (each wait ÷ its ceiling, which full
jitter makes uniform on [0, 1) in both; two-sample KS at alpha = 0.001). botocore's 1 s
throttling scale is shrunk to 10 ms in botocore and in the copy alike, so the test takes seconds.
Figures: docs/fidelity.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fidelity_support import (
    DelayLog,
    botocore_attempts,
    botocore_client,
    harness_attempts,
    in_thread,
    normalized,
    quota_schedule,
    record_botocore_delays,
    record_figures,
    resolve_through,
    same_distribution,
    scenario,
    summary,
)

from harness.client import catalog
from harness.events import EventBus
from harness.scenario.strategy_spec import RetryBlock, TimeoutBlock
from harness.world.control import EndpointOverride
from harness.world.world import World

THROTTLING_SCALE = 0.01  # botocore's 1 s, shrunk identically in both
READ_TIMEOUT = 2.0  # long enough that a loaded machine never turns an answer into a timeout
BLACKHOLE_TIMEOUT = 0.2  # the blackhole case: every attempt times out, so keep each short


def copy_2026(read_timeout: float) -> Any:
    spec = catalog.get("aws-standard-2026")
    blocks = []
    for block in spec.blocks:
        if isinstance(block, RetryBlock):
            block = block.model_copy(update={"throttled_base": THROTTLING_SCALE})
        if isinstance(block, TimeoutBlock):
            block = block.model_copy(update={"attempt": read_timeout})
        blocks.append(block)
    return spec.model_copy(update={"blocks": tuple(blocks)})


def ceiling_2026(n: int, throttled: bool) -> float:
    return min((THROTTLING_SCALE if throttled else 0.025) * 2 ** (n - 1), 20.0)


@pytest.fixture
def small_throttling_scale(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from botocore.retries import standard

    config = dict(standard.ExponentialBackoff._DEFAULT_BACKOFF_CONFIG)
    config["throttling_base_scale"] = THROTTLING_SCALE
    monkeypatch.setattr(standard.ExponentialBackoff, "_DEFAULT_BACKOFF_CONFIG", config)
    yield


async def _both(
    override: EndpointOverride | None, calls: int, *, nxdomain: bool = False
) -> tuple[list[int], DelayLog, list[int], list[tuple[int, bool, float]]]:
    blackhole = override is not None and override.mode == "blackhole"
    read_timeout = BLACKHOLE_TIMEOUT if blackhole else READ_TIMEOUT
    config = {"retries": {"mode": "standard"}, "connect_timeout": 1, "read_timeout": read_timeout}
    async with World(scenario(), bus=EventBus()) as world:
        name = world.dns_name("us-east-1")
        if override is not None:
            world.region("us-east-1").add_override(override)
        if nxdomain:
            world.zone.delete(name)
        with resolve_through(world), record_botocore_delays() as log:
            client = botocore_client(world, config)
            try:
                theirs = await in_thread(lambda: botocore_attempts(client, calls))
            finally:
                client.close()
        ours = await harness_attempts(world, copy_2026(read_timeout), calls)
    case = "none" if override is None else f"{override.mode} {override.status} x{override.rate}"
    # a connection-level failure carries no RetryAttempts: count botocore's waits instead
    their_attempts = theirs if min(theirs) > 0 else [(len(log.entries) + calls) / calls] * calls
    record_figures(
        f"1.44.8 standard / aws-standard-2026: {'nxdomain' if nxdomain else case}",
        botocore=summary(their_attempts, [d for _, _, d in log.entries]),
        harness=summary(ours.attempts, [d for _, _, d in ours.delays]),
        botocore_attempts=theirs,
        harness_attempts=ours.attempts,
    )
    return theirs, log, ours.attempts, ours.delays


def _botocore_schedule(log: DelayLog) -> list[int]:
    """Attempts of each call that was retried, from botocore's delays (attempt numbers 1, 2, …)."""
    calls: list[int] = []
    for n, _, _ in log.entries:
        if n == 1:
            calls.append(1)
        calls[-1] += 1
    return calls


@pytest.mark.usefixtures("small_throttling_scale")
@pytest.mark.parametrize(
    ("status", "cost"), [(500, 14), ("throttling", 5)], ids=["500", "throttling"]
)
async def test_every_attempt_fails_same_attempts_same_quota_exhaustion(
    status: int | str, cost: int
) -> None:
    calls = 500 // (3 * cost) + 3
    theirs, log, ours, our_delays = await _both(EndpointOverride("errors", status=status), calls)
    expected = quota_schedule(calls, 4, cost)
    assert theirs == expected  # botocore 1.44.8 itself: 4 attempts until the quota runs dry
    assert ours == expected
    theirs_u = normalized(log.entries, ceiling_2026)
    ours_u = normalized(our_delays, ceiling_2026)
    assert all(0 <= u < 1 for u in theirs_u + ours_u)
    assert same_distribution(theirs_u, ours_u)
    assert {t for _, t, _ in log.entries} == {t for _, t, _ in our_delays} == {status != 500}


@pytest.mark.usefixtures("small_throttling_scale")
@pytest.mark.parametrize("status", [500, "throttling"])
async def test_half_the_attempts_fail_same_attempt_distribution(status: int | str) -> None:
    calls = 60
    theirs, log, ours, our_delays = await _both(
        EndpointOverride("errors", status=status, rate=0.5), calls
    )
    # geometric, truncated at 4: P(1..4) = .5, .25, .125, .125, mean 1.875, sd ~1.05
    for attempts in (theirs, ours):
        assert set(attempts) <= {1, 2, 3, 4}
        assert abs(sum(attempts) / calls - 1.875) < 0.5  # ~3.7 standard errors
    assert abs(sum(theirs) - sum(ours)) / calls < 0.7
    theirs_u = normalized(log.entries, ceiling_2026)
    ours_u = normalized(our_delays, ceiling_2026)
    assert same_distribution(theirs_u, ours_u)


async def _connection_errors_charged_14(
    override: EndpointOverride | None, *, nxdomain: bool = False
) -> None:
    """Every call fails to connect: 4 attempts while the quota pays 14 a retry, in both."""
    calls = 14
    theirs, log, ours, _ = await _both(override, calls, nxdomain=nxdomain)
    # botocore raises EndpointConnectionError without RetryAttempts: count from its delay log
    assert theirs == [-1] * calls
    expected = quota_schedule(calls, 4, 14)
    assert _botocore_schedule(log) == [a for a in expected if a > 1]
    assert ours == expected


async def test_endpoint_down_connection_errors_retried_and_charged_14() -> None:
    await _connection_errors_charged_14(EndpointOverride("down"))


async def test_blackhole_read_timeouts_four_attempts() -> None:
    theirs, log, ours, _ = await _both(EndpointOverride("blackhole"), 2)
    assert theirs == [-1, -1]  # ReadTimeoutError, after botocore's own retries
    assert [n for n, _, _ in log.entries] == [1, 2, 3, 1, 2, 3]  # 4 attempts per call
    assert ours == [4, 4]


async def test_nxdomain_is_an_endpoint_connection_error_retried_four_times() -> None:
    await _connection_errors_charged_14(None, nxdomain=True)
