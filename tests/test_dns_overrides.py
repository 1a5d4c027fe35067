"""Override modes on the wire, under the virtual clock (looptime)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from harness.events import EventBus, ZoneChanged
from harness.world.control import DnsOverride
from harness.world.dns import DnsServer, Zone

pytestmark = pytest.mark.looptime

NAME = "api.example.test"
OTHER = "other.example.test"


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    zone.set_addresses(NAME, ("127.0.1.1",))
    zone.set_addresses(OTHER, ("127.0.1.2",))
    async with DnsServer(zone, rng=random.Random(1234)) as running:
        yield running


async def ask(
    server: DnsServer, name: str = NAME, *, tcp: bool = False, timeout: float = 2.0
) -> dns.message.Message:
    query = dns.message.make_query(name, "A")
    async with asyncio.timeout(timeout):
        if tcp:
            return await dns.asyncquery.tcp(query, server.host, port=server.port)
        return await dns.asyncquery.udp(query, server.host, port=server.port)


def addresses(response: dns.message.Message) -> list[str]:
    return [r.address for s in response.answer if s.rdtype == dns.rdatatype.A for r in s]


@pytest.mark.parametrize("tcp", [False, True])
async def test_nodata_override(server: DnsServer, tcp: bool) -> None:
    server.zone.add_override(NAME, DnsOverride("nodata"))
    response = await ask(server, tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR and response.answer == []
    assert response.authority[0].rdtype == dns.rdatatype.SOA


@pytest.mark.parametrize("tcp", [False, True])
async def test_nxdomain_override(server: DnsServer, tcp: bool) -> None:
    server.zone.add_override(NAME, DnsOverride("nxdomain"))
    response = await ask(server, tcp=tcp)
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.authority[0].rdtype == dns.rdatatype.SOA


@pytest.mark.parametrize("tcp", [False, True])
async def test_servfail_override(server: DnsServer, tcp: bool) -> None:
    server.zone.add_override(NAME, DnsOverride("servfail"))
    assert (await ask(server, tcp=tcp)).rcode() == dns.rcode.SERVFAIL
    assert server.query_count(NAME, rcode="SERVFAIL") == 1


async def test_addresses_override_and_its_removal(server: DnsServer) -> None:
    handle = server.zone.add_override(
        NAME, DnsOverride("addresses", addresses=("127.0.7.1", "127.0.7.2"))
    )
    assert addresses(await ask(server)) == ["127.0.7.1", "127.0.7.2"]
    assert addresses(await ask(server, OTHER)) == ["127.0.1.2"]  # other names untouched
    server.zone.remove_override(handle)
    assert addresses(await ask(server)) == ["127.0.1.1"]


async def test_rate_zero_has_no_effect(server: DnsServer) -> None:
    for mode in ("nodata", "nxdomain", "servfail", "drop"):
        server.zone.add_override(NAME, DnsOverride(mode, rate=0.0))
    for _ in range(20):
        assert addresses(await ask(server)) == ["127.0.1.1"]
    assert server.query_count(NAME, rcode="NOERROR") == 20


async def test_rate_half_fires_on_about_half_the_queries(server: DnsServer) -> None:
    server.zone.add_override(NAME, DnsOverride("servfail", rate=0.5))
    rcodes = [(await ask(server)).rcode() for _ in range(200)]
    failed = rcodes.count(dns.rcode.SERVFAIL)
    assert 70 <= failed <= 130
    assert failed + rcodes.count(dns.rcode.NOERROR) == 200
    assert server.query_count(NAME, rcode="SERVFAIL") == failed


async def test_rate_half_is_repeatable_with_the_same_seed() -> None:
    async def run() -> list[int]:
        zone = Zone("example.test", ttl=30, negative_ttl=5)
        zone.set_addresses(NAME, ("127.0.1.1",))
        zone.add_override(NAME, DnsOverride("nxdomain", rate=0.5))
        async with DnsServer(zone, rng=random.Random(99)) as dns_server:
            return [(await ask(dns_server)).rcode() for _ in range(40)]

    assert await run() == await run()


async def test_drop_gets_no_reply_and_the_client_times_out(server: DnsServer) -> None:
    server.zone.add_override(NAME, DnsOverride("drop"))
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(TimeoutError):
        await ask(server, timeout=3.0)
    assert loop.time() - start == pytest.approx(3.0, abs=0.01)
    assert server.query_count(NAME, rcode="DROPPED") == 1
    assert addresses(await ask(server, OTHER)) == ["127.0.1.2"]


async def test_delay_advances_loop_time_without_blocking_other_queries(
    server: DnsServer,
) -> None:
    server.zone.add_override(NAME, DnsOverride("delay", delay=5.0, jitter=1.0))
    loop = asyncio.get_running_loop()
    start = loop.time()
    finished: dict[str, float] = {}

    async def timed(name: str) -> list[str]:
        response = await ask(server, name, timeout=10.0)
        finished[name] = loop.time() - start
        return addresses(response)

    slow, fast = await asyncio.gather(timed(NAME), timed(OTHER))
    assert slow == ["127.0.1.1"] and fast == ["127.0.1.2"]
    assert finished[OTHER] < 0.01
    assert 5.0 <= finished[NAME] <= 6.0


async def test_delay_over_tcp(server: DnsServer) -> None:
    server.zone.add_override(NAME, DnsOverride("delay", delay=2.0))
    loop = asyncio.get_running_loop()
    start = loop.time()
    response = await ask(server, tcp=True, timeout=5.0)
    assert addresses(response) == ["127.0.1.1"]
    assert loop.time() - start == pytest.approx(2.0, abs=0.01)


async def test_delay_composes_with_nodata(server: DnsServer) -> None:
    server.zone.add_override(NAME, DnsOverride("nodata"))
    server.zone.add_override(NAME, DnsOverride("delay", delay=1.0))
    loop = asyncio.get_running_loop()
    start = loop.time()
    response = await ask(server)
    assert response.rcode() == dns.rcode.NOERROR and response.answer == []
    assert loop.time() - start == pytest.approx(1.0, abs=0.01)


async def test_remove_override_restores_normal_answers(server: DnsServer) -> None:
    handles = [
        server.zone.add_override(NAME, DnsOverride("servfail")),
        server.zone.add_override(NAME, DnsOverride("nxdomain")),
    ]
    assert (await ask(server)).rcode() == dns.rcode.NXDOMAIN
    server.zone.remove_override(handles[1])
    assert (await ask(server)).rcode() == dns.rcode.SERVFAIL
    server.zone.remove_override(handles[0])
    server.zone.remove_override(handles[0])
    assert addresses(await ask(server)) == ["127.0.1.1"]


async def test_zone_changed_events_carry_loop_time() -> None:
    bus = EventBus()
    events: list[ZoneChanged] = []
    bus.subscribe(ZoneChanged, events.append)
    zone = Zone("example.test", ttl=30, negative_ttl=5, bus=bus)  # clock: the running loop
    loop = asyncio.get_running_loop()
    start = loop.time()
    zone.set_addresses(NAME, ("127.0.1.1",))
    await asyncio.sleep(600)  # virtual: no real waiting
    handle = zone.add_override(NAME, DnsOverride("nodata"))
    await asyncio.sleep(2.5)
    zone.remove_override(handle)
    assert [(e.change, round(e.at - start, 6)) for e in events] == [
        ("set", 0.0),
        ("override_added", 600.0),
        ("override_removed", 602.5),
    ]
