"""The transport to a dependent service (harness.services): one call over HTTP to one of its names,
resolved through our DNS, with the same pool and the same exception mapping as the DynamoDB
transport. The pipeline's `region` is a key of `endpoints`: a region, or "global" for a
service's global name, so failover between a global and a regional endpoint is ordinary failover.

Wire protocol (harness.services.protocol): POST /<op> with {"key": ...}; 200 is success, 429
throttling, 503 a failed dependency (the detail names it), other 4xx a client error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver

from harness.client.api import AttemptResult, Request
from harness.client.exchange import Exchange, RequestHead
from harness.client.pool import LoopClockConnector, Sweeper
from harness.client.transport import (
    USER_AGENT,
    close_pooled,
    pooled_exchange,
    post_attempt,
    start_sweeper,
)
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import PoolSettings
from harness.world.network import CALLER_HEADER

REGION_HEADER = "X-Harness-Region"


@dataclass(frozen=True, slots=True)
class _Route:
    exchange: Exchange
    connector: LoopClockConnector
    heads: dict[str, RequestHead]  # op -> request head, built on first use
    headers: Mapping[str, str]  # the same for every call on this route

    def head(self, op: str) -> RequestHead | None:
        """The head of POST /<op>, built on first use; None for an op no path can carry."""
        head = self.heads.get(op)
        if head is None:
            try:
                head = self.heads[op] = self.exchange.head(f"/{op}", self.headers)
            except ValueError:
                return None
        return head


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
        for key, host in self._endpoints.items():
            connector = LoopClockConnector(self._pool, resolver=self._resolver)
            headers = {
                "Host": host,
                "Content-Type": "application/json",
                "Accept": "*/*",
                "Accept-Encoding": "identity",
                "User-Agent": USER_AGENT,
            }
            if self.caller_region is not None:
                headers[CALLER_HEADER] = self.caller_region
            exchange = pooled_exchange(self._pool, connector, host, self._port)
            self._routes[key] = _Route(exchange, connector, {}, headers)
        self._sweeper = start_sweeper(self._pool, self._routes.values())

    async def close(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        routes, self._routes = self._routes, {}
        await close_pooled(sweeper, routes.values())

    async def send(self, request: Request, region: str, *, timeout: float | None) -> AttemptResult:
        route = self._routes.get(region)
        if route is None:
            why = f"{self.service} has no endpoint {region!r}" if self._routes else "not started"
            return AttemptResult(Outcome.CLIENT_ERROR, region, detail=why)
        head = route.head(request.op)
        if head is None:
            return AttemptResult(Outcome.CLIENT_ERROR, region, detail=f"bad op {request.op!r}")
        body = json.dumps({"key": request.key}).encode()
        return await post_attempt(route.exchange, head, body, region, timeout, _decode)


def _decode(status: int, _headers: Mapping[str, str], body: bytes, region: str) -> AttemptResult:
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
