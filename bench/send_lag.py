"""Open-loop send lag at 1,000 requests/s in real time (DESIGN target: p99 <= 1 ms).

    /work/venv/bin/python bench/send_lag.py [--rate 1000] [--seconds 10] [--rounds 2]
                                           [--strategy aws-standard-2025]

The OpenLoopGenerator (harness.client.workload) sends a constant 1,000 requests/s for --seconds
and records each request's send lag (actual - intended start, generator.send_lag). Two kinds of
execute:

- "pool": every request goes through the full client pool as the runner builds it (StrategyClient
  with its pipeline, Telemetry, RunStats, TimeSeries, request records; see client_rps.py) to one
  zero-latency region served by `python -m harness world` in a child process;
- "trivial": an execute that does nothing (no I/O): the generator's own cost.

- "floor": no generator, no execute: asyncio.sleep to each intended time, lag recorded the same
  way (what the event loop and the OS give on this machine).

Trivial and pool run with and without `gc.freeze()` after start-up (reference/libraries.md: full
collections were the ~55 ms tail). Variants alternate within each round. Also recorded: gen-2
collections and the longest GC pause (gc.callbacks), client CPU per request, request latency.
Writes bench/results/send_lag.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from client_rps import (
    harness_pool,
    load,
    print_table,
    world_process,
    write_result,
    write_scenario,
)

from harness.client.api import Request
from harness.client.workload import OpenLoopGenerator
from harness.clock import Clock
from harness.scenario.model import Scenario
from harness.telemetry.latency import LatencyHistogram

SETTLE = 0.05  # as the runner: origin a little after everything is up
LABELS = {
    "floor": "floor: asyncio.sleep only",
    "trivial": "generator, trivial execute",
    "pool": "generator, full client pool",
}


@dataclass(slots=True)
class GcWatch:
    """Counts collections per generation and the longest pause while active."""

    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    max_pause_ms: float = 0.0
    _started: float = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.collections[info["generation"]] += 1
            pause = (time.perf_counter() - self._started) * 1000.0
            self.max_pause_ms = max(self.max_pause_ms, pause)


@contextmanager
def watching_gc(freeze: bool) -> Iterator[GcWatch]:
    watch = GcWatch()
    if freeze:
        gc.collect()
        gc.freeze()  # start-up objects out of every future collection
    gc.callbacks.append(watch)
    try:
        yield watch
    finally:
        gc.callbacks.remove(watch)
        if freeze:
            gc.unfreeze()


def lag_summary(generator: OpenLoopGenerator) -> dict[str, Any]:
    summary = generator.send_lag.summary_ms()
    return {k: summary[k] for k in ("p50", "p99", "max")}


async def run_floor(scenario: Scenario, freeze: bool) -> dict[str, Any]:
    """No generator at all: asyncio.sleep to each intended time (constant rate), lag recorded
    the same way: what the event loop and the OS give on this machine."""
    clock = Clock.for_running_loop()
    lag = LatencyHistogram()
    rate, count = scenario.clients.rate, int(scenario.clients.rate * scenario.duration)
    with watching_gc(freeze) as watch:
        cpu = time.process_time()
        origin = clock.now() + SETTLE
        for n in range(1, count):
            intended = origin + n / rate
            delay = intended - clock.now()
            if delay > 0:
                await asyncio.sleep(delay)
            lag.record(max(clock.measure() - intended, 0.0))
        cpu = time.process_time() - cpu
    summary = lag.summary_ms()
    return {
        "send_lag_ms": {k: summary[k] for k in ("p50", "p99", "max")},
        "sent": count - 1,
        "cpu_us_per_request": round(cpu / count * 1e6, 1),
        "gc_collections": list(watch.collections),
        "gc_max_pause_ms": round(watch.max_pause_ms, 3),
    }


async def run_trivial(scenario: Scenario, freeze: bool) -> dict[str, Any]:
    clock = Clock.for_running_loop()

    async def execute(request: Request) -> None:
        return None

    generator = OpenLoopGenerator(
        spec=scenario.clients,
        duration=scenario.duration,
        seed=scenario.seed,
        clock=clock,
        execute=execute,
        on_shed=lambda request: None,
    )
    with watching_gc(freeze) as watch:
        cpu = time.process_time()
        await generator.run(clock.now() + SETTLE)
        cpu = time.process_time() - cpu
    return _result(generator, watch, cpu, latency=None, ok=generator.sent)


async def run_pool(
    strategy: str, scenario: Scenario, info: dict[str, Any], freeze: bool
) -> dict[str, Any]:
    clock = Clock.for_running_loop()
    with tempfile.TemporaryDirectory(prefix="send-lag-") as tmp:
        async with harness_pool(strategy, scenario, info, Path(tmp)) as pool:
            generator = pool.client.generator
            with watching_gc(freeze) as watch:
                cpu = time.process_time()
                await generator.run(clock.now() + SETTLE)
                cpu = time.process_time() - cpu
            latency = pool.stats.strategies[strategy].latency.summary_ms()
            return _result(generator, watch, cpu, latency=latency, ok=pool.finished[1])


def _result(
    generator: OpenLoopGenerator,
    watch: GcWatch,
    cpu: float,
    *,
    latency: dict[str, float | None] | None,
    ok: int,
) -> dict[str, Any]:
    return {
        "send_lag_ms": lag_summary(generator),
        "sent": generator.sent,
        "ok": ok,
        "shed": generator.shed,
        "peak_in_flight": generator.peak_in_flight,
        "cpu_us_per_request": round(cpu / max(generator.sent, 1) * 1e6, 1),
        "gc_collections": list(watch.collections),
        "gc_max_pause_ms": round(watch.max_pause_ms, 3),
        "latency_ms": None if latency is None else {k: latency[k] for k in ("p50", "p99", "max")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--strategy", default="aws-standard-2025")
    args = parser.parse_args()
    variants = [("floor", False)]
    variants += [(kind, freeze) for kind in ("trivial", "pool") for freeze in (False, True)]
    runs: dict[str, list[dict[str, Any]]] = {}
    started = time.strftime("%Y-%m-%d %H:%M")
    with tempfile.TemporaryDirectory(prefix="send-lag-") as tmp:
        path = write_scenario(Path(tmp), duration=f"{args.seconds}s", rate=args.rate)
        scenario = load(path)
        with world_process(path) as info:
            for r in range(args.rounds):
                for kind, freeze in variants[r % 5 :] + variants[: r % 5]:
                    label = LABELS[kind] + (" + gc.freeze()" if freeze else "")
                    if kind == "floor":
                        result = asyncio.run(run_floor(scenario, freeze))
                    elif kind == "trivial":
                        result = asyncio.run(run_trivial(scenario, freeze))
                    else:
                        result = asyncio.run(run_pool(args.strategy, scenario, info, freeze))
                    runs.setdefault(label, []).append(result)
                    print(f"  round {r + 1} {label:<24} {result}", file=sys.stderr)
    report(runs, args, started)


def report(runs: dict[str, list[dict[str, Any]]], args: argparse.Namespace, started: str) -> None:
    rows = []
    for label, results in runs.items():
        lags = [r["send_lag_ms"] for r in results]
        rows.append(
            {
                "case": label,
                "send_lag_p50_ms": round(statistics.median(x["p50"] for x in lags), 3),
                "send_lag_p99_ms": round(statistics.median(x["p99"] for x in lags), 3),
                "send_lag_max_ms": max(x["max"] for x in lags),
                "gc_max_pause_ms": max(r["gc_max_pause_ms"] for r in results),
                "cpu_us_per_request": round(
                    statistics.median(r["cpu_us_per_request"] for r in results), 1
                ),
                "runs": results,
            }
        )
    print_table(
        f"send_lag: open loop, {args.rate}/s constant, {args.seconds} s, {args.rounds} "
        f"rounds; pool = {args.strategy} (medians; max: worst run)",
        ["execute", "lag p50 ms", "lag p99 ms", "lag max ms", "longest GC ms", "µs cpu/req"],
        [[row["case"], f"{row['send_lag_p50_ms']:.3f}", f"{row['send_lag_p99_ms']:.3f}",
          f"{row['send_lag_max_ms']:.3f}", f"{row['gc_max_pause_ms']:.1f}",
          f"{row['cpu_us_per_request']:.0f}"]
         for row in rows],
    )  # fmt: skip
    write_result(
        "send_lag",
        started=started,
        settings={
            "rate": args.rate,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "strategy": args.strategy,
        },
        target="send lag p99 <= 1 ms at 1,000 requests/s",
        rows=rows,
    )


if __name__ == "__main__":
    main()
