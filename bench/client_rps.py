"""Requests/s of the harness's client pool (full pipeline + metrics) vs a bare aiohttp loop.

    /work/venv/bin/python bench/client_rps.py [--seconds 3] [--rounds 5] [--concurrency 64]
        [--strategies naive,aws-standard-2025,breaker-failover] [--layers] [--locust-python PATH]

DESIGN target: "with the full strategy pipeline and metrics, requests/s >= 90 % of a bare aiohttp
loop against the same endpoint on the same cores". One region's endpoint (zero rtt and service
time) is served by `python -m harness world` in a child process (one core); this process is the
client (the other core). 64 closed-loop workers, keep-alive (so at most 64 connections):

- bare aiohttp: one ClientSession POSTing GetItem to the endpoint's address (no DNS, no timeout);
  the baseline of every ratio;
- bare exchange: the same loop through harness.client.exchange (aiohttp's connector, protocol and
  parser without ClientSession, as the harness's transports send), to show the pool's own cost;
- each strategy: the client pool exactly as harness.runner builds it (StrategyClient: DnsResolver
  with its TTL cache asking the world's DNS server, HttpTransport, build_pipeline) plus what the
  runner subscribes to RequestFinished: Telemetry (Prometheus), RunStats, TimeSeries, the gzip
  request-record writer;
- --layers: HttpTransport.send alone (DnsResolver + transport), and the first strategy without
  the runner's consumers / without the request-record writer, to attribute the overhead;
- --uvloop: the bare loop and each strategy again on a uvloop event loop (the world stays on
  asyncio), to measure what `--clock real` runs would gain from uvloop;
- Locust FastHttpUser (optional: --locust-python, a Python with locust installed, e.g.
  `python3 -m venv /tmp/locust-venv && /tmp/locust-venv/bin/pip install locust`), as a library
  in its own process, 64 users, measured in the same kind of window.

Cases alternate within each round (order rotated per round); the machine is shared, so medians
of per-round ratios are reported, and requests per client CPU second (time.process_time of the
client process: what one client core can do), which is far steadier than requests/s.
Writes bench/results/client_rps.json (--name: another file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
from aiohttp.http import SERVER_SOFTWARE
from prometheus_client import CollectorRegistry
from yarl import URL

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.client import catalog
from harness.client.api import Request
from harness.client.dynamo_client import CONTENT_TYPE, TARGETS, encode
from harness.client.exchange import Exchange
from harness.client.resolver import DnsResolver
from harness.client.transport import HttpTransport
from harness.clock import Clock
from harness.events import EventBus, RequestFinished
from harness.outcomes import Outcome
from harness.runner.clients import StrategyClient
from harness.scenario import load_scenario
from harness.scenario.model import Scenario
from harness.scenario.strategy_spec import DnsSettings, PoolSettings
from harness.telemetry.metrics import Telemetry
from harness.telemetry.records import RecordWriter
from harness.telemetry.summary import RunStats
from harness.telemetry.timeseries import TimeSeries
from harness.world.world import World

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TRANSPORT_ONLY = "HttpTransport.send only"
BARE_EXCHANGE = "bare exchange"
UVLOOP = " [uvloop]"
ALL_CONSUMERS = ("telemetry", "stats", "series", "records")
# --layers: the first strategy with fewer of the runner's RequestFinished consumers
LAYERS = {
    " (pipeline, no metrics)": (),
    " (metrics, no request records)": ("telemetry", "stats", "series"),
}

ONE_REGION = """name: bench-one-region
duration: {duration}
regions:
  - name: bench-1
    endpoints: 1
    rtt: 0s
    service_time: {{median: 0s, p99: 0s}}
    capacity: {{concurrency: 10000, queue: 0}}
    connections: {{idle_timeout: 600s, max_age: null}}
replication: {{enabled: false}}
clients:
  rate: {rate}/s
  arrival: constant
  deadline: 3s
  ops: {{get: 0.7, put: 0.2, update: 0.1}}
