"""The real transport: one DynamoDB call over HTTP to a regional endpoint, resolved through our DNS.

One connection pool per region, each its own LoopClockConnector (harness.client.pool), so a
region's kept-alive connections live and die independently - as they do in an SDK client per
region. Requests go through `harness.client.exchange` (aiohttp's connector, protocol and parser,
without a ClientSession: a request head built once per region and operation). Every failure is
mapped to an Outcome in one place, `classify_exception` (httpcore's `map_exceptions`): callers
never see an exception except CancelledError.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from harness.client.api import AttemptResult, Request
from harness.client.dynamo_client import CONTENT_TYPE, TARGETS, decode, encode
from harness.client.exchange import Exchange, RequestHead
from harness.client.pool import LoopClockConnector, Sweeper
from harness.clock import Clock
from harness.events import ConnectionsChanged, EventBus
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import PoolSettings
from harness.world.network import CALLER_HEADER

logger = logging.getLogger(__name__)

USER_AGENT = "dns-outage-harness/0.1"


@dataclass(frozen=True, slots=True)
class _Route:
    """Everything needed to reach one region, built once."""

    exchange: Exchange
    connector: LoopClockConnector
    heads: Mapping[str, RequestHead]  # op -> request head


class HttpTransport:
    """harness.client.api.Transport over HTTP: http://<regional name>:<port>/, DNS via `resolver`.

    `send` bounds the whole attempt (waiting for a pool slot, DNS, connect, request, response) with
    `asyncio.timeout(timeout)` on the loop clock. aiohttp's own timeouts are off except the socket
    connect timeout (`pool.connect_timeout`, like botocore's `connect_timeout`, default 60 s there,
    1 s here); aiohttp's DNS cache is off (`use_dns_cache=False`): the resolver owns caching.
    No retries below ours: aiohttp's ClientSession would not retry a POST either.
    """

    def __init__(
        self,
        *,
        strategy: str,
        endpoints: Mapping[str, str],
        port: int,
        resolver: AbstractResolver,
        pool: PoolSettings,
        clock: Clock,
        bus: EventBus,
        table: str = "harness",
        host: int = 0,
        caller_region: str | None = None,
    ) -> None:
        self.strategy = strategy
        self.caller_region = caller_region  # sent so the server pays the round trip from there
        self.host = host  # which client host of the strategy's fleet this transport belongs to
        self._endpoints = dict(endpoints)
        self._port = port
        self._resolver = resolver
        self._pool = pool
        self._clock = clock
        self._bus = bus
        self._table = table
        self._routes: dict[str, _Route] = {}
        self._sweeper: Sweeper | None = None

    async def start(self) -> None:
        """Create one pool per region (needs the running loop) and start the pool sweeper."""
        if self._routes:
            return
        caller = self.caller_region
        for region, name in self._endpoints.items():
            connector = LoopClockConnector(
                self._pool, resolver=self._resolver, on_change=self._announcer(region)
            )
            exchange = pooled_exchange(self._pool, connector, name, self._port)
            heads = {
                op: exchange.head("/", _headers(name, target, caller))
                for op, target in TARGETS.items()
            }
            self._routes[region] = _Route(exchange, connector, heads)
        self._sweeper = start_sweeper(self._pool, self._routes.values())

    async def close(self) -> None:
        """Stop the sweeper, close every pool and its connections. Idempotent."""
        sweeper, self._sweeper = self._sweeper, None
        routes, self._routes = self._routes, {}
        await close_pooled(sweeper, routes.values())

    async def __aenter__(self) -> HttpTransport:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def open_connections(self) -> dict[str, int]:
        """Open connections per region (idle and in use)."""
        return {region: route.connector.open_count for region, route in self._routes.items()}

    async def send(self, request: Request, region: str, *, timeout: float | None) -> AttemptResult:
        route = self._routes.get(region)
        if route is None:
            why = f"no endpoint for {region}" if self._routes else "transport not started"
            return AttemptResult(Outcome.CLIENT_ERROR, region, detail=why)
        if request.op not in TARGETS:
            return AttemptResult(Outcome.CLIENT_ERROR, region, detail=f"unknown op {request.op}")
        body = encode(request, self._table)
        return await post_attempt(
            route.exchange, route.heads[request.op], body, region, timeout, decode
        )

    def _announcer(self, region: str) -> _Announcer:
        return _Announcer(self._bus, self.strategy, region, self.host)


class Pooled(Protocol):
    """A route's connector."""

    @property
    def connector(self) -> LoopClockConnector: ...


def pooled_exchange(
    pool: PoolSettings, connector: LoopClockConnector, host: str, port: int
) -> Exchange:
    """Requests to http://host:port over `connector`: no timeout but the socket connect timeout,
    no cookies, bodies as sent (auto_decompress off)."""
    url = URL.build(scheme="http", host=host, port=port)
    return Exchange(connector, url, connect_timeout=pool.connect_timeout)


def start_sweeper(pool: PoolSettings, routes: Iterable[Pooled]) -> Sweeper | None:
    """Kept-alive connections need sweeping on the loop clock; without keep-alive, nothing."""
    if not pool.keep_alive:
        return None
    sweeper = Sweeper([route.connector for route in routes])
    sweeper.start()
    return sweeper


