"""Requests/s one region endpoint serves (service time 0, rtt 0): the ceiling of the world's server.

    /work/venv/bin/python bench/http_rps.py [--seconds 5] [--connections 64]
                                            [--driver auto|wrk|aiohttp] [--bare]

The region (harness.world.region.Region: the full request path with overrides, capacity, store
and response headers) runs in this process on 127.0.0.1; the load comes from another process:
`wrk` (one thread, keep-alive, POST GetItem from a Lua script) when it is on PATH
(`apt-get install -y wrk`), else an aiohttp client in a child process. Prints one line: requests/s
and the server's CPU time per request (steadier than requests/s on a shared machine). `--bare`
measures aiohttp's low-level server answering a canned response instead, as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.scenario.model import RegionSpec
from harness.world.region import Region

HOST = "127.0.0.1"
TARGET = "DynamoDB_20120810.GetItem"
BODY = json.dumps({"TableName": "bench", "Key": {"pk": {"S": "k1"}}})
HEADERS = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET}
LUA = f"""wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "{TARGET}"
"""


def region_spec() -> RegionSpec:
    return RegionSpec.model_validate(
        {
            "name": "bench-1",
            "endpoints": 1,
            "rtt": 0,
            "service_time": 0,
            "capacity": {"concurrency": 10_000, "queue": 100_000},
            "connections": {"idle_timeout": 600, "max_age": None},
        }
    )


async def seed_item(url: str) -> None:
    put = {"TableName": "bench", "Item": {"pk": {"S": "k1"}, "val": {"S": "x" * 200}}}
    headers = {**HEADERS, "X-Amz-Target": "DynamoDB_20120810.PutItem"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=put, headers=headers) as r,
    ):
        assert r.status == 200, await r.text()


async def drive_wrk(url: str, seconds: float, connections: int) -> tuple[float, int]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "-s", script.name, url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    await asyncio.to_thread(Path(script.name).unlink)
    text = out.decode()
    match = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if process.returncode != 0 or match is None:
        raise SystemExit(f"wrk failed:\n{text}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return float(match.group(1)), int(bad.group(1)) if bad else 0


def _aiohttp_client(
    url: str,
    seconds: float,
    connections: int,
    result: multiprocessing.Queue[tuple[int, int, float]],
) -> None:
    async def main() -> tuple[int, int, float]:
        done = bad = 0
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker(end: float) -> None:
                nonlocal done, bad
                while time.perf_counter() < end:
                    async with session.post(url, data=BODY, headers=HEADERS) as response:
                        await response.read()
                        done += 1
                        bad += response.status != 200

            start = time.perf_counter()
            async with asyncio.TaskGroup() as group:
                for _ in range(connections):
                    group.create_task(worker(start + seconds))
            return done, bad, time.perf_counter() - start

    result.put(asyncio.run(main()))


async def drive_aiohttp(url: str, seconds: float, connections: int) -> tuple[float, int]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_aiohttp_client, args=(url, seconds, connections, queue))
    child.start()
    try:
        done, bad, wall = await asyncio.to_thread(queue.get, True, seconds + 60)
    finally:
        await asyncio.to_thread(child.join, 10)
    return done / wall, bad


async def bare_server() -> tuple[asyncio.Server, int]:
    """The baseline: aiohttp's low-level server answering a canned GetItem, nothing else."""
    body = json.dumps({"Item": {"pk": {"S": "k1"}, "val": {"S": "x" * 200}}}).encode()

    async def handle(request: web.BaseRequest) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type="application/x-amz-json-1.0")

    loop = asyncio.get_running_loop()
    server = await loop.create_server(web.Server(handle, access_log=None), HOST, 0)
    return server, int(server.sockets[0].getsockname()[1])


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--driver", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument("--bare", action="store_true", help="measure a bare aiohttp server instead")
    args = parser.parse_args()
    driver = args.driver
    if driver == "auto":
        driver = "wrk" if shutil.which("wrk") else "aiohttp"
    drive = drive_wrk if driver == "wrk" else drive_aiohttp
    setting = f"driver {driver}, {args.connections} connections, {args.seconds:g} s"
    if args.bare:
        server, port = await bare_server()
        try:
            cpu = time.process_time()
            rps, bad = await drive(f"http://{HOST}:{port}/", args.seconds, args.connections)
            cpu = time.process_time() - cpu
        finally:
            server.close()
        per_request = cpu / (rps * args.seconds) * 1e6
        print(
            f"http_rps: bare aiohttp low-level server {rps:,.0f} requests/s, "
            f"{per_request:.0f} µs server CPU/request ({setting})"
        )
        return
    async with Region(region_spec(), (HOST,), rng=random.Random(1)) as region:
        url = f"http://{HOST}:{region.port}/"
        await seed_item(url)
        served = region.stats().served_total
        cpu = time.process_time()
        rps, bad = await drive(url, args.seconds, args.connections)
        cpu = time.process_time() - cpu
        served = region.stats().served_total - served
    note = f", {bad} non-200" if bad else ""
    print(
        f"http_rps: one region endpoint served {rps:,.0f} requests/s, "
        f"{cpu / max(served, 1) * 1e6:.0f} µs server CPU/request "
        f"(GetItem, service time 0; {setting}{note})"
    )


if __name__ == "__main__":
    asyncio.run(main())
