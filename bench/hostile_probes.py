"""The event loop's worst stall while the world is probed with hostile input (docs/hardening.md).

One loop serves a DnsServer and a Region (as in a run); a 1 ms ticker task records the largest
gap between its wake-ups while each probe runs, and the probe notes what the client got back.

    python bench/hostile_probes.py [--only NAME ...]

Prints a markdown table: probe, worst loop stall (ms), outcome. Real time (perf_counter): the
figures are as noisy as the machine; compare them by order of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import struct
from collections.abc import Awaitable, Callable

import dns.message
import dns.rcode

from harness.probes import pointer_chain, worst_stall
from harness.scenario.model import RegionSpec
from harness.world.dns import DnsServer, Zone
from harness.world.region import Region

Probe = Callable[[DnsServer, Region], Awaitable[str]]
TARGET = "DynamoDB_20120810."


def long_name_query() -> bytes:
    query = struct.pack("!HHHHHH", 0x4321, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([63]) + b"a" * 63 for _ in range(5))  # 320 octets: over 255
    return query + labels + b"\x00" + struct.pack("!HH", 1, 1)


async def udp_exchange(server: DnsServer, packet: bytes, count: int) -> str:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.connect(server.address)
    replies = 0
    rcodes: set[str] = set()
    try:
        for _ in range(count):
            await loop.sock_sendall(sock, packet)
            try:
                async with asyncio.timeout(1.0):
                    data = await loop.sock_recv(sock, 65535)
            except TimeoutError:
                continue
            replies += 1
            rcodes.add(dns.rcode.to_text(data[3] & 0x0F))
    finally:
        sock.close()
    return f"{replies}/{count} replies {','.join(sorted(rcodes)) or ''}".strip()


async def tcp_frame(server: DnsServer, packet: bytes) -> str:
    reader, writer = await asyncio.open_connection(*server.address)
    writer.write(len(packet).to_bytes(2, "big") + packet)
    try:
        async with asyncio.timeout(10.0):
            head = await reader.readexactly(2)
            data = await reader.readexactly(int.from_bytes(head, "big"))
        return f"reply {dns.rcode.to_text(data[3] & 0x0F)}"
    except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        return "no reply (closed or timed out)"
    finally:
        writer.close()


async def probe_pointer_chain_udp(server: DnsServer, region: Region) -> str:
    return await udp_exchange(server, pointer_chain(4096), 10)


async def probe_pointer_chain_tcp(server: DnsServer, region: Region) -> str:
    return await tcp_frame(server, pointer_chain(65535))


async def probe_long_name(server: DnsServer, region: Region) -> str:
    return await udp_exchange(server, long_name_query(), 10)


async def probe_idle_tcp(server: DnsServer, region: Region) -> str:
    """Hold 500 idle DNS-over-TCP connections; ask over TCP during the flood, over UDP, and
    over TCP again 11 s later (past the idle timeout, if the server has one)."""
    held = [await asyncio.open_connection(*server.address) for _ in range(500)]
    query = dns.message.make_query("api.example.test", "A").to_wire()
    try:
        during = await tcp_frame(server, query)
        udp = await udp_exchange(server, query, 1)
        closed_at_once = sum(await asyncio.gather(*(_closed_within(r, 0.2) for r, _ in held)))
        await asyncio.sleep(11)
        closed_by_11s = sum(await asyncio.gather(*(_closed_within(r, 0.01) for r, _ in held)))
        after = await tcp_frame(server, query)
    finally:
        for _, writer in held:
            writer.close()
    return (
        f"TCP during: {during}; UDP: {udp}; server closed {closed_at_once} of 500 at once, "
        f"{closed_by_11s} by 11 s; TCP at 11 s: {after}"
    )


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            return await reader.read(1) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def http_post(region: Region, body: bytes, *, declared: int | None = None) -> str:
    reader, writer = await asyncio.open_connection(region.endpoint_addresses()[0], region.port)
    length = len(body) if declared is None else declared
    head = (
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"
        f"X-Amz-Target: {TARGET}PutItem\r\nContent-Length: {length}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    try:
        async with asyncio.timeout(15.0):
            status_line = await reader.readline()
            headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            size = int(headers.get("content-length", "0"))
            data = await reader.readexactly(size) if size else b""
    except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        return "no answer within 15 s"
    finally:
        writer.close()
    status = status_line.decode().split(" ", 2)[1] if status_line else "closed"
    kind = headers.get("content-type", "?").split(";")[0]
    try:
        code = str(json.loads(data).get("__type", "")).rsplit("#", 1)[-1]
    except ValueError:
        code = data[:40].decode(errors="replace").replace("\n", " ")
    return f"{status} {kind} {code}".strip()


async def probe_deep_json(server: DnsServer, region: Region) -> str:
    return await http_post(region, b"[" * 10_000 + b"]" * 10_000)


async def probe_big_body(server: DnsServer, region: Region) -> str:
    return await http_post(region, b" " * (2 * 1024 * 1024))


async def probe_big_item(server: DnsServer, region: Region) -> str:
    item = {"pk": {"S": "k"}, "blob": {"S": "x" * 900_000}}
    return await http_post(region, json.dumps({"TableName": "items", "Item": item}).encode())


async def probe_body_never_arrives(server: DnsServer, region: Region) -> str:
    return await http_post(region, b"", declared=100)


async def probe_nothing(server: DnsServer, region: Region) -> str:
    await asyncio.sleep(2.0)
    return "the noise floor: no probe, 2 s"


PROBES: dict[str, Probe] = {
    "baseline-idle": probe_nothing,
    "dns-pointer-chain-udp-4k-x10": probe_pointer_chain_udp,
    "dns-pointer-chain-tcp-64k": probe_pointer_chain_tcp,
    "dns-name-over-255-x10": probe_long_name,
    "dns-tcp-500-idle": probe_idle_tcp,
    "http-json-10000-deep": probe_deep_json,
    "http-body-2mb": probe_big_body,
    "http-item-900kb": probe_big_item,
    "http-body-never-arrives": probe_body_never_arrives,
}


async def main(only: list[str]) -> None:
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    zone.set_addresses("api.example.test", ("127.0.1.1",))
    spec = RegionSpec.model_validate(
        {"name": "us-east-1", "endpoints": 1, "rtt": 0.0, "service_time": 0.0}
    )
    region = Region(spec, ("127.0.78.1",), rng=random.Random(1))
    async with DnsServer(zone, rng=random.Random(1)) as server, region:
        print("| probe | worst loop stall (ms) | outcome |")
        print("|---|---:|---|")
        for name, probe in PROBES.items():
            if only and name not in only:
                continue
            stall, outcome = await worst_stall(probe(server, region))
            print(f"| {name} | {stall * 1000:.1f} | {outcome} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], choices=sorted(PROBES))
    asyncio.run(main(parser.parse_args().only))
