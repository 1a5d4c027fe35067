"""Requests/s of HttpTransport.send vs a bare aiohttp loop against the same zero-latency endpoint.

    /work/venv/bin/python bench/transport_rps.py [--seconds 3] [--rounds 5] [--concurrency 64]
                                                 [--server stand-in|region]

The endpoint runs in a separate process (one core for the server, one for the client, as in
shared/reference/libraries.md): a minimal DynamoDB-protocol stand-in, or a real Region with zero
rtt and service time. Both clients keep connections alive with a pool of `concurrency`
connections and send the same GetItem; the transport resolves its name through a static
in-process resolver (with keep-alive, DNS is off the hot path either way). Rounds alternate
bare/transport. Printed: median requests/s, and requests per client CPU second (what one client
core could do: far less sensitive to a busy machine); ratios are medians of per-round ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import random
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.client.api import Request
from harness.client.dynamo_client import CONTENT_TYPE, TARGETS, encode
from harness.client.transport import HttpTransport
from harness.clock import Clock
from harness.events import EventBus
from harness.outcomes import Outcome
from harness.scenario.model import CapacitySpec, RegionSpec
from harness.scenario.strategy_spec import PoolSettings
from harness.scenario.types import LatencySpec
from harness.world.region import Region

NAME = "dynamodb.bench-1.aws.test"
HOST = "127.0.0.1"


# ---- the endpoint (server process) --------------------------------------------------------------


async def _handle(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(
        body=b"{}",
        content_type=CONTENT_TYPE,
        headers={"x-harness-region": "bench-1", "x-harness-version": "1.0"},
    )


def _serve(pipe: Connection, kind: str) -> None:
    async def stand_in() -> AsyncIterator[int]:
        app = web.Application()
        app.router.add_post("/", _handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, HOST, 0, backlog=1024)
            await site.start()
            server = site._server
            assert isinstance(server, asyncio.Server)
            yield server.sockets[0].getsockname()[1]
        finally:
            await runner.cleanup()

    async def region() -> AsyncIterator[int]:
        spec = RegionSpec(
            name="bench-1",
            endpoints=1,
            rtt=0.0,
            service_time=LatencySpec(median=0.0, p99=0.0),
            capacity=CapacitySpec(concurrency=10_000, queue=0),
        )
        async with Region(spec, (HOST,), rng=random.Random(1)) as served:
            yield served.port

    async def main() -> None:
        async with contextlib.asynccontextmanager(
            region if kind == "region" else stand_in
        )() as port:
            pipe.send(port)
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # until told to stop

    asyncio.run(main())


# ---- the clients --------------------------------------------------------------------------------


class StaticResolver(AbstractResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host, host=HOST, port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


Send = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class Run:
    requests: int
    wall: float  # seconds of loop time
    cpu: float  # client process CPU seconds in the same window

    @property
    def rps(self) -> float:
        return self.requests / self.wall

    @property
    def per_cpu_second(self) -> float:
        """Requests per client CPU second: what one client core could do, less noisy than rps."""
        return self.requests / self.cpu


async def _drive(send: Send, seconds: float, concurrency: int) -> Run:
    loop = asyncio.get_running_loop()
    done = 0
    failed = 0

    async def worker(end: float) -> None:
        nonlocal done, failed
        while loop.time() < end:
            if await send():
                done += 1
            else:
                failed += 1

    await asyncio.gather(*(worker(loop.time() + 0.5) for _ in range(concurrency)))  # warm-up
    done = failed = 0
    start, cpu_start = loop.time(), time.process_time()  # measurement only
    await asyncio.gather(*(worker(start + seconds) for _ in range(concurrency)))
    run = Run(done, loop.time() - start, time.process_time() - cpu_start)
    if failed:
        raise RuntimeError(f"{failed} requests failed")
    return run


def _request() -> Request:
    return Request(id=1, op="get", key="k1", intended_start=0.0, deadline=1e12)


async def bare(port: int, seconds: float, concurrency: int) -> Run:
    """A bare aiohttp loop: the same POST, no timeout scope, no classification."""
    body = encode(_request(), "harness")
    headers = {"Host": NAME, "Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGETS["get"]}
    url = f"http://{HOST}:{port}/"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send() -> bool:
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                return resp.status == 200

        return await _drive(send, seconds, concurrency)


async def transport(port: int, seconds: float, concurrency: int) -> Run:
    client = HttpTransport(
        strategy="bench",
        endpoints={"bench-1": NAME},
        port=port,
        resolver=StaticResolver(),
        pool=PoolSettings(limit=concurrency),
        clock=Clock.for_running_loop(),
        bus=EventBus(),
    )
    request = _request()
    async with client:

        async def send() -> bool:
            result = await client.send(request, "bench-1", timeout=5.0)
            return result.outcome is Outcome.OK

        return await _drive(send, seconds, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--server",
        choices=("stand-in", "region"),
        default="stand-in",
        help="a minimal aiohttp endpoint, or harness.world.region.Region (zero rtt and service)",
    )
    args = parser.parse_args()

    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(theirs, args.server), daemon=True)
    server.start()
    try:
        port = ours.recv()
        runs: dict[str, list[Run]] = {"bare aiohttp": [], "HttpTransport.send": []}
        for _ in range(args.rounds):
            for label, client in (("bare aiohttp", bare), ("HttpTransport.send", transport)):
                run = asyncio.run(client(port, args.seconds, args.concurrency))
                runs[label].append(run)
                print(
                    f"  {label:<20} {run.rps:8.0f} requests/s {run.per_cpu_second:8.0f} per cpu-s",
                    file=sys.stderr,
                )
    finally:
        ours.send("stop")
        server.join(timeout=5)
        if server.is_alive():
            server.terminate()
    _report(runs, args.concurrency)


def _report(runs: dict[str, list[Run]], concurrency: int) -> None:
    """Medians; ratios are medians of per-round ratios (paired runs), as the machine is noisy."""
    base = runs["bare aiohttp"]
    header = f"client ({concurrency} concurrent, keep-alive)"
    print(f"| {header} | requests/s | ratio | per client cpu-s | ratio |")
    print("|---|---|---|---|---|")
    for label, values in runs.items():
        rps = statistics.median(r.rps for r in values)
        cpu = statistics.median(r.per_cpu_second for r in values)
        rps_ratio = statistics.median(r.rps / b.rps for r, b in zip(values, base, strict=True))
        cpu_ratio = statistics.median(
            r.per_cpu_second / b.per_cpu_second for r, b in zip(values, base, strict=True)
        )
        print(f"| {label} | {rps:,.0f} | {rps_ratio:.2f} | {cpu:,.0f} | {cpu_ratio:.2f} |")


if __name__ == "__main__":
    main()
