"""DnsServer on 127.0.0.1 port 0, checked with an independent client (dnspython) and raw sockets."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from harness.errors import AddressError
from harness.world.control import DnsOverride
from harness.world.dns import DnsServer, Zone
from harness.world.stats import DnsQueryCount

pytestmark = pytest.mark.looptime

NAME = "api.example.test"
BIG = "big.example.test"
EMPTY = "empty.example.test"
BIG_ADDRESSES = tuple(f"127.0.2.{i}" for i in range(1, 61))


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    zone.set_addresses(NAME, ("127.0.1.1", "127.0.1.2"))
    zone.set_addresses(BIG, BIG_ADDRESSES)
    zone.empty(EMPTY)
    async with DnsServer(zone, rng=random.Random(1)) as running:
        yield running


async def ask(
    server: DnsServer, name: str, rdtype: str = "A", *, tcp: bool = False, payload: int = 0
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, use_edns=0 if payload else None, payload=payload)
    async with asyncio.timeout(2):
        if tcp:
            return await dns.asyncquery.tcp(query, server.host, port=server.port)
        return await dns.asyncquery.udp(query, server.host, port=server.port)


def a_records(response: dns.message.Message) -> list[tuple[str, int]]:
    return [
        (rdata.address, rrset.ttl)
        for rrset in response.answer
        if rrset.rdtype == dns.rdatatype.A
        for rdata in rrset
    ]


def soa_in_authority(response: dns.message.Message) -> tuple[int, int]:
    (rrset,) = response.authority
    assert rrset.rdtype == dns.rdatatype.SOA
    return rrset.ttl, rrset[0].minimum


async def test_a_query_answers_every_address_authoritatively(server: DnsServer) -> None:
    response = await ask(server, NAME)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert a_records(response) == [("127.0.1.1", 30), ("127.0.1.2", 30)]


async def test_unknown_name_is_nxdomain_with_soa(server: DnsServer) -> None:
    response = await ask(server, "missing.example.test")
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.answer == []
    assert soa_in_authority(response) == (5, 5)


async def test_emptied_name_is_nodata_with_soa(server: DnsServer) -> None:
    response = await ask(server, EMPTY)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    assert soa_in_authority(response) == (5, 5)


async def test_aaaa_of_an_ipv4_name_is_nodata(server: DnsServer) -> None:
    response = await ask(server, NAME, "AAAA")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer == []
    assert soa_in_authority(response) == (5, 5)


async def test_apex_answers_soa_and_ns(server: DnsServer) -> None:
    soa = await ask(server, "example.test", "SOA")
    (rrset,) = soa.answer
    record = rrset[0]
    assert str(record.mname) == "ns1.example.test."
    assert str(record.rname) == "hostmaster.example.test."
    assert record.minimum == 5 and rrset.ttl == 5
    assert record.serial == server.zone.serial
    ns = await ask(server, "example.test", "NS")
    assert [str(r.target) for r in ns.answer[0]] == ["ns1.example.test."]


async def test_names_outside_the_zone_are_refused(server: DnsServer) -> None:
    for name in ("example.com", "test", "notexample.test"):
        response = await ask(server, name)
        assert response.rcode() == dns.rcode.REFUSED
        assert not response.flags & dns.flags.AA


async def test_tcp_answers_on_the_same_port(server: DnsServer) -> None:
    response = await ask(server, NAME, tcp=True)
    assert a_records(response) == [("127.0.1.1", 30), ("127.0.1.2", 30)]
    missing = await ask(server, "missing.example.test", tcp=True)
    assert missing.rcode() == dns.rcode.NXDOMAIN


async def test_large_answer_is_truncated_over_udp_and_complete_over_tcp(server: DnsServer) -> None:
    udp = await ask(server, BIG)
    assert udp.flags & dns.flags.TC
    assert udp.answer == []
    tcp = await ask(server, BIG, tcp=True)
    assert [address for address, _ in a_records(tcp)] == list(BIG_ADDRESSES)
    edns = await ask(server, BIG, payload=4096)  # the client advertised room for it
    assert not edns.flags & dns.flags.TC
    assert len(a_records(edns)) == 60


async def test_udp_retry_over_tcp_with_dnspython_fallback(server: DnsServer) -> None:
    query = dns.message.make_query(BIG, "A")
    async with asyncio.timeout(2):
        response, used_tcp = await dns.asyncquery.udp_with_fallback(
            query, server.host, port=server.port
        )
    assert used_tcp and len(a_records(response)) == 60


async def test_query_name_case_is_echoed_and_matched_case_insensitively(server: DnsServer) -> None:
    response = await ask(server, "API.Example.TEST")
    assert response.rcode() == dns.rcode.NOERROR
    assert str(response.question[0].name) == "API.Example.TEST."
    assert len(a_records(response)) == 2


async def test_zone_changes_are_visible_to_the_next_query(server: DnsServer) -> None:
    assert len(a_records(await ask(server, NAME))) == 2
    server.zone.set_addresses(NAME, ("127.0.1.9",))
    assert a_records(await ask(server, NAME)) == [("127.0.1.9", 30)]
    server.zone.empty(NAME)
    assert (await ask(server, NAME)).answer == []
    server.zone.delete(NAME)
    assert (await ask(server, NAME)).rcode() == dns.rcode.NXDOMAIN


async def _raw_udp(server: DnsServer, payload: bytes, wait: float = 1.0) -> bytes | None:
    loop = asyncio.get_running_loop()
    received: asyncio.Queue[bytes] = asyncio.Queue()

    class Protocol(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            received.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(
        Protocol, remote_addr=(server.host, server.port)
    )
    try:
        transport.sendto(payload)
        async with asyncio.timeout(wait):
            return await received.get()
    except TimeoutError:
        return None
    finally:
        transport.close()


async def test_malformed_query_gets_formerr_and_garbage_is_ignored(server: DnsServer) -> None:
    header = bytes.fromhex("beef01000001000000000000")  # id 0xbeef, RD, one question...
    reply = await _raw_udp(server, header + b"\x07trunc")  # ...that is cut short
    assert reply is not None
    message = dns.message.from_wire(reply)
    assert message.id == 0xBEEF and message.rcode() == dns.rcode.FORMERR
    assert message.flags & dns.flags.QR and message.flags & dns.flags.RD
    assert await _raw_udp(server, b"\x01\x02\x03") is None  # no header: not even FORMERR
    response = dns.message.make_response(dns.message.make_query(NAME, "A")).to_wire()
    assert await _raw_udp(server, response) is None  # never answer a response
    assert server.query_count(rcode="FORMERR") == 2  # garbage counts; a stray response does not


async def test_stats_count_queries_by_name_type_and_rcode(server: DnsServer) -> None:
    for _ in range(3):
        await ask(server, NAME)
    await ask(server, NAME, "AAAA")
    await ask(server, "missing.example.test")
    await ask(server, "www.google.com")
    server.zone.add_override(NAME, DnsOverride("drop", rate=1.0))
    query = dns.message.make_query(NAME, "A")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1):
            await dns.asyncquery.udp(query, server.host, port=server.port)
    stats = set(server.stats())
    assert DnsQueryCount(NAME, "A", "NOERROR", 3) in stats
    assert DnsQueryCount(NAME, "AAAA", "NOERROR", 1) in stats
    assert DnsQueryCount(NAME, "A", "DROPPED", 1) in stats
    assert DnsQueryCount("other", "A", "NXDOMAIN", 1) in stats  # never-set names share a label
    assert DnsQueryCount("other", "A", "REFUSED", 1) in stats
    assert server.query_count(NAME) == 5
    assert server.query_count(qtype="A") == 6


# ---- lifecycle -------------------------------------------------------------------------------


async def test_port_is_shared_by_udp_and_tcp(server: DnsServer) -> None:
    assert server.port > 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(OSError):
        udp.bind((server.host, server.port))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.connect((server.host, server.port))  # listening


async def test_port_in_use_is_an_address_error(server: DnsServer) -> None:
    other = DnsServer(server.zone, port=server.port, rng=random.Random(0))
    with pytest.raises(AddressError, match=rf"{server.port}/tcp: address already in use"):
        await other.start()
    await other.stop()


async def test_udp_port_in_use_is_an_address_error_and_releases_tcp() -> None:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    with socket.socket() as tcp:  # a port free for TCP (a UDP pick may be a TIME_WAIT one)
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", port))
        dns_server = DnsServer(zone, port=port, rng=random.Random(0))
        with pytest.raises(AddressError, match=rf"{port}/udp: address already in use"):
            await dns_server.start()
        await dns_server.stop()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", port))  # the TCP listener it had bound was released


async def test_tcp_port_in_use_is_an_address_error() -> None:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        dns_server = DnsServer(zone, port=port, rng=random.Random(0))
        with pytest.raises(AddressError, match=rf"{port}/tcp: address already in use"):
            await dns_server.start()
        await dns_server.stop()


@pytest.mark.parametrize("host", ["10.0.0.1", "0.0.0.0", "example.com", "::"])
async def test_non_loopback_host_is_an_address_error(host: str) -> None:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    with pytest.raises(AddressError, match="not a loopback"):
        DnsServer(zone, host=host, rng=random.Random(0))


async def test_other_loopback_address_works() -> None:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    zone.set_addresses(NAME, ("127.0.1.1",))
    async with DnsServer(zone, host="127.0.53.1", rng=random.Random(0)) as other:
        assert other.host == "127.0.53.1"
        assert a_records(await ask(other, NAME)) == [("127.0.1.1", 30)]


async def test_stop_closes_every_socket_and_is_idempotent() -> None:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    zone.set_addresses(NAME, ("127.0.1.1",))
    zone.add_override(NAME, DnsOverride("delay", delay=60.0))
    dns_server = DnsServer(zone, rng=random.Random(0))
    await dns_server.start()
    port = dns_server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)  # an open TCP session
    await _raw_udp(dns_server, dns.message.make_query(NAME, "A").to_wire(), wait=0.1)  # pending
    await dns_server.stop()
    await dns_server.stop()
    assert await reader.read() == b""  # the server closed our TCP connection
    writer.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", port))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # our closed session: TIME_WAIT
        tcp.bind(("127.0.0.1", port))
        tcp.listen()
    async with DnsServer(zone, port=port, rng=random.Random(0)) as again:
        assert again.port == port
