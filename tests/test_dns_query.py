"""query_a: one lookup on the wire, every outcome, against the real DnsServer and a fake server."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator, Callable
from typing import cast

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from harness.client.resolver import Answer, DnsLookupError, query_a
from harness.outcomes import Outcome
from harness.world.control import DnsOverride
from harness.world.dns import DnsServer, Zone

pytestmark = pytest.mark.looptime

NAME = "api.example.test"


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    zone.set_addresses(NAME, ("127.0.1.1", "127.0.1.2"))
    zone.set_addresses("big.example.test", tuple(f"127.0.2.{i}" for i in range(1, 61)))
    zone.empty("empty.example.test")
    async with DnsServer(zone, rng=random.Random(0)) as running:
        yield running


async def lookup(server: DnsServer, name: str = NAME, **kw: float) -> Answer:
    timeout = kw.get("timeout", 1.0)
    attempts = int(kw.get("attempts", 2))
    return await query_a(name, server.address, timeout=timeout, attempts=attempts)


async def failure(server: DnsServer, name: str = NAME, **kw: float) -> DnsLookupError:
    with pytest.raises(DnsLookupError) as caught:
        await lookup(server, name, **kw)
    return caught.value


async def test_addresses_and_ttl(server: DnsServer) -> None:
    answer = await lookup(server)
    assert answer == Answer(NAME, Outcome.OK, ("127.0.1.1", "127.0.1.2"), 30.0)
    assert answer.ok


async def test_nxdomain_answer_carries_the_negative_ttl(server: DnsServer) -> None:
    answer = await lookup(server, "missing.example.test")
    assert (answer.outcome, answer.addresses, answer.ttl) == (Outcome.DNS_NXDOMAIN, (), 5.0)
    error = answer.error()
    assert isinstance(error, OSError) and error.outcome is Outcome.DNS_NXDOMAIN
    assert error.errno == socket.EAI_NONAME


async def test_nodata_for_an_emptied_name(server: DnsServer) -> None:
    answer = await lookup(server, "empty.example.test")
    assert (answer.outcome, answer.ttl) == (Outcome.DNS_NODATA, 5.0)
    server.zone.add_override(NAME, DnsOverride("nodata"))
    assert (await lookup(server)).outcome is Outcome.DNS_NODATA


async def test_servfail_raises(server: DnsServer) -> None:
    server.zone.add_override(NAME, DnsOverride("servfail"))
    error = await failure(server)
    assert error.outcome is Outcome.DNS_SERVFAIL and error.errno == socket.EAI_AGAIN
    assert server.query_count(NAME) == 1  # an answer, not a lost packet: no second attempt


async def test_refused_counts_as_servfail(server: DnsServer) -> None:
    error = await failure(server, "www.example.com")
    assert error.outcome is Outcome.DNS_SERVFAIL and "REFUSED" in str(error)


async def test_dropped_queries_time_out_after_every_attempt(server: DnsServer) -> None:
    server.zone.add_override(NAME, DnsOverride("drop"))
    loop = asyncio.get_running_loop()
    start = loop.time()
    error = await failure(server, timeout=1.5, attempts=3)
    assert error.outcome is Outcome.DNS_TIMEOUT and error.errno == socket.EAI_AGAIN
    assert loop.time() - start == pytest.approx(4.5, abs=0.01)
    assert server.query_count(NAME, rcode="DROPPED") == 3


async def test_second_attempt_can_succeed(server: DnsServer) -> None:
    server.zone.add_override(NAME, DnsOverride("drop", rate=0.5))
    outcomes = []
    for _ in range(20):
        try:
            outcomes.append((await lookup(server, timeout=1.0, attempts=2)).outcome)
        except DnsLookupError as exc:
            outcomes.append(exc.outcome)
    assert outcomes.count(Outcome.OK) > outcomes.count(Outcome.DNS_TIMEOUT) > 0
    assert server.query_count(NAME) > 20  # retried attempts reached the server


async def test_unreachable_server_is_a_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DnsLookupError) as caught:
        await query_a(NAME, ("127.0.0.1", port), timeout=1.0, attempts=2)
    assert caught.value.outcome is Outcome.DNS_TIMEOUT


async def test_truncated_answer_is_retried_over_tcp(server: DnsServer) -> None:
    answer = await lookup(server, "big.example.test")
    assert len(answer.addresses) == 60 and answer.addresses[-1] == "127.0.2.60"
    assert server.query_count("big.example.test") == 2  # UDP (truncated), then TCP


# ---- a fake responder for what our server never sends ------------------------------------------

Responder = Callable[[dns.message.Message], dns.message.Message | None]


class _Fake(asyncio.DatagramProtocol):
    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        response = self.respond(dns.message.from_wire(data))
        if response is not None and self.transport is not None:
            self.transport.sendto(response.to_wire(), addr)


async def fake_lookup(respond: Responder) -> Answer:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Fake(respond), local_addr=("127.0.0.1", 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        return await query_a(NAME, ("127.0.0.1", port), timeout=1.0, attempts=1)
    finally:
        transport.close()


def negative(soa_ttl: int | None, minimum: int) -> Responder:
    def respond(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.NXDOMAIN)
        if soa_ttl is not None:
            soa = f"ns1.example.test. hostmaster.example.test. 1 3600 600 86400 {minimum}"
            response.authority.append(
                dns.rrset.from_text("example.test.", soa_ttl, "IN", "SOA", soa)
            )
        return response

    return respond


@pytest.mark.parametrize(("soa_ttl", "minimum", "expected"), [(3, 10, 3.0), (10, 2, 2.0)])
async def test_negative_ttl_is_min_of_soa_ttl_and_minimum(
    soa_ttl: int, minimum: int, expected: float
) -> None:
    answer = await fake_lookup(negative(soa_ttl, minimum))
    assert (answer.outcome, answer.ttl) == (Outcome.DNS_NXDOMAIN, expected)


async def test_negative_answer_without_soa_has_no_negative_ttl() -> None:
    answer = await fake_lookup(negative(None, 0))
    assert (answer.outcome, answer.ttl) == (Outcome.DNS_NXDOMAIN, 0.0)


async def test_answer_ttl_comes_from_the_rrset() -> None:
    def respond(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.answer.append(
            dns.rrset.from_text(f"{NAME}.", 7, "IN", "A", "127.0.3.1", "127.0.3.2")
        )
        return response

    answer = await fake_lookup(respond)
    assert (answer.outcome, sorted(answer.addresses), answer.ttl) == (
        Outcome.OK,
        ["127.0.3.1", "127.0.3.2"],
        7.0,
    )
