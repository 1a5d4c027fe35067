"""Make this process resolve the world's zone through the world's DNS server.

`ZoneResolver.install()` replaces `socket.getaddrinfo` (which urllib3/botocore, requests,
http.client and asyncio's default resolver all call) with a function that sends a real DNS query
(dnspython) to the world's DNS server for names in the world's zone and hands every other name to
the function it replaced. Answers turn into what the operating system's resolver returns:

    addresses              the usual (family, type, proto, canonname, sockaddr) tuples
    NODATA (no address)    socket.gaierror(EAI_NODATA, "No address associated with hostname")
    NXDOMAIN               socket.gaierror(EAI_NONAME, "Name or service not known")
    SERVFAIL, no reply     socket.gaierror(EAI_AGAIN, "Temporary failure in name resolution")

so unmodified boto3 code sees botocore's EndpointConnectionError, as it would in production.

With `cache=True` (default) answers are cached for their TTL and negative answers for the SOA
minimum (RFC 2308), like the caching stub resolver of a typical cloud host (systemd-resolved, nscd):
after a fault is reverted, a host that saw NODATA recovers within the negative TTL. `cache=False`
asks the server on every lookup (glibc without a cache). This code runs in the application's own
threads, so it keeps time with `time.monotonic` (the world it talks to runs on the real clock).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

GetAddrInfo = Callable[..., list[Any]]

EAI_NODATA = getattr(socket, "EAI_NODATA", socket.EAI_NONAME)  # not defined on every platform


@dataclass(frozen=True, slots=True)
class _Answer:
    addresses: tuple[str, ...]
    error: tuple[int, str] | None  # (EAI_* code, message) of the gaierror to raise
    expires: float


class ZoneResolver:
    """`with ZoneResolver(zone, host, port):` routes the zone's names to the world's DNS server
    for the whole process; everything else resolves as before. Restored on exit."""

    def __init__(
        self,
        zone: str,
        dns_host: str,
        dns_port: int,
        *,
        timeout: float = 2.0,
        cache: bool = True,
    ) -> None:
        self.zone = zone.lower().rstrip(".")
        self.dns_host = dns_host
        self.dns_port = dns_port
        self.timeout = timeout
        self.cache = cache
        self.queries = 0  # sent to the world's DNS server (cache misses)
        self._answers: dict[tuple[str, dns.rdatatype.RdataType], _Answer] = {}
        self._lock = threading.Lock()
        self._previous: GetAddrInfo | None = None

    # ---- install / uninstall -----------------------------------------------------------------

    def install(self) -> None:
        if self._previous is not None:
            raise RuntimeError("this ZoneResolver is already installed")
        self._previous = socket.getaddrinfo
        socket.getaddrinfo = self.getaddrinfo

    def uninstall(self) -> None:
        previous, self._previous = self._previous, None
        if previous is not None:
            socket.getaddrinfo = previous

    def __enter__(self) -> ZoneResolver:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def flush(self) -> None:
        """Forget cached answers (as `resolvectl flush-caches` would)."""
        with self._lock:
            self._answers.clear()

    def in_zone(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return name == self.zone or name.endswith("." + self.zone)

    # ---- the replacement for socket.getaddrinfo ----------------------------------------------

    def getaddrinfo(
        self,
        host: str | bytes | None,
        port: bytes | str | int | None,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[Any]:
        previous = self._previous or _ORIGINAL
        name = host.decode("idna") if isinstance(host, bytes) else host
        if name is None or not self.in_zone(name):
            return previous(host, port, family, type, proto, flags)
        rdtype = dns.rdatatype.AAAA if family == socket.AF_INET6 else dns.rdatatype.A
        answer = self._lookup(name.lower().rstrip("."), rdtype)
        if answer.error is not None:
            raise socket.gaierror(*answer.error)
        results: list[Any] = []
        for address in answer.addresses:
            results += previous(address, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        return results

    def _lookup(self, name: str, rdtype: dns.rdatatype.RdataType) -> _Answer:
        key = (name, rdtype)
        now = time.monotonic()
        if self.cache:
            with self._lock:
                cached = self._answers.get(key)
            if cached is not None and cached.expires > now:
                return cached
        answer = self._query(name, rdtype, now)
        if self.cache:
            with self._lock:
                self._answers[key] = answer
        return answer

    def _query(self, name: str, rdtype: dns.rdatatype.RdataType, now: float) -> _Answer:
        query = dns.message.make_query(name, rdtype)
        self.queries += 1
        try:
            response = dns.query.udp(query, self.dns_host, port=self.dns_port, timeout=self.timeout)
            if response.flags & dns.flags.TC:
                response = dns.query.tcp(
                    query, self.dns_host, port=self.dns_port, timeout=self.timeout
                )
        except (dns.exception.Timeout, OSError):
            return _Answer((), _again(), now)  # nothing cached: the next lookup asks again
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return _Answer(
                (),
                _error(socket.EAI_NONAME, "Name or service not known"),
                now + _negative_ttl(response),
            )
        if rcode != dns.rcode.NOERROR:
            return _Answer((), _again(), now)
        addresses: list[str] = []
        ttl: float | None = None
        for rrset in response.answer:
            if rrset.rdtype == rdtype:
                addresses += [rdata.address for rdata in rrset]
                ttl = rrset.ttl if ttl is None else min(ttl, rrset.ttl)
        if not addresses:
            return _Answer(
                (),
                _error(EAI_NODATA, "No address associated with hostname"),
                now + _negative_ttl(response),
            )
        return _Answer(tuple(addresses), None, now + (ttl or 0.0))


def _negative_ttl(response: dns.message.Message) -> float:
    """RFC 2308: the SOA in authority, min(its TTL, its minimum field); 0 without one."""
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return float(min(rrset.ttl, min(rdata.minimum for rdata in rrset)))
    return 0.0


def _error(code: int, message: str) -> tuple[int, str]:
    return code, message


def _again() -> tuple[int, str]:
    return socket.EAI_AGAIN, "Temporary failure in name resolution"


_ORIGINAL: GetAddrInfo = socket.getaddrinfo
