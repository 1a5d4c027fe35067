"""What does Telemetry cost a real client pool? Requests/s with Telemetry subscribed vs not.

    /work/venv/bin/python bench/metrics_run_overhead.py [--seconds 5] [--rounds 8]
        [--windows 40] [--concurrency 64] [--strategy aws-adaptive-2025]

One region (one endpoint, zero rtt and service time, so the client is the limit) is served by
`python -m harness world` in a child process. This process runs ONE client pool wired as
harness.runner does it (StrategyClient: DnsResolver asking the world's DNS server, HttpTransport,
build_pipeline for the strategy) on one EventBus, driven closed-loop by `concurrency` workers.
The cases differ only in whether Telemetry (the run's Prometheus metrics, with the strategy
declared and its generator registered, as the runner does) receives that bus's events; `wants()`
answers accordingly, so events nobody reads are not even built when it is off, as in a run.

1. Rounds: a fresh pool per round, `seconds` long after a warm-up; pairs alternate their order
   (off/on, on/off, ...). After each "on" round one /metrics exposition (OpenMetrics, what
   Prometheus asks for) is rendered in the loop and timed: a scrape's loop stall, one strategy.
2. Interleaved: one pool, Telemetry switched on and off every 1 s window (`windows` of them):
   the drift of a shared machine hits both cases alike, so this is the steadier figure.
The machine is shared and noisy: besides requests/s, the client's CPU time per request
(time.process_time over the same window) is reported.
Writes bench/results/metrics_run_overhead.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.client import catalog
from harness.client.api import Request
from harness.clock import Clock
from harness.events import EventBus, RequestFinished
from harness.outcomes import Outcome
from harness.runner.clients import StrategyClient, regions_by_distance
from harness.scenario import parse_scenario
from harness.telemetry.metrics import Telemetry
from harness.world.world import World

sys.path.insert(0, str(Path(__file__).resolve().parent))
from client_rps import RemoteWorld, world_process

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "metrics_run_overhead.json"
WARMUP = 0.5  # seconds before each window: connections open, DNS cached

ONE_REGION = """name: bench-telemetry
duration: 600s
regions:
  - name: bench-1
    endpoints: 1
    rtt: 0s
    service_time: {median: 0s, p99: 0s}
    capacity: {concurrency: 10000, queue: 0}
    connections: {idle_timeout: 600s, max_age: null}