async def close_pooled(sweeper: Sweeper | None, routes: Iterable[Pooled]) -> None:
    """Stop the sweeper, then close every pool and its connections, even if stopping fails."""
    try:
        if sweeper is not None:
            await sweeper.stop()
    finally:
        for route in routes:
            await route.connector.close()
            route.connector.forget_closed()


Decoder = Callable[[int, Mapping[str, str], bytes, str], AttemptResult]


async def post_attempt(
    exchange: Exchange,
    head: RequestHead,
    body: bytes,
    region: str,
    timeout: float | None,
    decode: Decoder,
) -> AttemptResult:
    """One POST bounded by `timeout` on the loop clock, its response decoded by `decode`; every
    failure becomes an outcome, a real cancellation stays a cancellation."""
    task = asyncio.current_task()
    cancelling = task.cancelling() if task is not None else 0
    scope = asyncio.timeout(timeout)
    try:
        async with scope:
            response = await exchange.post(head, body)
        return decode(response.status, response.headers, response.body, region)
    except Exception as exc:
        if task is not None and task.cancelling() > cancelling:
            # A real cancellation that aiohttp turned into another error: honour it.
            raise asyncio.CancelledError() from exc
        if scope.expired():
            return AttemptResult(Outcome.TIMEOUT, region, detail=f"no answer in {timeout}s")
        return classify_exception(exc, region)


def _headers(name: str, target: str, caller_region: str | None) -> dict[str, str]:
    """Request headers (what ClientSession would send with these: aiohttp's auto headers Accept,
    Accept-Encoding and User-Agent given, so it adds none)."""
    headers = {
        "Host": name,
        "Content-Type": CONTENT_TYPE,
        "X-Amz-Target": target,
        "Accept": "*/*",
        "Accept-Encoding": "identity",
        "User-Agent": USER_AGENT,
    }
    if caller_region is not None:
        headers[CALLER_HEADER] = caller_region
    return headers


@dataclass(frozen=True, slots=True)
class _Announcer:
    """Emits ConnectionsChanged for one region (the connector calls it only on a change)."""

    bus: EventBus
    strategy: str
    region: str
    host: int

    def __call__(self, open_count: int) -> None:
        if self.bus.wants(ConnectionsChanged):
            self.bus.emit(ConnectionsChanged(self.strategy, self.region, open_count, self.host))


# ---- the one place where exceptions become outcomes ---------------------------------------------

_GAI_OUTCOMES: dict[int, Outcome] = {
    socket.EAI_NONAME: Outcome.DNS_NXDOMAIN,
    socket.EAI_AGAIN: Outcome.DNS_SERVFAIL,
}
if hasattr(socket, "EAI_NODATA"):
    _GAI_OUTCOMES[socket.EAI_NODATA] = Outcome.DNS_NODATA


def classify_exception(exc: BaseException, region: str) -> AttemptResult:
    """Map an exception from aiohttp (or below it) to an attempt result. Our own timeout is
    handled by the caller (it knows whether its scope expired).

    - a DNS failure: our resolver's DnsLookupError carries `.outcome`; aiohttp wraps it in
      ClientConnectorDNSError (`os_error` / `__cause__`). A system resolver's gaierror is mapped
      by its code. -> DNS_NXDOMAIN / DNS_NODATA / DNS_SERVFAIL / DNS_TIMEOUT
    - refused, reset or failed connects, and aiohttp's socket connect timeout -> CONNECT_ERROR:
      the region cannot be reached (botocore: EndpointConnectionError / ConnectTimeoutError).
    - the server closing or resetting the connection mid-request, or a truncated body
      (ServerDisconnectedError, ClientOSError, ClientPayloadError) -> CONNECT_ERROR, like
      botocore's ConnectionClosedError: the connection failed, not the service's answer.
    - a read timeout, or any other TimeoutError -> TIMEOUT.
    - anything else -> CLIENT_ERROR, logged: most likely a bug.
    """
    dns = _dns_outcome(exc)
    if dns is not None:
        return AttemptResult(dns, region, detail=_describe(exc))
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return AttemptResult(Outcome.CONNECT_ERROR, region, detail=_describe(exc))
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return AttemptResult(Outcome.TIMEOUT, region, detail=_describe(exc))
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        return AttemptResult(Outcome.CONNECT_ERROR, region, detail=_describe(exc))
    if isinstance(exc, TimeoutError):
        return AttemptResult(Outcome.TIMEOUT, region, detail=_describe(exc))
    if isinstance(exc, OSError):
        return AttemptResult(Outcome.CONNECT_ERROR, region, detail=_describe(exc))
    logger.warning("unexpected error on %s", region, exc_info=exc)
    return AttemptResult(Outcome.CLIENT_ERROR, region, detail=_describe(exc))


def _dns_outcome(exc: BaseException) -> Outcome | None:
    """Walk the cause chain for a DNS failure: our `.outcome`, or a gaierror's code."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        outcome = getattr(current, "outcome", None)
        if isinstance(outcome, Outcome) and outcome.is_dns:
            return outcome
        if isinstance(current, socket.gaierror):
            code = current.errno if current.errno is not None else 0
            return _GAI_OUTCOMES.get(code, Outcome.DNS_SERVFAIL)
        wrapped = getattr(current, "os_error", None)  # ClientConnectorError keeps the OSError
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return Outcome.DNS_SERVFAIL  # a resolver failure we cannot read more from
    return None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
