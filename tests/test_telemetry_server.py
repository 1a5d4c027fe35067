"""The /metrics server: real HTTP on loopback, port 0, refusals, a clear error for a busy port."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from telemetry_stream import HOME, request

from harness.errors import AddressError
from harness.events import EventBus
from harness.outcomes import Outcome
from harness.telemetry.metrics import Telemetry
from harness.telemetry.server import MetricsServer, serving


async def test_serves_metrics_over_http_on_port_zero() -> None:
    registry, bus = CollectorRegistry(), EventBus()
    Telemetry(registry, bus)
    bus.emit(request("alpha", Outcome.OK, HOME, 0.01))
    async with serving(registry, port=0) as server:
        host, port = server.address or ("", 0)
        assert host == "127.0.0.1" and port > 0
        async with aiohttp.ClientSession() as session, session.get(server.url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            body = await response.text()
    assert 'harness_requests_total{outcome="ok",region="us-east-1",strategy="alpha"} 1.0' in body
    assert server.address is None  # stopped on the way out


async def test_ipv6_loopback_and_url() -> None:
    server = MetricsServer(CollectorRegistry())
    try:
        host, port = await server.start("::1", 0)
    except AddressError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert host == "::1"
        assert server.url == f"http://[::1]:{port}/metrics"
        assert server.target == f"[::1]:{port}"
    finally:
        await server.stop()
    await server.stop()  # idempotent


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com"])
async def test_refuses_non_loopback_hosts(host: str) -> None:
    server = MetricsServer(CollectorRegistry())
    with pytest.raises(AddressError, match="not a loopback address"):
        await server.start(host, 0)
    assert server.address is None


async def test_port_in_use_is_a_one_line_address_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = MetricsServer(CollectorRegistry())
        with pytest.raises(AddressError) as caught:
            await server.start("127.0.0.1", port)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "already in use" in message
    assert "\n" not in message
    assert server.address is None


async def test_cannot_start_twice() -> None:
    async with serving(CollectorRegistry(), port=0) as server:
        with pytest.raises(RuntimeError, match="already running"):
            await server.start("127.0.0.1", 0)
