"""DnsResolver: cache modes on the loop clock, serve-stale, pinning, coalescing, events.

Every test runs against the real DnsServer under the virtual clock; the server's query counter is
the witness of what went to the wire.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from harness.client.resolver import DnsLookupError, DnsResolver
from harness.clock import Clock
from harness.events import DnsLookup, EventBus
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import DnsSettings
from harness.world.control import DnsOverride
from harness.world.dns import DnsServer, Zone

pytestmark = pytest.mark.looptime

NAME = "api.example.test"
OLD = ("127.0.1.1",)
NEW = ("127.0.1.9",)


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    zone.set_addresses(NAME, OLD)
    async with DnsServer(zone, rng=random.Random(0)) as running:
        yield running


class Harness:
    """A resolver plus the events it emitted."""

    def __init__(self, server: DnsServer, **settings: Any) -> None:
        bus = EventBus()
        self.events: list[DnsLookup] = []
        bus.subscribe(DnsLookup, self.events.append)
        self.server = server
        self.resolver = DnsResolver(
            server.address,
            DnsSettings(**settings),
            clock=Clock.for_running_loop(),
            bus=bus,
            strategy="test",
        )

    async def addresses(self, name: str = NAME) -> tuple[str, ...]:
        results = await self.resolver.resolve(name, 443)
        assert all(r["port"] == 443 and r["family"] == socket.AF_INET for r in results)
        return tuple(r["host"] for r in results)

    async def error(self, name: str = NAME) -> DnsLookupError:
        with pytest.raises(DnsLookupError) as caught:
            await self.resolver.resolve(name)
        return caught.value

    @property
    def sources(self) -> list[tuple[str, str]]:
        return [(e.result, e.source) for e in self.events]

    @property
    def queries(self) -> int:
        return self.server.query_count(NAME)


@pytest.fixture
async def make(server: DnsServer) -> AsyncIterator[Any]:
    made: list[Harness] = []

    def factory(**settings: Any) -> Harness:
        made.append(Harness(server, **settings))
        return made[-1]

    yield factory
    for harness in made:
        await harness.resolver.close()


# ---- failures map to outcomes -----------------------------------------------------------------


async def test_every_failure_kind_maps_to_its_outcome(server: DnsServer, make: Any) -> None:
    h = make(cache="none", query_timeout=1.0, query_attempts=1)
    zone = server.zone
    zone.delete(NAME)
    assert (await h.error()).outcome is Outcome.DNS_NXDOMAIN
    zone.empty(NAME)
    assert (await h.error()).outcome is Outcome.DNS_NODATA
    handle = zone.add_override(NAME, DnsOverride("servfail"))
    assert (await h.error()).outcome is Outcome.DNS_SERVFAIL
    zone.remove_override(handle)
    zone.add_override(NAME, DnsOverride("drop"))
    assert (await h.error()).outcome is Outcome.DNS_TIMEOUT
    assert h.sources == [
        ("dns_nxdomain", "wire"),
        ("dns_nodata", "wire"),
        ("dns_servfail", "wire"),
        ("dns_timeout", "wire"),
    ]


async def test_ipv6_is_not_served(make: Any) -> None:
    h = make()
    with pytest.raises(DnsLookupError) as caught:
        await h.resolver.resolve(NAME, 80, family=socket.AF_INET6)
    assert caught.value.outcome is Outcome.DNS_NODATA


# ---- none / ttl -------------------------------------------------------------------------------


async def test_no_cache_queries_every_time(make: Any) -> None:
    h = make(cache="none")
    for _ in range(3):
        assert await h.addresses() == OLD
    assert h.queries == 3
    assert h.sources == [("ok", "wire")] * 3


async def test_ttl_cache_expires_on_the_loop_clock(server: DnsServer, make: Any) -> None:
    h = make(cache="ttl")
    assert await h.addresses() == OLD
    server.zone.set_addresses(NAME, NEW)
    await asyncio.sleep(29.9)
    assert await h.addresses() == OLD  # still fresh: record TTL is 30 s
    await asyncio.sleep(0.2)
    assert await h.addresses() == NEW
    assert h.queries == 2
    assert h.sources == [("ok", "wire"), ("ok", "cache"), ("ok", "wire")]


async def test_min_ttl_floor(server: DnsServer, make: Any) -> None:
    h = make(cache="ttl", min_ttl=120.0)
    await h.addresses()
    await asyncio.sleep(100)
    assert await h.addresses() == OLD
    assert h.queries == 1


async def test_negative_answers_are_cached_for_the_negative_ttl(
    server: DnsServer, make: Any
) -> None:
    h = make(cache="ttl")
    server.zone.delete(NAME)
    assert (await h.error()).source == "wire"
    server.zone.set_addresses(NAME, NEW)
    await asyncio.sleep(4.9)
    cached = await h.error()
    assert (cached.outcome, cached.source) == (Outcome.DNS_NXDOMAIN, "negative_cache")
    await asyncio.sleep(0.2)
    assert await h.addresses() == NEW
    assert h.queries == 2
    assert h.sources == [
        ("dns_nxdomain", "wire"),
        ("dns_nxdomain", "negative_cache"),
        ("ok", "wire"),
    ]


async def test_nodata_is_negatively_cached_too(server: DnsServer, make: Any) -> None:
    h = make(cache="ttl")
    server.zone.empty(NAME)
    await h.error()
    assert (await h.error()).source == "negative_cache"
    assert h.queries == 1


async def test_servfail_and_timeouts_are_not_cached(server: DnsServer, make: Any) -> None:
    h = make(cache="ttl", query_timeout=0.5, query_attempts=1)
    handle = server.zone.add_override(NAME, DnsOverride("servfail"))
    await h.error()
    await h.error()
    server.zone.remove_override(handle)
    server.zone.add_override(NAME, DnsOverride("drop"))
    await h.error()
    await h.error()
    assert h.queries == 4
    assert [source for _, source in h.sources] == ["wire"] * 4


# ---- serve-stale (RFC 8767) -------------------------------------------------------------------


async def test_serve_stale_keeps_the_old_address_while_the_record_is_empty(
    server: DnsServer, make: Any
) -> None:
    h = make(cache="serve-stale", recheck=30.0, stale_ttl=30.0)
    assert await h.addresses() == OLD
    server.zone.empty(NAME)  # the 2025-10-20 failure
    await asyncio.sleep(31)
    assert await h.addresses() == OLD
    assert h.sources[-1] == ("ok", "stale")
    assert h.queries == 2  # the failed refresh
    for _ in range(100):  # one lookup a second for 100 s
        assert await h.addresses() == OLD
        await asyncio.sleep(1)
    # rechecks at most every 30 s: at +30, +60, +90 after the first failure
    assert h.queries == 2 + 3
    server.zone.set_addresses(NAME, NEW)  # the record is repaired
    await asyncio.sleep(30)
    assert await h.addresses() == NEW
    assert h.sources[-1] == ("ok", "wire")
    assert await h.addresses() == NEW
    assert h.sources[-1] == ("ok", "cache")


async def test_serve_stale_gives_up_after_max_stale(server: DnsServer, make: Any) -> None:
    h = make(cache="serve-stale", max_stale=300.0, recheck=30.0)
    await h.addresses()
    server.zone.delete(NAME)
    await asyncio.sleep(31)
    assert await h.addresses() == OLD
    await asyncio.sleep(300)  # 30 s TTL + 300 s max stale have passed
    assert (await h.error()).outcome is Outcome.DNS_NXDOMAIN


async def test_serve_stale_without_an_old_answer_behaves_like_ttl(
    server: DnsServer, make: Any
) -> None:
    h = make(cache="serve-stale")
    server.zone.empty(NAME)
    assert (await h.error()).source == "wire"
    assert (await h.error()).source == "negative_cache"


async def test_response_timer_answers_stale_and_refresh_finishes_in_background(
    server: DnsServer, make: Any
) -> None:
    h = make(cache="serve-stale", response_timer=1.8, query_timeout=10.0)
    await h.addresses()
    await asyncio.sleep(31)
    server.zone.set_addresses(NAME, NEW)
    server.zone.add_override(NAME, DnsOverride("delay", delay=5.0))
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await h.addresses() == OLD
    assert loop.time() - start == pytest.approx(1.8, abs=0.01)
    assert h.sources[-1] == ("ok", "stale")
    await asyncio.sleep(4)  # the slow answer landed at +5 s and refreshed the cache
    assert await h.addresses() == NEW
    assert h.sources[-1] == ("ok", "cache")
    assert h.queries == 2


async def test_response_timer_with_a_dead_server(server: DnsServer, make: Any) -> None:
    h = make(cache="serve-stale", response_timer=1.8, query_timeout=1.0, query_attempts=3)
    await h.addresses()
    await asyncio.sleep(31)
    server.zone.add_override(NAME, DnsOverride("drop"))
    assert await h.addresses() == OLD
    await asyncio.sleep(10)  # background refresh timed out: that is a failure, recheck starts
    assert await h.addresses() == OLD
    assert h.sources[-2:] == [("ok", "stale"), ("ok", "stale")]
    assert server.query_count(NAME, rcode="DROPPED") == 3


async def test_close_cancels_a_background_refresh(server: DnsServer, make: Any) -> None:
    h = make(cache="serve-stale", response_timer=0.5, query_timeout=60.0)
    await h.addresses()
    await asyncio.sleep(31)
    server.zone.add_override(NAME, DnsOverride("drop"))
    await h.addresses()
    assert h.resolver._tasks  # the refresh is still waiting for its answer
    await h.resolver.close()
    assert not h.resolver._tasks


# ---- pinned -----------------------------------------------------------------------------------


async def test_pinned_resolves_once_and_never_again(server: DnsServer, make: Any) -> None:
    h = make(cache="pinned")
    assert await h.addresses() == OLD
    server.zone.delete(NAME)
    await asyncio.sleep(86400)
    assert await h.addresses() == OLD
    assert h.queries == 1
    assert h.sources == [("ok", "wire"), ("ok", "pinned")]


async def test_pinned_retries_a_failed_first_resolution(server: DnsServer, make: Any) -> None:
    h = make(cache="pinned")
    server.zone.delete(NAME)
    await h.error()
    await h.error()  # negative answers are not kept: asked again
    server.zone.set_addresses(NAME, NEW)
    assert await h.addresses() == NEW
    assert await h.addresses() == NEW
    assert h.queries == 3


# ---- coalescing, rotation ---------------------------------------------------------------------


async def test_concurrent_lookups_share_one_query(server: DnsServer, make: Any) -> None:
    h = make(cache="none")
    server.zone.add_override(NAME, DnsOverride("delay", delay=0.5))
    results = await asyncio.gather(*(h.addresses() for _ in range(50)))
    assert set(results) == {OLD}
    assert h.queries == 1
    assert len(h.events) == 50
    assert await h.addresses() == OLD  # the next one is a new query
    assert h.queries == 2


async def test_a_cancelled_waiter_does_not_cancel_the_shared_query(
    server: DnsServer, make: Any
) -> None:
    h = make(cache="ttl", query_timeout=5.0)
    server.zone.add_override(NAME, DnsOverride("delay", delay=1.0))
    impatient = asyncio.ensure_future(h.addresses())
    patient = asyncio.ensure_future(h.addresses())
    await asyncio.sleep(0.5)
    impatient.cancel()
    assert await patient == OLD
    assert impatient.cancelled()
    assert h.queries == 1


async def test_addresses_are_rotated_round_robin(server: DnsServer, make: Any) -> None:
    server.zone.set_addresses(NAME, ("127.0.1.1", "127.0.1.2", "127.0.1.3"))
    h = make(cache="ttl")
    firsts = [(await h.addresses())[0] for _ in range(6)]
    assert firsts == ["127.0.1.1", "127.0.1.2", "127.0.1.3"] * 2
    assert sorted(await h.addresses()) == ["127.0.1.1", "127.0.1.2", "127.0.1.3"]


async def test_a_shared_failure_raises_one_error_per_waiter(server: DnsServer, make: Any) -> None:
    h = make(cache="ttl")
    server.zone.add_override(NAME, DnsOverride("servfail"))
    results = await asyncio.gather(*(h.addresses() for _ in range(20)), return_exceptions=True)
    assert all(isinstance(r, DnsLookupError) for r in results)
    assert {r.outcome for r in results if isinstance(r, DnsLookupError)} == {Outcome.DNS_SERVFAIL}
    assert len({id(r) for r in results}) == 20
    assert h.queries == 1