"""


# ---- the world, in a child process --------------------------------------------------------------


def write_scenario(directory: Path, *, duration: str = "60s", rate: int = 100) -> Path:
    path = directory / "bench-one-region.yaml"
    path.write_text(ONE_REGION.format(duration=duration, rate=rate))
    return path


def load(path: Path) -> Scenario:
    return load_scenario(path, known_strategies=catalog.names())


@contextmanager
def world_process(scenario: Path) -> Iterator[dict[str, Any]]:
    """`python -m harness world SCENARIO`: yields its one JSON line; SIGTERM on exit."""
    child = subprocess.Popen(
        [sys.executable, "-m", "harness", "world", str(scenario)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    watchdog = threading.Timer(30.0, child.kill)  # bounded: a world that never says where it is
    watchdog.start()
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        watchdog.cancel()
        if not line:
            raise SystemExit("the world process exited before printing its addresses")
        info = cast(dict[str, Any], json.loads(line))
        info["pid"] = child.pid
        yield info
    finally:
        watchdog.cancel()
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RemoteWorld:
    """What StrategyClient reads of a World, from `harness world`'s JSON line."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.dns = SimpleNamespace(host=info["dns"]["host"], port=info["dns"]["port"])
        self._names: dict[str, str] = {region: r["name"] for region, r in info["regions"].items()}
        self.regions = dict.fromkeys(self._names)
        self.http_port = next(iter(info["regions"].values()))["port"]

    def dns_name(self, region: str) -> str:
        return self._names[region]


# ---- the harness's client pool, wired as harness.runner.run does --------------------------------


@dataclass(slots=True)
class Pool:
    client: StrategyClient
    bus: EventBus
    telemetry: Telemetry
    stats: RunStats
    finished: list[int]  # [all, ok]


@asynccontextmanager
async def harness_pool(
    strategy: str,
    scenario: Scenario,
    info: dict[str, Any],
    records_dir: Path,
    *,
    consumers: tuple[str, ...] = ALL_CONSUMERS,
) -> AsyncIterator[Pool]:
    """`consumers`: which of the runner's subscribers to attach (all of them by default)."""
    clock = Clock.for_running_loop()
    bus = EventBus()
    telemetry = Telemetry(CollectorRegistry(), bus if "telemetry" in consumers else EventBus())
    world = cast(World, RemoteWorld(info))
    client = StrategyClient(
        strategy,
        catalog.get(strategy),
        world=world,
        scenario=scenario,
        clock=clock,
        bus=bus,
        seed=scenario.seed,
    )
    stats = RunStats()
    stats.register(strategy, scenario.home_region, client.description)
    telemetry.add_generator_source(strategy, client.generator)
    origin = clock.now()
    telemetry.start_run(clock.now)
    records = RecordWriter(records_dir / f"{strategy}.jsonl.gz", origin=origin)
    series = TimeSeries(origin=origin, duration=scenario.duration, regions=scenario.region_names)
    finished = [0, 0]

    def count(event: RequestFinished) -> None:
        finished[0] += 1
        finished[1] += event.outcome is Outcome.OK

    for kind, consumer in (
        ("stats", stats.add),
        ("series", series.add),
        ("records", records.write),
    ):
        if kind in consumers:
            bus.subscribe(RequestFinished, consumer)
    bus.subscribe(RequestFinished, count)
    await client.start()
    try:
        yield Pool(client, bus, telemetry, stats, finished)
    finally:
        telemetry.finish_run()
        await client.close()
        records.close()


# ---- closed-loop drive ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    requests: int
    failed: int
    wall: float
    cpu: float  # client process CPU seconds in the same window
    server_cpu: float  # the world process's CPU seconds in the same window

    @property
    def rps(self) -> float:
        return self.requests / self.wall

    @property
    def per_cpu_second(self) -> float:
        return self.requests / self.cpu


