"""What do metrics cost per request?

1. µs per RequestFinished + AttemptFinished pair handled by Telemetry (a counter increment and a
   histogram observation each), net of the bare emit with no subscriber; and the same updates
   made with prometheus_client metrics and cached children, the baseline tables.py replaces.
2. requests/s of a keep-alive aiohttp client loop (64 concurrent) against an aiohttp server in
   another process, with and without Telemetry subscribed; paired, alternating rounds.

    /work/venv/bin/python bench/metrics_overhead.py [--events 200000] [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from harness.events import AttemptFinished, EventBus, RequestFinished
from harness.outcomes import Outcome
from harness.telemetry.catalog import ATTEMPT_DURATION, ATTEMPTS, REQUEST_DURATION, REQUESTS
from harness.telemetry.metrics import Telemetry

STRATEGIES = ("sdk-standard", "sdk-adaptive", "breaker", "hedge", "failover", "stale-dns")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
OUTCOMES = (Outcome.OK, Outcome.OK, Outcome.OK, Outcome.DNS_NXDOMAIN, Outcome.TIMEOUT)


def events(n: int) -> list[tuple[RequestFinished, AttemptFinished]]:
    pairs = []
    for i in range(n):
        s, r, o = STRATEGIES[i % 6], REGIONS[i % 3], OUTCOMES[i % 5]
        lat = 0.001 * (1 + i % 300)
        served = r if o.is_success else None
        request = RequestFinished(s, "get", i, o, 1, (r,), served, 200, 0.0, 0.0, lat)
        pairs.append((request, AttemptFinished(s, r, o, False, False, lat)))
    return pairs


def _prometheus_client_handlers(bus: EventBus) -> None:
    """The same four updates with prometheus_client metrics and cached children (the baseline
    that tables.py replaces)."""
    registry = CollectorRegistry()
    requests = Counter(REQUESTS.name, "", REQUESTS.labels, registry=registry)
    latency = Histogram(REQUEST_DURATION.name, "", ("strategy",), registry=registry,
                        buckets=REQUEST_DURATION.buckets)  # fmt: skip
    attempts = Counter(ATTEMPTS.name, "", ATTEMPTS.labels, registry=registry)
    attempt_latency = Histogram(ATTEMPT_DURATION.name, "", ATTEMPT_DURATION.labels,
                                registry=registry, buckets=ATTEMPT_DURATION.buckets)  # fmt: skip
    cache: dict[tuple[object, ...], Any] = {}

    def child(metric: Any, *values: str) -> Any:
        key = (metric, *values)
        found = cache.get(key)
        if found is None:
            found = cache[key] = metric.labels(*values)
        return found

    def on_request(e: RequestFinished) -> None:
        child(requests, e.strategy, e.outcome, e.region_served or "none").inc()
        child(latency, e.strategy).observe(e.end - e.intended_start)

    def on_attempt(e: AttemptFinished) -> None:
        child(attempts, e.strategy, e.region, e.outcome, "first").inc()
        child(attempt_latency, e.strategy, e.region).observe(e.duration)

    bus.subscribe(RequestFinished, on_request)
    bus.subscribe(AttemptFinished, on_attempt)


def emit_cost(pairs: list[tuple[RequestFinished, AttemptFinished]], mode: str) -> float:
    bus = EventBus()
    if mode == "telemetry":
        Telemetry(CollectorRegistry(), bus)
    elif mode == "prometheus_client":
        _prometheus_client_handlers(bus)
    emit = bus.emit
    start = time.perf_counter()
    for request, attempt in pairs:
        emit(request)
        emit(attempt)
    return (time.perf_counter() - start) / len(pairs) * 1e6


def _serve(port: int) -> None:
    async def ok(_: web.Request) -> web.Response:
        return web.Response(text='{"Item": {}}')

    app = web.Application()
    app.router.add_get("/", ok)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def client_rate(port: int, seconds: float, subscribed: bool) -> float:
    bus = EventBus()
    if subscribed:
        registry = CollectorRegistry()
        Telemetry(registry, bus)
    loop = asyncio.get_running_loop()
    url = f"http://127.0.0.1:{port}/"
    done = 0
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(deadline: float) -> None:
            nonlocal done
            while loop.time() < deadline:
                start = loop.time()
                async with session.get(url) as response:
                    await response.read()
                end = loop.time()
                outcome = Outcome.OK if response.status == 200 else Outcome.SERVER_ERROR
                bus.emit(AttemptFinished("bench", "us-east-1", outcome, False, False, end - start))
                region = ("us-east-1",)
                status = response.status
                bus.emit(RequestFinished("bench", "get", 0, outcome, 1, region, region[0], status,
                                         start, start, end))  # fmt: skip
                done += 1

        deadline = loop.time() + seconds
        async with asyncio.TaskGroup() as tasks:
            for _ in range(64):
                tasks.create_task(worker(deadline))
    if subscribed:
        generate_latest(registry)  # the exposition works after the load
    return done / seconds


def _ints(values: list[float]) -> list[int]:
    return [round(v) for v in values]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    pairs = events(args.events)
    bare, full, client = (
        statistics.median(emit_cost(pairs, mode) for _ in range(3))
        for mode in ("none", "telemetry", "prometheus_client")
    )
    print(f"emit, no subscriber:          {bare:6.2f} µs per request+attempt pair")
    print(f"emit, Telemetry:              {full:6.2f} µs per pair  (net {full - bare:.2f} µs)")
    print(f"emit, prometheus_client+cache:{client:6.2f} µs per pair  (net {client - bare:.2f} µs)")

    port = _free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,), daemon=True)
    server.start()
    try:
        time.sleep(1.0)  # let the server bind (bench only)
        without, with_metrics = [], []
        for _ in range(args.rounds):
            without.append(asyncio.run(client_rate(port, args.seconds, False)))
            with_metrics.append(asyncio.run(client_rate(port, args.seconds, True)))
        a, b = statistics.median(without), statistics.median(with_metrics)
        print(f"client loop, no metrics: {a:8.0f} requests/s  (rounds: {_ints(without)})")
        print(f"client loop, Telemetry:  {b:8.0f} requests/s  (rounds: {_ints(with_metrics)})")
        print(f"ratio with/without:      {b / a:8.3f}")
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
