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


async def test_dig_notify_opcode_gets_notimp_with_the_opcode(server: DnsServer) -> None:
    out = await dig(server, "+opcode=notify", NAME)
    assert "opcode: NOTIFY, status: NOTIMP" in out


async def test_dig_edns_version_1_gets_badvers(server: DnsServer) -> None:
    out = await dig(server, "+edns=1", "+noednsnegotiation", NAME)
    assert "status: BADVERS" in out and "EDNS: version: 0" in out


async def test_dig_chaos_class_is_refused(server: DnsServer) -> None:
    out = await dig(server, "-c", "CH", "version.bind", "TXT")
    assert "status: REFUSED" in out and "ANSWER: 0" in out
    out = await dig(server, "-c", "CH", NAME, "A")
    assert "status: REFUSED" in out and "127.0.1.1" not in out


async def test_dig_axfr_is_refused(server: DnsServer) -> None:
    out = await dig(server, "example.test", "AXFR")
    assert "Transfer failed" in out
    assert "127.0.1.1" not in out


async def test_dig_ns_target_resolves(server: DnsServer) -> None:
    out = await dig(server, "example.test", "NS")
    assert "ns1.example.test.\t30\tIN\tA\t127.0.0.1" in out.replace("  ", "\t")
    out = await dig(server, "ns1.example.test", "A")
    assert "status: NOERROR" in out and "127.0.0.1" in out