async def drive(
    send: Callable[[int], Awaitable[None]],
    counts: Callable[[], tuple[int, int]],
    server: int,
    *,
    seconds: float,
    concurrency: int,
    warmup: float = 0.5,
) -> Run:
    """`concurrency` workers call `send(i)` back to back; counts() -> (finished, ok)."""
    stop = False

    async def worker(w: int) -> None:
        i = w
        while not stop:
            await send(i)
            i += concurrency

    async with asyncio.TaskGroup() as group:
        for w in range(concurrency):
            group.create_task(worker(w))
        await asyncio.sleep(warmup)  # connections opened, DNS cached, caches warm
        n0, ok0 = counts()
        t0, cpu0, s0 = time.perf_counter(), time.process_time(), cpu_seconds(server)
        await asyncio.sleep(seconds)
        n1, ok1 = counts()
        t1, cpu1, s1 = time.perf_counter(), time.process_time(), cpu_seconds(server)
        stop = True
    return Run(n1 - n0, (n1 - n0) - (ok1 - ok0), t1 - t0, cpu1 - cpu0, s1 - s0)


def _request(i: int, now: float) -> Request:
    return Request(id=i, op="get", key=f"k{i % 5000}", intended_start=now, deadline=now + 3.0)


async def count_and_drive(
    call: Callable[[int], Awaitable[bool]], info: dict[str, Any], seconds: float, concurrency: int
) -> Run:
    """drive() over `call(i) -> succeeded`, counting finished and succeeded calls."""
    counts = [0, 0]

    async def send(i: int) -> None:
        ok = await call(i)
        counts[0] += 1
        counts[1] += ok

    return await drive(
        send,
        lambda: (counts[0], counts[1]),
        info["pid"],
        seconds=seconds,
        concurrency=concurrency,
    )


async def run_bare(info: dict[str, Any], seconds: float, concurrency: int) -> Run:
    region = next(iter(info["regions"].values()))
    url = f"http://{region['addresses'][0]}:{region['port']}/"
    headers = {"Host": region["name"], "Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGETS["get"]}
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call(i: int) -> bool:
            body = encode(_request(i, loop.time()), "harness")
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status == 200

        return await count_and_drive(call, info, seconds, concurrency)


async def run_exchange(info: dict[str, Any], seconds: float, concurrency: int) -> Run:
    """The bare loop through harness.client.exchange instead of ClientSession.post."""
    region = next(iter(info["regions"].values()))
    url = URL.build(scheme="http", host=region["addresses"][0], port=region["port"])
    headers = {
        "Host": region["name"],
        "Content-Type": CONTENT_TYPE,
        "X-Amz-Target": TARGETS["get"],
        "Accept": "*/*",
        "Accept-Encoding": "gzip, deflate",
        "User-Agent": SERVER_SOFTWARE,
    }  # what ClientSession sends in the bare loop
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=concurrency)
    exchange = Exchange(connector, url, connect_timeout=None)
    head = exchange.head("/", headers)
    try:

        async def call(i: int) -> bool:
            response = await exchange.post(head, encode(_request(i, loop.time()), "harness"))
            return response.status == 200

        return await count_and_drive(call, info, seconds, concurrency)
    finally:
        await connector.close()


async def run_transport(info: dict[str, Any], seconds: float, concurrency: int) -> Run:
    """Layer: DnsResolver + HttpTransport.send only, no pipeline, no events consumed."""
    clock, bus, world = Clock.for_running_loop(), EventBus(), RemoteWorld(info)
    resolver = DnsResolver(
        (world.dns.host, world.dns.port), DnsSettings(), clock=clock, bus=bus, strategy="bench"
    )
    transport = HttpTransport(
        strategy="bench",
        endpoints={region: world.dns_name(region) for region in world.regions},
        port=world.http_port,
        resolver=resolver,
        pool=PoolSettings(),
        clock=clock,
        bus=bus,
    )
    region = next(iter(world.regions))
    try:
        await transport.start()

        async def call(i: int) -> bool:
            result = await transport.send(_request(i, clock.now()), region, timeout=1.0)
            return result.outcome is Outcome.OK

        return await count_and_drive(call, info, seconds, concurrency)
    finally:
        await transport.close()
        await resolver.close()


async def run_strategy(
    name: str, scenario: Scenario, info: dict[str, Any], seconds: float, concurrency: int
) -> Run:
    clock = Clock.for_running_loop()
    consumers: tuple[str, ...] = ALL_CONSUMERS
    for suffix, subset in LAYERS.items():
        if name.endswith(suffix):
            name, consumers = name.removesuffix(suffix), subset
    with tempfile.TemporaryDirectory(prefix="client-rps-") as tmp:
        async with harness_pool(name, scenario, info, Path(tmp), consumers=consumers) as pool:

            async def send(i: int) -> None:
                await pool.client.execute(_request(i, clock.now()))

            return await drive(
                send,
                lambda: (pool.finished[0], pool.finished[1]),
                info["pid"],
                seconds=seconds,
                concurrency=concurrency,
            )


