"""The transport to a dependent service (harness.services): one call over HTTP to one of its names,
resolved through our DNS, with the same pool and the same exception mapping as the DynamoDB
transport. The pipeline's `region` is a key of `endpoints`: a region, or "global" for a
service's global name, so failover between a global and a regional endpoint is ordinary failover.

Wire protocol (harness.services.protocol): POST /<op> with {"key": ...}; 200 is success, 429
throttling, 503 a failed dependency (the detail names it), other 4xx a client error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from harness.client.api import AttemptResult, Request
from harness.client.pool import LoopClockConnector, Sweeper
from harness.client.transport import USER_AGENT, classify_exception
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import PoolSettings
from harness.world.network import CALLER_HEADER

REGION_HEADER = "X-Harness-Region"


@dataclass(frozen=True, slots=True)
class _Route:
    host: str
    session: aiohttp.ClientSession
    connector: LoopClockConnector


class ServiceTransport:
    """harness.client.api.Transport for one service. `endpoints`: route key -> DNS name."""

    def __init__(
        self,
        *,
        service: str,
        endpoints: Mapping[str, str],
        port: int,
        resolver: AbstractResolver,
        pool: PoolSettings,
        caller_region: str | None = None,
    ) -> None:
        self.service = service
        self.caller_region = caller_region  # sent so the server pays the round trip from there
        self._endpoints = dict(endpoints)
        self._port = port
        self._resolver = resolver
        self._pool = pool
        self._routes: dict[str, _Route] = {}
        self._sweeper: Sweeper | None = None

    async def start(self) -> None:
        if self._routes:
            return
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._pool.connect_timeout)
        for key, host in self._endpoints.items():
            connector = LoopClockConnector(self._pool, resolver=self._resolver)
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
            )
            self._routes[key] = _Route(host, session, connector)
        if self._pool.keep_alive:
            self._sweeper = Sweeper([route.connector for route in self._routes.values()])
            self._sweeper.start()

    async def close(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        routes, self._routes = self._routes, {}
        try:
            if sweeper is not None:
                await sweeper.stop()
        finally:
            for route in routes.values():
                await route.session.close()
                route.connector.forget_closed()

    async def send(self, request: Request, region: str, *, timeout: float | None) -> AttemptResult:
        route = self._routes.get(region)
        if route is None:
            why = f"{self.service} has no endpoint {region!r}" if self._routes else "not started"
            return AttemptResult(Outcome.CLIENT_ERROR, region, detail=why)
        url = URL.build(scheme="http", host=route.host, port=self._port, path=f"/{request.op}")
        body = json.dumps({"key": request.key}).encode()
        headers = {"Host": route.host, "User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if self.caller_region is not None:
            headers[CALLER_HEADER] = self.caller_region
        task = asyncio.current_task()
        cancelling = task.cancelling() if task is not None else 0
        scope = asyncio.timeout(timeout)
        try:
            async with scope, route.session.post(url, data=body, headers=headers) as resp:
                payload = await resp.read()
                return _decode(resp.status, region, payload)
        except Exception as exc:
            if task is not None and task.cancelling() > cancelling:
                raise asyncio.CancelledError() from exc
            if scope.expired():
                return AttemptResult(Outcome.TIMEOUT, region, detail=f"no answer in {timeout}s")
            return classify_exception(exc, region)


def _decode(status: int, region: str, body: bytes) -> AttemptResult:
    if status == 200:
        return AttemptResult(Outcome.OK, region, status)
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {}
    detail = str(parsed.get("detail", "")) if isinstance(parsed, dict) else ""
    if status == 429:
        return AttemptResult(Outcome.THROTTLED, region, status, detail=detail)
    if status >= 500:
        return AttemptResult(Outcome.SERVER_ERROR, region, status, detail=detail)
    return AttemptResult(Outcome.CLIENT_ERROR, region, status, detail=detail)
