"""Test doubles for the transport tests: a stand-in DynamoDB endpoint, a static resolver, and the
rigs every transport test builds: an HttpTransport for one region (r1 at NAME) and the real DNS
server with a resolver asking it.

The stand-in speaks the same protocol as harness.world.region (POST /, X-Amz-Target, awsJson1_0
errors, x-harness-region / x-harness-version headers) with a switchable behaviour, and counts the
TCP connections it accepted, so pooling can be checked from the server's side too.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from harness.client.api import Transport
from harness.client.resolver import DnsResolver
from harness.client.transport import HttpTransport
from harness.clock import Clock
from harness.events import EventBus
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import DnsSettings, PoolSettings
from harness.world.dns import DnsServer, Zone

ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
NAME = "dynamodb.r1.aws.test"  # region r1's endpoint name in every transport test


class FakeDnsError(OSError):
    """Stands in for harness.client.resolver.DnsLookupError: an OSError carrying `.outcome`."""

    def __init__(self, outcome: Outcome, name: str) -> None:
        super().__init__(f"{outcome.value} for {name}")
        self.outcome = outcome


class StaticResolver(AbstractResolver):
    """name -> addresses; a missing name is NXDOMAIN, an empty tuple NODATA. Counts lookups."""

    def __init__(self, records: dict[str, tuple[str, ...]]) -> None:
        self.records = records
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups += 1
        addresses = self.records.get(host)
        if addresses is None:
            raise FakeDnsError(Outcome.DNS_NXDOMAIN, host)
        if not addresses:
            raise FakeDnsError(Outcome.DNS_NODATA, host)
        return [
            ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET, proto=0, flags=0)
            for a in addresses
        ]

    async def close(self) -> None:
        return None


@dataclass
class StandIn:
    """Behaviour switch and observations of the stand-in endpoint."""

    region: str
    mode: str = "ok"  # ok | throttle | pte | validation | 500 | 503 | reset | hang | truncate
    version: float = 1234.5
    delay: float = 0.0  # seconds of loop time before answering
    port: int = 0
    requests: int = 0
    peers: set[tuple[str, int]] = field(default_factory=set)
    targets: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


def _error(status: int, code: str) -> web.Response:
    body = {"__type": ERROR_PREFIX + code, "message": code}
    return web.json_response(body, status=status, content_type="application/x-amz-json-1.0")


def _app(state: StandIn) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        state.requests += 1
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer is not None:
            state.peers.add((peer[0], peer[1]))
        state.targets.append(request.headers.get("X-Amz-Target", ""))
        state.hosts.append(request.headers.get("Host", ""))
        state.bodies.append(json.loads(await request.read()))
        mode = state.mode
        if state.delay:
            await asyncio.sleep(state.delay)
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "reset" and request.transport is not None:
            request.transport.abort()
            await asyncio.sleep(3600)
        if mode == "truncate":
            response = web.StreamResponse(headers={"Content-Length": "100"})
            await response.prepare(request)
            await response.write(b"{")
            assert request.transport is not None
            request.transport.close()
            return response
        if mode == "throttle":
            return _error(400, "ThrottlingException")
        if mode == "pte":
            return _error(400, "ProvisionedThroughputExceededException")
        if mode == "validation":
            return _error(400, "ValidationException")
        if mode in ("500", "503"):
            return _error(int(mode), "InternalServerError")
        headers = {"x-harness-region": state.region}
        if state.targets[-1].endswith("GetItem"):
            headers["x-harness-version"] = repr(state.version)
        return web.json_response({}, headers=headers, content_type="application/x-amz-json-1.0")

    app = web.Application()
    app.router.add_post("/", handle)
    return app


@asynccontextmanager
async def stand_in(region: str, host: str = "127.0.0.1") -> AsyncIterator[StandIn]:
    """Serve a stand-in endpoint on host:0; always stopped."""
    state = StandIn(region)
    runner = web.AppRunner(_app(state), handle_signals=False, shutdown_timeout=0.01)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        state.port = server.sockets[0].getsockname()[1]
        yield state
    finally:
        await runner.cleanup()


@asynccontextmanager
async def transport_to(
    port: int,
    resolver: AbstractResolver | None = None,
    pool: PoolSettings | None = None,
    bus: EventBus | None = None,
) -> AsyncIterator[HttpTransport]:
    """Strategy "s"'s transport to one region, r1, at NAME:port (default: NAME is 127.0.0.1)."""
    transport = HttpTransport(
        strategy="s",
        endpoints={"r1": NAME},
        port=port,
        resolver=resolver or StaticResolver({NAME: ("127.0.0.1",)}),
        pool=pool or PoolSettings(),
        clock=Clock.for_running_loop(),
        bus=bus or EventBus(),
    )
    typed: Transport = transport  # mypy checks HttpTransport against the Transport protocol
    async with transport:
        yield transport
    assert typed is transport


@asynccontextmanager
async def real_dns(
    zone: Zone, bus: EventBus, settings: DnsSettings | None = None
) -> AsyncIterator[DnsResolver]:
    """The real DnsServer serving `zone` on 127.0.0.1:0 and strategy "s"'s resolver asking it
    (no cache unless `settings` says so); both always closed."""
    async with DnsServer(zone, "127.0.0.1", 0, rng=random.Random(1)) as server:
        resolver = DnsResolver(
            server.address,
            settings or DnsSettings(cache="none"),
            clock=Clock.for_running_loop(),
            bus=bus,
            strategy="s",
        )
        try:
            yield resolver
        finally:
            await resolver.close()


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def settle(iterations: int = 5) -> None:
    """Let callbacks scheduled with call_soon (connection_lost, future callbacks) run."""
    for _ in range(iterations):
        await asyncio.sleep(0)