replication: {enabled: false}
clients: {rate: 100/s, deadline: 3s, ops: {get: 0.7, put: 0.2, update: 0.1}}
"""


class SwitchableBus(EventBus):
    """An EventBus that also delivers to `extra` (Telemetry's bus) while `on` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.extra = EventBus()
        self.on = False

    def emit(self, event: object) -> None:
        super().emit(event)
        if self.on:
            self.extra.emit(event)

    def wants(self, event_type: type) -> bool:
        return super().wants(event_type) or (self.on and self.extra.wants(event_type))


@dataclass(frozen=True, slots=True)
class Window:
    telemetry: bool
    requests: int
    wall: float
    cpu: float  # this process's CPU seconds in the window
    scrape_ms: float | None = None  # one OpenMetrics exposition rendered after the window

    @property
    def rps(self) -> float:
        return self.requests / self.wall

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu / self.requests * 1e6


class Pool:
    """One strategy's client pool on a SwitchableBus, Telemetry wired to its `extra` bus."""

    def __init__(self, info: dict[str, Any], strategy: str) -> None:
        self.scenario = parse_scenario(ONE_REGION, "bench", known_strategies=catalog.names())
        spec = catalog.get(strategy)
        self.clock, self.bus = Clock.for_running_loop(), SwitchableBus()
        self.client = StrategyClient(
            strategy, spec, world=cast(World, RemoteWorld(info)), scenario=self.scenario,
            clock=self.clock, bus=self.bus, seed=1,
        )  # fmt: skip
        self.registry = CollectorRegistry()
        telemetry = Telemetry(self.registry, self.bus.extra)  # as harness.runner.run wires it
        telemetry.add_generator_source(strategy, self.client.generator)
        kinds = {block.kind for block in spec.blocks}
        telemetry.declare_strategy(strategy, regions_by_distance(self.scenario), kinds)
        telemetry.start_run(self.clock.now)
        self.finished = self.failed = 0
        self.bus.subscribe(RequestFinished, self._count)  # a run always counts requests

    def _count(self, event: RequestFinished) -> None:
        self.finished += 1
        self.failed += event.outcome is not Outcome.OK

    async def drive(self, concurrency: int, windows: list[bool], seconds: float) -> list[Window]:
        """Closed loop; after WARMUP, one window per entry of `windows` (Telemetry on/off)."""
        stop = False

        async def worker(i: int) -> None:
            while not stop:
                now = self.clock.now()
                deadline = now + self.scenario.clients.deadline
                await self.client.execute(Request(i, "get", f"k{i % 5000}", now, deadline))
                i += concurrency

        measured: list[Window] = []
        await self.client.start()
        try:
            async with asyncio.TaskGroup() as group:
                for w in range(concurrency):
                    group.create_task(worker(w))
                await asyncio.sleep(WARMUP)
                for on in windows:
                    self.bus.on = on
                    n0, t0, cpu0 = self.finished, time.perf_counter(), time.process_time()
                    await asyncio.sleep(seconds)
                    n1, t1, cpu1 = self.finished, time.perf_counter(), time.process_time()
                    measured.append(Window(on, n1 - n0, t1 - t0, cpu1 - cpu0))
                stop = True
        finally:
            await self.client.close()
        return measured

    def scrape_ms(self) -> float:
        start = time.perf_counter()
        generate_latest(self.registry)  # type: ignore[no-untyped-call]
        return (time.perf_counter() - start) * 1000


async def one_round(
    info: dict[str, Any], strategy: str, *, telemetry: bool, seconds: float, concurrency: int
) -> Window:
    pool = Pool(info, strategy)
    (window,) = await pool.drive(concurrency, [telemetry], seconds)
    scrape = pool.scrape_ms() if telemetry else None
    return Window(telemetry, window.requests, window.wall, window.cpu, scrape)


async def interleaved(
    info: dict[str, Any], strategy: str, *, windows: int, concurrency: int
) -> list[Window]:
    return await Pool(info, strategy).drive(concurrency, [i % 2 == 1 for i in range(windows)], 1.0)


def _row(r: Window) -> dict[str, Any]:
    cpu = round(r.cpu_us_per_request, 1)
    return {"telemetry": r.telemetry, "rps": round(r.rps), "cpu_us_per_request": cpu}


def summarise(windows: list[Window]) -> dict[str, Any]:
    """Medians per case and of the paired (consecutive off/on) ratios."""
    off = [w for w in windows if not w.telemetry]
    on = [w for w in windows if w.telemetry]
    pairs = list(zip(off, on, strict=True))
    rps = {"off": statistics.median(w.rps for w in off), "on": statistics.median(w.rps for w in on)}
    cpu = {
        "off": statistics.median(w.cpu_us_per_request for w in off),
        "on": statistics.median(w.cpu_us_per_request for w in on),
    }
    scrapes = [w.scrape_ms for w in on if w.scrape_ms is not None]
    return {
        "requests_per_s": {k: round(v) for k, v in rps.items()},
        "ratio_of_medians": round(rps["on"] / rps["off"], 3),
        "median_paired_ratio": round(statistics.median(b.rps / a.rps for a, b in pairs), 3),
        "cpu_us_per_request": {k: round(v, 1) for k, v in cpu.items()},
        "median_paired_cpu_us_added": round(
            statistics.median(b.cpu_us_per_request - a.cpu_us_per_request for a, b in pairs), 2
        ),
        "scrape_ms_median": round(statistics.median(scrapes), 2) if scrapes else None,
        "windows": [_row(w) for w in windows],
    }


def report(title: str, s: dict[str, Any]) -> None:
    rps, cpu = s["requests_per_s"], s["cpu_us_per_request"]
    print(f"{title}: median requests/s off {rps['off']}, on {rps['on']}: ratio "
          f"{s['ratio_of_medians']} (median paired ratio {s['median_paired_ratio']}); "
          f"CPU µs/request off {cpu['off']}, on {cpu['on']} (median paired difference "
          f"{s['median_paired_cpu_us_added']:+})")  # fmt: skip
    if s["scrape_ms_median"] is not None:
        print(f"  one /metrics exposition (OpenMetrics, 1 strategy): {s['scrape_ms_median']} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a round")
    parser.add_argument("--rounds", type=int, default=8, help="pairs of rounds (off + on)")
    parser.add_argument("--windows", type=int, default=40, help="interleaved 1 s windows")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--strategy", default="aws-adaptive-2025")
    args = parser.parse_args()
    catalog.get(args.strategy)  # fail early on a bad name

    rounds: list[Window] = []
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "world.yaml"
        scenario.write_text(ONE_REGION)
        with world_process(scenario) as info:
            for pair in range(args.rounds):
                for on in (False, True) if pair % 2 == 0 else (True, False):
                    r = asyncio.run(
                        one_round(
                            info, args.strategy, telemetry=on, seconds=args.seconds,
                            concurrency=args.concurrency,
                        )
                    )  # fmt: skip
                    rounds.append(r)
                    case = "on " if on else "off"
                    cpu = r.cpu_us_per_request
                    print(f"pair {pair + 1}: telemetry {case} {r.rps:7.0f} requests/s "
                          f"{cpu:6.1f} µs CPU/request", flush=True)  # fmt: skip
            mixed = asyncio.run(
                interleaved(
                    info, args.strategy, windows=args.windows - args.windows % 2,
                    concurrency=args.concurrency,
                )
            )  # fmt: skip
    result = {"rounds": summarise(rounds), "interleaved": summarise(mixed)}
    report(f"rounds ({args.seconds:g} s, fresh pool each)", result["rounds"])
    report("interleaved (1 s windows, one pool)", result["interleaved"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "cores": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }
    header = {"bench": "metrics_run_overhead", "date": time.strftime("%Y-%m-%d %H:%M")}
    document = {**header, "machine": machine, "settings": vars(args), **result}
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
