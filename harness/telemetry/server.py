"""Serve a run's registry at /metrics from an aiohttp app in the run's own event loop.

Default 127.0.0.1:9464 (the port OpenTelemetry's Prometheus exporter uses). Loopback only unless
the caller passes `allow_non_loopback=True`: the CLI does that only when the user names another
address explicitly (e.g. the docker bridge address, so a Prometheus in a container can scrape).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from harness.app_site import AppSite
from harness.netguard import require_loopback

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464
_INDEX = "harness metrics exporter: see /metrics\n"


class MetricsServer:
    """`await start(host, port)` -> the bound (host, port); `await stop()` (idempotent)."""

    def __init__(self, registry: CollectorRegistry, *, allow_non_loopback: bool = False) -> None:
        self._registry = registry
        self._allow_non_loopback = allow_non_loopback
        self._site = AppSite(
            "metrics",
            "the port is already in use (another harness or exporter?); "
            "choose another port, or 0 for any free one",
        )

    @property
    def address(self) -> tuple[str, int] | None:
        return self._site.address

    @property
    def target(self) -> str:
        """host:port as a Prometheus scrape target (IPv6 in brackets)."""
        if self.address is None:
            raise RuntimeError("the metrics server is not running")
        return self._site.hostport

    @property
    def url(self) -> str:
        return f"http://{self.target}/metrics"

    async def start(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        allow_non_loopback: bool | None = None,
    ) -> tuple[str, int]:
        """Bind and serve; `allow_non_loopback` (here or in the constructor) lifts the loopback
        rule — only for an address the user named explicitly."""
        if self._site.running:
            raise RuntimeError("the metrics server is already running")
        if allow_non_loopback is None:
            allow_non_loopback = self._allow_non_loopback
        if not allow_non_loopback:
            require_loopback(host, "metrics server host")
        app = web.Application()
        app.router.add_get("/metrics", make_aiohttp_handler(self._registry))
        app.router.add_get("/", _index)
        return await self._site.start(app, host, port)

    async def stop(self) -> None:
        await self._site.stop()


async def _index(_: web.Request) -> web.Response:
    return web.Response(text=_INDEX)


@asynccontextmanager
async def serving(
    registry: CollectorRegistry,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    allow_non_loopback: bool = False,
) -> AsyncIterator[MetricsServer]:
    """`async with serving(registry, port=0) as server:` stops the server whatever happens."""
    server = MetricsServer(registry)
    await server.start(host, port, allow_non_loopback=allow_non_loopback)
    try:
        yield server
    finally:
        await server.stop()
