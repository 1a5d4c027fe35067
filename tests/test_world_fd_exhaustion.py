"""Out of file descriptors: a world whose process may open only 64 is flooded with idle
connections. It logs one line (not a traceback per accept), keeps serving, and answers DNS over
TCP and HTTP again once the connections go. Real time, in a child process (its own fd limit)."""

from __future__ import annotations

import asyncio
import sys
import textwrap

import dns.asyncquery
import dns.message
import dns.rcode

CHILD = textwrap.dedent(
    """
    import asyncio, logging, random, resource, sys
    from harness.scenario.model import RegionSpec
    from harness.world.dns import DnsServer, Zone
    from harness.world.region import Region

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    async def main() -> None:
        zone = Zone("example.test", ttl=30, negative_ttl=5)
        zone.set_addresses("api.example.test", ("127.0.1.1",))
        spec = RegionSpec.model_validate(
            {"name": "us-east-1", "endpoints": 1, "rtt": 0.0, "service_time": 0.0}
        )
        region = Region(spec, ("127.0.82.1",), rng=random.Random(1))
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(sys.stdin.fileno(), done.set)
        async with DnsServer(zone, rng=random.Random(1)) as server, region:
            print(server.port, region.port, flush=True)
            await done.wait()

    asyncio.run(main())
    """
)


async def http_health(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.82.1", port)
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        return await reader.readline()
    finally:
        writer.close()


async def test_running_out_of_file_descriptors_logs_once_and_recovers() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    stderr_read = asyncio.create_task(child.stderr.read())  # drained as it comes: never blocks
    try:
        async with asyncio.timeout(20):
            dns_port, http_port = map(int, (await child.stdout.readline()).split())
            held = []
            for port, host, count in ((dns_port, "127.0.0.1", 90), (http_port, "127.0.82.1", 20)):
                for _ in range(count):  # beyond 64 fds: accepts fail, the backlog holds the rest
                    held.append(await asyncio.open_connection(host, port))
            await asyncio.sleep(2.5)  # asyncio retries a failed accept every second
            for _, writer in held:
                writer.close()
            await asyncio.sleep(1.5)
            query = dns.message.make_query("api.example.test", "A")
            answer = await dns.asyncquery.tcp(query, "127.0.0.1", port=dns_port, timeout=3)
            assert answer.rcode() == dns.rcode.NOERROR
            assert (await http_health(http_port)).startswith(b"HTTP/1.1 200")
            child.stdin.close()
            await child.wait()
            stderr = (await stderr_read).decode()
    finally:
        stderr_read.cancel()
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == 0
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if "cannot accept connections" in line]
    assert len(lines) == 1, stderr[:2000]
    assert "Too many open files" in lines[0]
