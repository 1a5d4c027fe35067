"""`tenacity-fixed` against the real decorator it copies, same world, same faults, virtual clock:
@retry(stop=stop_after_attempt(3), wait=wait_fixed(1)) around one DynamoDB GetItem over a raw
HTTP connection, raising on a 5xx or a refused connection (the decorator retries any exception).
Compared: attempts per call and every wait. Figures: docs/fidelity.md.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from fidelity_support import harness_attempts, record_figures, scenario, summary
from tenacity import RetryCallState, retry, stop_after_attempt, wait_fixed
from world_endpoint_support import RawConnection, get

from harness.client import catalog
from harness.events import EventBus
from harness.world.control import EndpointOverride
from harness.world.world import World

pytestmark = pytest.mark.looptime


class ServerError(Exception):
    pass


async def real_decorator(world: World, calls: int) -> tuple[list[int], list[float]]:
    region = world.region("us-east-1")
    address, port = region.endpoint_addresses()[0], region.port
    attempts: list[int] = []
    waits: list[float] = []

    def before_sleep(state: RetryCallState) -> None:
        waits.append(state.upcoming_sleep)

    @retry(stop=stop_after_attempt(3), wait=wait_fixed(1), before_sleep=before_sleep)
    async def get_item(key: str) -> int:
        attempts[-1] += 1
        conn = await RawConnection.open(address, port)
        try:
            reply = await conn.call("GetItem", get(key))
        finally:
            await conn.close()
        if reply.status >= 500:
            raise ServerError(reply.error_code)
        return reply.status

    for i in range(calls):
        attempts.append(0)
        # tenacity's RetryError, or a failure it re-raised: either way the call is over
        with contextlib.suppress(Exception):
            await get_item(f"k{i}")
    return attempts, waits


@pytest.mark.parametrize(
    ("override", "calls"),
    [
        (EndpointOverride("errors", status=500), 10),
        (EndpointOverride("errors", status=500, rate=0.5), 60),
        (EndpointOverride("down"), 10),
    ],
    ids=["500", "500-half", "down"],
)
async def test_tenacity_fixed_is_the_decorator(override: EndpointOverride, calls: int) -> None:
    async with World(scenario(), bus=EventBus()) as world:
        world.region("us-east-1").add_override(override)
        loop = asyncio.get_running_loop()
        started = loop.time()
        theirs, their_waits = await real_decorator(world, calls)
        their_time = loop.time() - started
        started = loop.time()
        ours = await harness_attempts(world, catalog.get("tenacity-fixed"), calls)
        our_time = loop.time() - started
    record_figures(
        f"tenacity 9.2.1 @retry / tenacity-fixed: {override.mode} x{override.rate}",
        botocore=summary(theirs, their_waits),
        harness=summary(ours.attempts, [d for _, _, d in ours.delays]),
        seconds={"real": round(their_time, 3), "harness": round(our_time, 3)},
    )
    assert their_waits == [1.0] * (sum(theirs) - calls)
    assert [d for _, _, d in ours.delays] == [1.0] * (sum(ours.attempts) - calls)
    if override.rate == 1.0:
        assert theirs == ours.attempts == [3] * calls
        assert their_time == pytest.approx(our_time, abs=0.01 * calls)
    else:  # P(1..3) = .5, .25, .25: mean 1.75, sd ~0.83
        for attempts in (theirs, ours.attempts):
            assert set(attempts) <= {1, 2, 3}
            assert abs(sum(attempts) / calls - 1.75) < 0.45
