"""Queries per second answered by the harness's DnsServer over UDP.

Two loads, each for --seconds of real time:
- in-process: --clients concurrent dnspython clients in the server's own event loop, each with
  its own UDP socket, one query outstanding at a time (what the harness does under a virtual clock:
  clients and server share one loop);
- second process (dnsperf-like): a plain blocking UDP socket in another process keeping --window
  queries outstanding, so the server's core is the limit.

    python bench/dns_qps.py [--seconds 3] [--clients 32] [--window 64] [--mode both]

Prints one line. Real time is measured with perf_counter (a benchmark, not behaviour).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sys
import time

import dns.asyncbackend
import dns.asyncquery
import dns.message

from harness.world.dns import DnsServer, Zone

NAME = "dynamodb.us-east-1.bench.test"


async def in_process(server: DnsServer, clients: int, seconds: float) -> float:
    backend = dns.asyncbackend.get_backend("asyncio")
    query = dns.message.make_query(NAME, "A")
    deadline = time.perf_counter() + seconds
    answered = 0

    async def client() -> None:
        nonlocal answered
        sock = await backend.make_socket(  # type: ignore[no-untyped-call]
            socket.AF_INET, socket.SOCK_DGRAM, 0, ("127.0.0.1", 0)
        )
        async with sock:
            while time.perf_counter() < deadline:
                await dns.asyncquery.udp(query, server.host, port=server.port, sock=sock)
                answered += 1

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(clients):
            group.create_task(client())
    return answered / (time.perf_counter() - start)


async def second_process(server: DnsServer, window: int, seconds: float) -> float:
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--load", server.host, str(server.port), str(window),
        str(seconds), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    return float(out.decode().strip())


def load(host: str, port: int, window: int, seconds: float) -> float:
    """The second process: keep `window` queries in flight, count answers per second."""
    wire = bytearray(dns.message.make_query(NAME, "A").to_wire())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((host, port))
        sock.settimeout(0.5)
        ident = 0

        def send() -> None:
            nonlocal ident
            ident = (ident + 1) & 0xFFFF
            wire[0:2] = ident.to_bytes(2, "big")
            sock.send(wire)

        for _ in range(window):
            send()
        answered = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            try:
                sock.recv(4096)
                answered += 1
            except TimeoutError:  # a lost datagram: refill the window
                for _ in range(window):
                    send()
                continue
            send()
        return answered / (time.perf_counter() - start)


async def main(args: argparse.Namespace) -> str:
    zone = Zone("bench.test", ttl=5, negative_ttl=5)
    zone.set_addresses(NAME, ("127.0.1.1", "127.0.1.2", "127.0.1.3"))
    parts = []
    async with DnsServer(zone, rng=random.Random(0)) as server:
        if args.mode in ("both", "inproc"):
            qps = await in_process(server, args.clients, args.seconds)
            parts.append(f"in-process {args.clients} dnspython clients: {qps:,.0f} q/s")
        if args.mode in ("both", "process"):
            qps = await second_process(server, args.window, args.seconds)
            parts.append(f"second-process load, window {args.window}: {qps:,.0f} q/s")
        total = sum(c.count for c in server.stats())
    return f"dns_qps: {'; '.join(parts)} (UDP, {total:,} queries answered in all)"


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--load":
        _, _, host, port, window, seconds = sys.argv
        print(f"{load(host, int(port), int(window), float(seconds)):.1f}")
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--mode", choices=["both", "inproc", "process"], default="both")
    print(asyncio.run(main(parser.parse_args())))
