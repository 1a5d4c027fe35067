"""Every outcome class the transport produces, on the wire (stand-in endpoint, static resolver)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from transport_fakes import (
    NAME,
    StandIn,
    StaticResolver,
    free_port,
    settle,
    stand_in,
    transport_to,
)

from harness.client.api import Request
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import PoolSettings


def request(op: str = "get", key: str = "k1") -> Request:
    return Request(id=1, op=op, key=key, intended_start=0.0, deadline=60.0, value="v")


@pytest.fixture
async def server() -> AsyncIterator[StandIn]:
    async with stand_in("r1") as state:
        yield state


async def test_ok_read_carries_region_and_version(server: StandIn) -> None:
    async with transport_to(server.port) as transport:
        result = await transport.send(request("get"), "r1", timeout=5)
    assert result.outcome is Outcome.OK
    assert result.status == 200
    assert result.region == "r1"
    assert result.version == server.version
    assert server.targets == ["DynamoDB_20120810.GetItem"]
    assert server.hosts == [NAME]
    assert server.bodies[0]["Key"] == {"pk": {"S": "k1"}}


@pytest.mark.parametrize(
    ("op", "target"),
    [("put", "PutItem"), ("update", "UpdateItem"), ("delete", "DeleteItem")],
)
async def test_writes_use_their_target(server: StandIn, op: str, target: str) -> None:
    async with transport_to(server.port) as transport:
        result = await transport.send(request(op), "r1", timeout=5)
    assert result.outcome is Outcome.OK
    assert result.version is None
    assert server.targets == [f"DynamoDB_20120810.{target}"]


@pytest.mark.parametrize(
    ("mode", "outcome", "status", "detail"),
    [
        ("throttle", Outcome.THROTTLED, 400, "ThrottlingException"),
        ("pte", Outcome.THROTTLED, 400, "ProvisionedThroughputExceededException"),
        ("validation", Outcome.CLIENT_ERROR, 400, "ValidationException"),
        ("500", Outcome.SERVER_ERROR, 500, "InternalServerError"),
        ("503", Outcome.SERVER_ERROR, 503, "InternalServerError"),
    ],
)
async def test_error_responses(
    server: StandIn, mode: str, outcome: Outcome, status: int, detail: str
) -> None:
    server.mode = mode
    async with transport_to(server.port) as transport:
        result = await transport.send(request(), "r1", timeout=5)
    assert (result.outcome, result.status, result.detail) == (outcome, status, detail)
    assert result.region == "r1"


async def test_refused_port_is_connect_error() -> None:
    async with transport_to(free_port()) as transport:
        result = await transport.send(request(), "r1", timeout=5)
    assert result.outcome is Outcome.CONNECT_ERROR
    assert result.status is None
    assert "Connect" in result.detail


@pytest.mark.parametrize("mode", ["reset", "truncate"])
async def test_connection_dying_mid_request_is_connect_error(server: StandIn, mode: str) -> None:
    server.mode = mode
    async with transport_to(server.port) as transport:
        result = await transport.send(request(), "r1", timeout=5)
        await settle()  # connection_lost runs on the next loop iterations
        assert transport.open_connections() == {"r1": 0}
    assert result.outcome is Outcome.CONNECT_ERROR, result.detail


@pytest.mark.looptime
async def test_timeout_on_the_loop_clock(server: StandIn) -> None:
    server.mode = "hang"
    loop = asyncio.get_running_loop()
    async with transport_to(server.port) as transport:
        start = loop.time()
        result = await transport.send(request(), "r1", timeout=2.5)
        elapsed = loop.time() - start
    assert result.outcome is Outcome.TIMEOUT
    assert elapsed == pytest.approx(2.5, abs=0.01)


@pytest.mark.parametrize(
    ("records", "outcome"),
    [({}, Outcome.DNS_NXDOMAIN), ({NAME: ()}, Outcome.DNS_NODATA)],
)
async def test_dns_failure_from_resolver(
    server: StandIn, records: dict[str, tuple[str, ...]], outcome: Outcome
) -> None:
    async with transport_to(server.port, StaticResolver(records)) as transport:
        result = await transport.send(request(), "r1", timeout=5)
    assert result.outcome is outcome
    assert server.requests == 0


async def test_unknown_region_and_op_are_client_errors(server: StandIn) -> None:
    async with transport_to(server.port) as transport:
        no_region = await transport.send(request(), "nowhere", timeout=5)
        no_op = await transport.send(request("scan"), "r1", timeout=5)
    assert no_region.outcome is Outcome.CLIENT_ERROR
    assert no_op.outcome is Outcome.CLIENT_ERROR
    assert server.requests == 0


@pytest.mark.looptime
async def test_real_cancellation_propagates(server: StandIn) -> None:
    server.mode = "hang"
    async with transport_to(server.port) as transport:
        task = asyncio.create_task(transport.send(request(), "r1", timeout=30))
        await asyncio.sleep(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full: new connects hang (SYNs dropped), like a dead host."""
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        filler.connect(("127.0.0.1", port))  # takes the only slot; nobody accepts
        yield port


@pytest.mark.looptime
@pytest.mark.parametrize(
    ("attempt_timeout", "outcome", "elapsed"),
    [(5.0, Outcome.CONNECT_ERROR, 0.5), (0.2, Outcome.TIMEOUT, 0.2)],
)
async def test_connect_hanging(
    full_backlog: int, attempt_timeout: float, outcome: Outcome, elapsed: float
) -> None:
    """pool.connect_timeout bounds the connect (a connect error); the attempt timeout, if
    shorter, wins (a timeout)."""
    loop = asyncio.get_running_loop()
    async with transport_to(full_backlog, pool=PoolSettings(connect_timeout=0.5)) as transport:
        start = loop.time()
        result = await transport.send(request(), "r1", timeout=attempt_timeout)
        assert result.outcome is outcome, result.detail
        assert loop.time() - start == pytest.approx(elapsed, abs=0.01)