# ---- Locust FastHttpUser, as a library, in its own process --------------------------------------

LOCUST_DRIVER = """
import json, sys, time
import gevent
from locust import FastHttpUser, constant, task
from locust.env import Environment
host, name, target, ctype, body, users, warm, secs = sys.argv[1:9]
headers = {"Host": name, "Content-Type": ctype, "X-Amz-Target": target}
class Bench(FastHttpUser):
    wait_time = constant(0)
    host = host
    @task
    def get(self):
        self.client.post("/", data=body, headers=headers)
env = Environment(user_classes=[Bench])
runner = env.create_local_runner()
runner.start(int(users), spawn_rate=int(users))
gevent.sleep(float(warm))
n0, f0 = env.stats.total.num_requests, env.stats.total.num_failures
t0, c0 = time.perf_counter(), time.process_time()
print("window", flush=True)
gevent.sleep(float(secs))
n1, f1 = env.stats.total.num_requests, env.stats.total.num_failures
t1, c1 = time.perf_counter(), time.process_time()
print("window", flush=True)
runner.quit()
print(json.dumps([n1 - n0, f1 - f0, t1 - t0, c1 - c0]))
"""


async def run_locust(python: str, info: dict[str, Any], seconds: float, concurrency: int) -> Run:
    region = next(iter(info["regions"].values()))
    host = f"http://{region['addresses'][0]}:{region['port']}"
    body = encode(_request(1, 0.0), "harness").decode()
    args = [host, region["name"], TARGETS["get"], CONTENT_TYPE, body, str(concurrency), "1.5",
            str(seconds)]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        python, "-c", LOCUST_DRIVER, *args, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    marks: list[float] = []  # the world's CPU seconds when the window opens and closes
    lines: list[str] = []
    async with asyncio.timeout(seconds + 60):
        async for raw in process.stdout:
            line = raw.decode().strip()
            if line == "window":
                marks.append(cpu_seconds(info["pid"]))
            elif line:
                lines.append(line)
        await process.wait()
    requests, failed, wall, cpu = json.loads(lines[-1])
    return Run(int(requests), int(failed), float(wall), float(cpu), marks[-1] - marks[0])


# ---- rounds and report --------------------------------------------------------------------------


def run_on(coro: Coroutine[Any, Any, Run], *, uvloop: bool) -> Run:
    if not uvloop:
        return asyncio.run(coro)
    import uvloop as uv

    with asyncio.Runner(loop_factory=uv.new_event_loop) as runner:
        return runner.run(coro)


def median_ratio(values: list[float], base: list[float]) -> float:
    return statistics.median(v / b for v, b in zip(values, base, strict=True))


