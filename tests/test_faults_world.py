"""The fault injector against a real world: an independent DNS client (dnspython, and dig when
present) sees the record emptied during dns.nodata and its addresses again after the revert; the
journal records both on schedule."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import dns.asyncquery
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from harness.clock import Clock
from harness.events import EventBus
from harness.faults.injector import FaultInjector
from harness.scenario import parse_scenario
from harness.world.world import World

SCENARIO = """
name: faults-world
duration: 10s
regions:
  - {name: us-east-1, endpoints: 3}
  - {name: us-west-2, endpoints: 2}
timeline:
  - {fault: dns.nodata, target: us-east-1, at: 2s, duration: 3s}
  - {fault: endpoint.down, target: {region: us-west-2, endpoints: [0]}, at: 1s, duration: 2s}
"""


async def a_records(host: str, port: int, name: str) -> tuple[int, list[str], bool]:
    query = dns.message.make_query(name, dns.rdatatype.A)
    reply = await dns.asyncquery.udp(query, host, port=port, timeout=2)
    addresses = sorted(r.address for rrset in reply.answer for r in rrset)
    has_soa = any(rrset.rdtype == dns.rdatatype.SOA for rrset in reply.authority)
    return reply.rcode(), addresses, has_soa


@pytest.mark.looptime
async def test_nodata_fault_is_visible_on_the_wire_and_reverted_on_schedule() -> None:
    scenario = parse_scenario(SCENARIO)
    clock = Clock.for_running_loop()
    async with World(scenario, bus=EventBus(), owner="t") as world:
        name = world.dns_name("us-east-1")
        host, port = world.dns.host, world.dns.port
        expected = sorted(world.addresses["us-east-1"])
        injector = FaultInjector(
            world, scenario.timeline, clock=clock, bus=EventBus(), duration=scenario.duration
        )
        origin = clock.now()
        task = asyncio.get_running_loop().create_task(injector.run(origin))
        try:
            await asyncio.sleep(1.0)
            assert await a_records(host, port, name) == (dns.rcode.NOERROR, expected, False)
            await asyncio.sleep(2.0)  # t = 3 s: inside the fault
            assert await a_records(host, port, name) == (dns.rcode.NOERROR, [], True)
            assert ("dns.nodata", "us-east-1") in injector.active()
            await asyncio.sleep(3.0)  # t = 6 s: reverted at 5 s
            assert await a_records(host, port, name) == (dns.rcode.NOERROR, expected, False)
        finally:
            await injector.revert_all("end_of_run")
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    faults = {f["fault"]: f for f in injector.journal.faults_summary()}
    nodata = faults["dns.nodata"]
    assert nodata["applied_at"] == pytest.approx(2.0, abs=0.002)
    assert nodata["reverted_at"] == pytest.approx(5.0, abs=0.002)
    assert nodata["revert_reason"] == "scheduled"
    down = faults["endpoint.down"]
    assert down["applied_at"] == pytest.approx(1.0, abs=0.002)
    assert down["reverted_at"] == pytest.approx(3.0, abs=0.002)


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig is not installed")
async def test_dig_sees_the_emptied_record_and_then_the_addresses() -> None:
    scenario = parse_scenario(
        SCENARIO.replace("at: 2s, duration: 3s", "at: 0s, duration: 1h").replace(
            "duration: 10s", "duration: 2h"
        )
    )
    clock = Clock.for_running_loop()
    async with World(scenario, bus=EventBus(), owner="t") as world:
        name = world.dns_name("us-east-1")
        injector = FaultInjector(
            world, scenario.timeline[:1], clock=clock, bus=EventBus(), duration=scenario.duration
        )
        task = asyncio.get_running_loop().create_task(injector.run(clock.now()))

        def dig() -> str:
            return subprocess.run(
                [
                    "dig",
                    "+short",
                    "+tries=1",
                    "+time=2",
                    f"@{world.dns.host}",
                    "-p",
                    str(world.dns.port),
                    name,
                    "A",
                ],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout

        try:
            await asyncio.sleep(0.1)
            assert await asyncio.to_thread(dig) == ""  # NODATA: no addresses
            await injector.revert_all("end_of_run")
            shown = (await asyncio.to_thread(dig)).split()
            assert sorted(shown) == sorted(world.addresses["us-east-1"])
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
