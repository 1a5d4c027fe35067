"""The server seen by a real-world tool: `dig` (bind9-dnsutils). Skipped when dig is not on PATH."""

from __future__ import annotations

import asyncio
import random
import shutil
from collections.abc import AsyncIterator

import pytest

from harness.world.control import DnsOverride
from harness.world.dns import DnsServer, Zone

pytestmark = pytest.mark.skipif(shutil.which("dig") is None, reason="dig is not installed")

NAME = "api.example.test"
BIG = "big.example.test"


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    zone.set_addresses(NAME, ("127.0.1.1", "127.0.1.2"))
    zone.set_addresses(BIG, tuple(f"127.0.2.{i}" for i in range(1, 61)))
    async with DnsServer(zone, rng=random.Random(0)) as running:
        yield running


async def dig(server: DnsServer, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "dig", f"@{server.host}", "-p", str(server.port), "+norec", "+time=2", "+tries=1", *args,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    return out.decode()


async def test_dig_gets_the_a_records(server: DnsServer) -> None:
    out = await dig(server, NAME, "A", "+noall", "+answer", "+comments")
    assert "status: NOERROR" in out and " aa" in out
    records = [line.split() for line in out.splitlines() if line and not line.startswith(";")]
    assert records == [
        ["api.example.test.", "30", "IN", "A", "127.0.1.1"],
        ["api.example.test.", "30", "IN", "A", "127.0.1.2"],
    ]


async def test_dig_nxdomain_carries_the_soa(server: DnsServer) -> None:
    out = await dig(server, "missing.example.test")
    assert "status: NXDOMAIN" in out
    assert "ns1.example.test. hostmaster.example.test." in out


async def test_dig_servfail_override(server: DnsServer) -> None:
    server.zone.add_override(NAME, DnsOverride("servfail"))
    assert "status: SERVFAIL" in await dig(server, NAME)


async def test_dig_over_tcp(server: DnsServer) -> None:
    out = await dig(server, "+tcp", NAME)
    assert "status: NOERROR" in out and "127.0.1.2" in out


async def test_dig_sees_truncation_and_retries_over_tcp(server: DnsServer) -> None:
    truncated = await dig(server, "+ignore", "+noedns", BIG)
    assert " tc" in truncated and "ANSWER: 0" in truncated
    retried = await dig(server, "+noedns", BIG)
    assert "ANSWER: 60" in retried and "127.0.2.60" in retried
    assert "Truncated, retrying in TCP mode" in retried