def print_table(title: str, head: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """The title line, then a GitHub table: the first column left-aligned, the others right."""
    print(title)
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def write_result(
    name: str, *, started: str, settings: dict[str, Any], target: str, rows: Any
) -> None:
    """bench/results/<name>.json: when, on what machine, with what settings, against what target."""
    result = {
        "bench": name,
        "date": started,
        "machine": machine(),
        "settings": settings,
        "target": target,
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "loop": "asyncio (default)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--strategies", default="naive,aws-standard-2025,breaker-failover")
    parser.add_argument("--locust-python", default="", help="a Python with locust installed")
    parser.add_argument("--name", default="client_rps", help="bench/results/NAME.json")
    parser.add_argument(
        "--uvloop", action="store_true", help="also run bare and strategies on uvloop"
    )
    parser.add_argument(
        "--layers",
        action="store_true",
        help="also measure HttpTransport.send alone and the first strategy with fewer consumers",
    )
    args = parser.parse_args()
    names = [s for s in args.strategies.split(",") if s]
    cases = ["bare aiohttp", BARE_EXCHANGE, *names]
    if args.layers:
        cases[2:2] = [TRANSPORT_ONLY, *(names[0] + suffix for suffix in LAYERS)]
    if args.uvloop:
        cases += [f"{case}{UVLOOP}" for case in ("bare aiohttp", *names)]
    if args.locust_python:
        cases.append("locust FastHttpUser")
    runs: dict[str, list[Run]] = {case: [] for case in cases}
    started = time.strftime("%Y-%m-%d %H:%M")
    with tempfile.TemporaryDirectory(prefix="client-rps-") as tmp:
        path = write_scenario(Path(tmp))
        scenario = load(path)
        with world_process(path) as info:
            for r in range(args.rounds):
                for listed in cases[r % len(cases) :] + cases[: r % len(cases)]:
                    case = listed.removesuffix(UVLOOP)
                    if case == "bare aiohttp":
                        coro = run_bare(info, args.seconds, args.concurrency)
                    elif case == BARE_EXCHANGE:
                        coro = run_exchange(info, args.seconds, args.concurrency)
                    elif case == TRANSPORT_ONLY:
                        coro = run_transport(info, args.seconds, args.concurrency)
                    elif case == "locust FastHttpUser":
                        coro = run_locust(args.locust_python, info, args.seconds, args.concurrency)
                    else:
                        coro = run_strategy(case, scenario, info, args.seconds, args.concurrency)
                    run = run_on(coro, uvloop=listed != case)
                    if run.failed:
                        raise SystemExit(f"{listed}: {run.failed} of {run.requests} failed")
                    runs[listed].append(run)
                    print(f"  round {r + 1} {listed:<34} {run.rps:7.0f}/s "
                          f"{run.cpu / run.requests * 1e6:4.0f} µs cpu/req, "
                          f"server {run.server_cpu / run.requests * 1e6:3.0f}",
                          file=sys.stderr)  # fmt: skip
    report(runs, args, started)


def report(runs: dict[str, list[Run]], args: argparse.Namespace, started: str) -> None:
    base = runs["bare aiohttp"]

    def per_request_us(cpu: Callable[[Run], float], values: list[Run]) -> float:
        return round(statistics.median(cpu(r) / r.requests * 1e6 for r in values), 1)

    rows = [
        {
            "case": case,
            "requests_per_s": round(statistics.median(r.rps for r in values)),
            "ratio_rps": round(median_ratio([r.rps for r in values], [b.rps for b in base]), 3),
            "per_cpu_s": round(statistics.median(r.per_cpu_second for r in values)),
            "ratio_per_cpu_s": round(median_ratio([r.per_cpu_second for r in values],
                                                  [b.per_cpu_second for b in base]), 3),
            "cpu_us_per_request": per_request_us(lambda r: r.cpu, values),
            "server_cpu_us_per_request": per_request_us(lambda r: r.server_cpu, values),
            "rounds_rps": [round(r.rps) for r in values],
            "rounds_ratio_per_cpu_s": [round(r.per_cpu_second / b.per_cpu_second, 3)
                                       for r, b in zip(values, base, strict=True)],
        }
        for case, values in runs.items()
    ]  # fmt: skip
    print_table(
        f"client_rps: {args.concurrency} closed-loop workers, keep-alive, {args.rounds} "
        f"rounds x {args.seconds:g} s, medians (ratios: paired per round)",
        ["case", "requests/s", "ratio", "requests/client cpu-s", "ratio", "client µs cpu/req",
         "server µs cpu/req"],
        [[row["case"], f"{row['requests_per_s']:,}", f"{row['ratio_rps']:.2f}",
          f"{row['per_cpu_s']:,}", f"{row['ratio_per_cpu_s']:.2f}",
          f"{row['cpu_us_per_request']:.0f}", f"{row['server_cpu_us_per_request']:.0f}"]
         for row in rows],
    )  # fmt: skip
    write_result(
        args.name,
        started=started,
        settings={
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "rounds": args.rounds,
        },
        target="harness pool requests per client CPU-s >= 0.85 x bare aiohttp (issue 10; "
        "DESIGN: 0.90) and >= 1.0 x Locust FastHttpUser (DESIGN: 1.25)",
        rows=rows,
    )


if __name__ == "__main__":
    main()
