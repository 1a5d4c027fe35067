"""Serve a run's registry at /metrics from an aiohttp app in the run's own event loop.

Default 127.0.0.1:9464 (the port OpenTelemetry's Prometheus exporter uses). Loopback only unless
the caller passes `allow_non_loopback=True`: the CLI does that only when the user names another
address explicitly (e.g. the docker bridge address, so a Prometheus in a container can scrape).
"""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from harness.errors import AddressError
from harness.netguard import require_loopback

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464
_INDEX = "harness metrics exporter: see /metrics\n"


class MetricsServer:
    """`await start(host, port)` -> the bound (host, port); `await stop()` (idempotent)."""

    def __init__(self, registry: CollectorRegistry, *, allow_non_loopback: bool = False) -> None:
        self._registry = registry
        self._allow_non_loopback = allow_non_loopback
        self._runner: web.AppRunner | None = None
        self.address: tuple[str, int] | None = None

    @property
    def target(self) -> str:
        """host:port as a Prometheus scrape target (IPv6 in brackets)."""
        if self.address is None:
            raise RuntimeError("the metrics server is not running")
        host, port = self.address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

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
        if self._runner is not None:
            raise RuntimeError("the metrics server is already running")
        if allow_non_loopback is None:
            allow_non_loopback = self._allow_non_loopback
        if not allow_non_loopback:
            require_loopback(host, "metrics server host")
        app = web.Application()
        app.router.add_get("/metrics", make_aiohttp_handler(self._registry))
        app.router.add_get("/", _index)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise AddressError(_bind_message(host, port, exc)) from exc
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound = runner.addresses[0]
        self.address = (str(bound[0]), int(bound[1]))
        return self.address

    async def stop(self) -> None:
        runner, self._runner, self.address = self._runner, None, None
        if runner is not None:
            await runner.cleanup()


async def _index(_: web.Request) -> web.Response:
    return web.Response(text=_INDEX)


def _bind_message(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot serve metrics on {host}:{port}: the port is already in use "
            "(another harness or exporter?); choose another port, or 0 for any free one"
        )
    return f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}"


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
