"""DnsResolver inside a real aiohttp ClientSession: names resolve through our DNS server, and a DNS
failure surfaces as aiohttp.ClientConnectorDNSError wrapping our DnsLookupError."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from harness.client.resolver import DnsLookupError, DnsResolver
from harness.clock import Clock
from harness.events import DnsLookup, EventBus
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import DnsSettings
from harness.world.control import DnsOverride
from harness.world.dns import DnsServer, Zone

pytestmark = pytest.mark.looptime

NAME = "dynamodb.us-east-1.example.test"


@pytest.fixture
async def web_port() -> AsyncIterator[int]:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@pytest.fixture
async def dns_server() -> AsyncIterator[DnsServer]:
    zone = Zone("example.test", ttl=5, negative_ttl=5)
    zone.set_addresses(NAME, ("127.0.0.1",))
    async with DnsServer(zone, rng=random.Random(0)) as running:
        yield running


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ("nxdomain", Outcome.DNS_NXDOMAIN),
        ("nodata", Outcome.DNS_NODATA),
        ("servfail", Outcome.DNS_SERVFAIL),
        ("drop", Outcome.DNS_TIMEOUT),
    ],
)
async def test_dns_failure_surfaces_as_client_connector_dns_error(
    dns_server: DnsServer, web_port: int, fault: str, outcome: Outcome
) -> None:
    bus = EventBus()
    lookups: list[DnsLookup] = []
    bus.subscribe(DnsLookup, lookups.append)
    resolver = DnsResolver(
        dns_server.address,
        DnsSettings(cache="none", query_timeout=0.5, query_attempts=1),
        clock=Clock.for_running_loop(),
        bus=bus,
        strategy="plain",
    )
    # force_close: a kept-alive connection would hide the DNS fault (no new lookup needed)
    connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, force_close=True)
    url = f"http://{NAME}:{web_port}/"
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(url) as response:
                assert response.status == 200 and await response.text() == "hello"
            dns_server.zone.add_override(NAME, DnsOverride(fault))  # type: ignore[arg-type]
            with pytest.raises(aiohttp.ClientConnectorDNSError) as caught:
                await session.get(url)
    finally:
        await resolver.close()
    error = caught.value.os_error
    assert isinstance(error, DnsLookupError)
    assert error.outcome is outcome
    assert [(e.result, e.source) for e in lookups] == [("ok", "wire"), (outcome.value, "wire")]
