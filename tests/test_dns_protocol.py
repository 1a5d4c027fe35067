"""What a real authoritative server answers to queries outside the common path (dnspython):
other opcodes, EDNS versions, classes, zone transfers, and the zone's own name server."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.update
import pytest

from harness.world.dns import DnsServer, Zone

pytestmark = pytest.mark.looptime

NAME = "api.example.test"


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    zone.set_addresses(NAME, ("127.0.1.1",))
    async with DnsServer(zone, host="127.0.0.53", rng=random.Random(1)) as running:
        yield running


async def exchange(
    server: DnsServer, query: dns.message.Message, *, tcp: bool = False
) -> dns.message.Message:
    async with asyncio.timeout(2):
        if tcp:
            return await dns.asyncquery.tcp(query, server.host, port=server.port)
        return await dns.asyncquery.udp(query, server.host, port=server.port)


@pytest.mark.parametrize("opcode", [dns.opcode.IQUERY, dns.opcode.STATUS, dns.opcode.NOTIFY])
async def test_other_opcodes_get_notimp_with_the_opcode_echoed(
    server: DnsServer, opcode: dns.opcode.Opcode
) -> None:
    query = dns.message.make_query(NAME, "A")
    query.set_opcode(opcode)
    for tcp in (False, True):
        response = await exchange(server, query, tcp=tcp)  # dnspython checks the opcode matches
        assert response.opcode() == opcode
        assert response.rcode() == dns.rcode.NOTIMP
        assert response.id == query.id
        assert response.answer == []
    assert server.query_count(rcode="NOTIMP") == 2


async def test_an_update_gets_notimp(server: DnsServer) -> None:
    update = dns.update.UpdateMessage("example.test")
    update.add("x", 30, "A", "127.0.0.9")  # an update section: ancount/nscount mean other things
    response = await exchange(server, update)
    assert response.opcode() == dns.opcode.UPDATE
    assert response.rcode() == dns.rcode.NOTIMP
    assert server.zone.addresses("x.example.test") is None


@pytest.mark.parametrize("version", [1, 255])
async def test_edns_versions_above_zero_get_badvers(server: DnsServer, version: int) -> None:
    query = dns.message.make_query(NAME, "A", use_edns=version, payload=1232)
    response = await exchange(server, query)
    assert response.rcode() == dns.rcode.BADVERS  # extended rcode 16, via the OPT record
    assert response.edns == 0  # the version this server does speak
    assert response.answer == []
    assert server.query_count(rcode="BADVERS") == 1


async def test_edns_version_zero_is_answered(server: DnsServer) -> None:
    response = await exchange(server, dns.message.make_query(NAME, "A", use_edns=0))
    assert response.rcode() == dns.rcode.NOERROR and response.edns == 0
    assert [r.address for r in response.answer[0]] == ["127.0.1.1"]


@pytest.mark.parametrize("rdclass", ["CH", "HS", "NONE"])
async def test_classes_without_a_zone_are_refused(server: DnsServer, rdclass: str) -> None:
    for name in (NAME, "version.bind", "example.test"):
        query = dns.message.make_query(name, "A" if name != "version.bind" else "TXT", rdclass)
        response = await exchange(server, query)
        assert response.rcode() == dns.rcode.REFUSED
        assert response.answer == [] and response.authority == []
        assert not response.flags & dns.flags.AA


async def test_class_any_matches_the_in_zone(server: DnsServer) -> None:
    response = await exchange(server, dns.message.make_query(NAME, "A", "ANY"))
    assert response.rcode() == dns.rcode.NOERROR
    assert [r.address for r in response.answer[0]] == ["127.0.1.1"]


@pytest.mark.parametrize("rdtype", ["AXFR", "IXFR"])
async def test_zone_transfers_are_refused(server: DnsServer, rdtype: str) -> None:
    query = dns.message.make_query("example.test", rdtype)
    for tcp in (False, True):
        response = await exchange(server, query, tcp=tcp)
        assert response.rcode() == dns.rcode.REFUSED
        assert response.answer == []
    assert server.query_count(qtype=rdtype, rcode="REFUSED") == 2


async def test_the_ns_target_has_an_address_and_is_glued_to_the_ns_answer(
    server: DnsServer,
) -> None:
    target = await exchange(server, dns.message.make_query("ns1.example.test", "A"))
    assert target.rcode() == dns.rcode.NOERROR and target.flags & dns.flags.AA
    assert [r.address for r in target.answer[0]] == ["127.0.0.53"]  # where the server listens
    ns = await exchange(server, dns.message.make_query("example.test", "NS"))
    assert [str(r.target) for r in ns.answer[0]] == ["ns1.example.test."]
    (glue,) = ns.additional
    assert glue.rdtype == dns.rdatatype.A and [r.address for r in glue] == ["127.0.0.53"]
    aaaa = await exchange(server, dns.message.make_query("ns1.example.test", "AAAA"))
    assert aaaa.rcode() == dns.rcode.NOERROR and aaaa.answer == []  # NODATA, not NXDOMAIN


async def test_a_record_set_on_the_ns_name_wins(server: DnsServer) -> None:
    server.zone.set_addresses("ns1.example.test", ("127.0.0.54",))
    target = await exchange(server, dns.message.make_query("ns1.example.test", "A"))
    assert [r.address for r in target.answer[0]] == ["127.0.0.54"]
