"""The client's DNS: one query on the wire (`query_a`) and an aiohttp resolver with our own caching.

Why our own: dnspython's high-level Resolver measures its lifetime on the wall clock (breaks under
a virtual clock); aiodns/c-ares keeps its own positive and negative cache with no off switch (the
client would keep a deleted address); aiohttp's `ttl_dns_cache` uses `time.monotonic`. Here every
query is `dns.asyncquery.udp` (TCP after TC=1) inside `asyncio.timeout()`, and caching
(harness.client.dnscache) runs on the loop clock.

aiohttp converts only an OSError raised by a resolver into `ClientConnectorDNSError`, hence
`DnsLookupError(OSError)`; its errno is the getaddrinfo code glibc would give (EAI_NONAME for
NXDOMAIN, EAI_NODATA for NODATA, EAI_AGAIN for SERVFAIL and timeouts).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from functools import partial
from typing import Any

import dns.asyncbackend
import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
from aiohttp.abc import AbstractResolver, ResolveResult

from harness.client.dnscache import DnsCache
from harness.clock import Clock
from harness.events import DnsLookup, EventBus
from harness.netguard import require_loopback
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import DnsSettings

_ERRNO = {
    Outcome.DNS_NXDOMAIN: socket.EAI_NONAME,
    Outcome.DNS_NODATA: getattr(socket, "EAI_NODATA", socket.EAI_NONAME),
    Outcome.DNS_SERVFAIL: socket.EAI_AGAIN,
    Outcome.DNS_TIMEOUT: socket.EAI_AGAIN,
}
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV  # what aiohttp's own resolvers report


class DnsLookupError(OSError):
    """A name did not resolve. `outcome`: DNS_NXDOMAIN / DNS_NODATA / DNS_SERVFAIL / DNS_TIMEOUT;
    `source`: "wire" or "negative_cache"."""

    def __init__(
        self, outcome: Outcome, name: str, detail: str = "", *, source: str = "wire"
    ) -> None:
        message = f"{name}: {outcome.value}" + (f" ({detail})" if detail else "")
        super().__init__(_ERRNO[outcome], message)
        self.outcome = outcome
        self.name = name
        self.detail = detail
        self.source = source

    def copy(self) -> DnsLookupError:
        return DnsLookupError(self.outcome, self.name, self.detail, source=self.source)


@dataclass(frozen=True, slots=True)
class Answer:
    """An authoritative answer. outcome OK: `addresses` (non-empty) valid for `ttl` seconds;
    DNS_NXDOMAIN / DNS_NODATA: `ttl` is the negative TTL, min(SOA TTL, SOA MINIMUM) from the
    authority section (RFC 2308 §5), 0 when the SOA is missing (then it must not be cached)."""

    name: str
    outcome: Outcome
    addresses: tuple[str, ...] = ()
    ttl: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def error(self, *, source: str = "wire") -> DnsLookupError:
        return DnsLookupError(self.outcome, self.name, source=source)


async def query_a(name: str, server: tuple[str, int], *, timeout: float, attempts: int) -> Answer:
    """Ask `server` for the A records of `name`: up to `attempts` tries of `timeout` seconds each
    (loop clock), over UDP, then TCP if the answer came truncated. Raises DnsLookupError for
    SERVFAIL (and REFUSED, FORMERR, …: glibc treats them alike) and DNS_TIMEOUT when every try
    went unanswered (an unreachable server counts as no answer)."""
    host, port = server
    query = dns.message.make_query(name, dns.rdatatype.A)
    last = "no answer"
    for _ in range(max(1, attempts)):
        try:
            async with asyncio.timeout(timeout):
                response = await _exchange(query, host, port)
        except TimeoutError:
            last = f"no answer within {timeout:g}s"
            continue
        except OSError as exc:  # e.g. ICMP port unreachable: the server is not there
            last = f"unreachable: {exc.strerror or exc}"
            continue
        except dns.exception.DNSException as exc:
            raise DnsLookupError(Outcome.DNS_SERVFAIL, name, f"bad response: {exc}") from exc
        return _interpret(name, response)
    raise DnsLookupError(Outcome.DNS_TIMEOUT, name, f"{last}; {attempts} attempt(s)")


async def _exchange(query: dns.message.Message, host: str, port: int) -> dns.message.Message:
    # timeout=None: dnspython would measure a timeout on the wall clock; asyncio.timeout does it.
    backend = dns.asyncbackend.get_backend("asyncio")
    response = await dns.asyncquery.udp(
        query, host, timeout=None, port=port, ignore_errors=True, backend=backend
    )
    if response.flags & dns.flags.TC:
        response = await dns.asyncquery.tcp(query, host, timeout=None, port=port, backend=backend)
    return response


def _interpret(name: str, response: dns.message.Message) -> Answer:
    rcode = response.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise DnsLookupError(Outcome.DNS_SERVFAIL, name, dns.rcode.to_text(rcode))
    addresses: list[str] = []
    ttls: list[int] = []
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.A:
            addresses.extend(rdata.address for rdata in rrset)
            ttls.append(rrset.ttl)
    if rcode == dns.rcode.NOERROR and addresses:
        return Answer(name, Outcome.OK, tuple(addresses), float(min(ttls)))
    outcome = Outcome.DNS_NXDOMAIN if rcode == dns.rcode.NXDOMAIN else Outcome.DNS_NODATA
    negative_ttl = 0.0
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            negative_ttl = float(min(rrset.ttl, rrset[0].minimum))
            break
    return Answer(name, outcome, (), negative_ttl)


class DnsResolver(AbstractResolver):
    """aiohttp resolver asking our DNS server, caching per `settings.cache` on the loop clock.

    Use with `aiohttp.TCPConnector(resolver=..., use_dns_cache=False)`. Concurrent lookups of one
    name share one query; addresses are rotated round-robin so connections spread over endpoints.
    """

    def __init__(
        self,
        server: tuple[str, int],
        settings: DnsSettings,
        *,
        clock: Clock,
        bus: EventBus,
        strategy: str,
    ) -> None:
        require_loopback(server[0], "DNS server")
        self._server = server
        self._settings = settings
        self._clock = clock
        self._bus = bus
        self._strategy = strategy
        self.cache = DnsCache(settings)
        self._inflight: dict[str, asyncio.Task[Answer]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._turn: dict[str, int] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if family == socket.AF_INET6:
            error = DnsLookupError(Outcome.DNS_NODATA, host, "only A records are served")
            self._emit(host, error.outcome.value, "wire")
            raise error
        addresses = await self.lookup(host)
        turn = self._turn.get(host, 0)
        self._turn[host] = turn + 1
        start = turn % len(addresses)
        rotated = addresses[start:] + addresses[:start]
        return [
            ResolveResult(
                hostname=host, host=a, port=port, family=socket.AF_INET, proto=0, flags=_NUMERIC
            )
            for a in rotated
        ]

    async def close(self) -> None:
        """Cancel queries in flight (background refreshes included)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def lookup(self, host: str) -> tuple[str, ...]:
        """Addresses of `host` per the cache mode; emits one DnsLookup event."""
        name = host.rstrip(".").lower()
        try:
            answer, source = await self._lookup(name)
        except DnsLookupError as exc:
            self._emit(name, exc.outcome.value, exc.source)
            raise
        self._emit(name, "ok", source)
        return answer.addresses

    async def _lookup(self, name: str) -> tuple[Answer, str]:
        cache = self.cache
        now = self._clock.now()
        fresh = cache.fresh(name, now)
        if fresh is not None:
            return fresh, "pinned" if cache.mode == "pinned" else "cache"
        stale = cache.stale(name, now)
        if stale is not None:
            if not cache.may_refresh(name, now):
                return stale, "stale"
            return await self._refresh_or_stale(name, stale)
        negative = cache.negative(name, now)
        if negative is not None:
            raise negative.error(source="negative_cache")
        try:
            answer = await asyncio.shield(self._query(name))
        except DnsLookupError as shared:
            # One instance per waiter: a shared one would collect every waiter's traceback.
            raise shared.copy() from None
        if not answer.ok:
            raise answer.error()
        return answer, "wire"

    async def _refresh_or_stale(self, name: str, stale: Answer) -> tuple[Answer, str]:
        """RFC 8767 §5 client response timer: answer stale if the refresh fails or is slow;
        a slow refresh goes on in the background and updates the cache when it lands."""
        try:
            async with asyncio.timeout(self._settings.response_timer):
                answer = await asyncio.shield(self._query(name))
        except (TimeoutError, DnsLookupError):
            return stale, "stale"
        return (answer, "wire") if answer.ok else (stale, "stale")

    def _query(self, name: str) -> asyncio.Task[Answer]:
        """The query in flight for `name`, started if there is none (coalescing)."""
        task = self._inflight.get(name)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch(name))
            self._inflight[name] = task
            self._tasks.add(task)
            task.add_done_callback(partial(self._fetched, name))
        return task

    async def _fetch(self, name: str) -> Answer:
        settings = self._settings
        try:
            answer = await query_a(
                name,
                self._server,
                timeout=settings.query_timeout,
                attempts=settings.query_attempts,
            )
        except DnsLookupError:
            self.cache.failed(name, self._clock.now())
            raise
        self.cache.store(answer, self._clock.now())
        return answer

    def _fetched(self, name: str, task: asyncio.Task[Answer]) -> None:
        self._tasks.discard(task)
        if self._inflight.get(name) is task:
            del self._inflight[name]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone (response timer, cancel)

    def _emit(self, name: str, result: str, source: str) -> None:
        if self._bus.wants(DnsLookup):
            self._bus.emit(DnsLookup(self._strategy, name, result, source))
