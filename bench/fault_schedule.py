"""Fault schedule accuracy in real time (DESIGN target: faults applied within 2 ms of schedule).

    /work/venv/bin/python bench/fault_schedule.py [--faults 100] [--every 0.05] [--rounds 3]
                                                  [--rates 200,1000]

A World runs in this process (DNS server and one region, as the runner starts it) with a
FaultInjector over a timeline of --faults short faults, dns.nodata and endpoint.latency
alternating, one every --every seconds, each lasting 60 % of the gap (so an apply or a revert is
due every 20-30 ms), while one client pool (StrategyClient, aws-standard-2025, Telemetry subscribed)
sends open-loop traffic to the same world on the same loop: light (200/s) and heavier (1,000/s),
alternating per round. Reported from the injector's journal (Journal.lags_ms(): actual -
scheduled, high-resolution clock): p50/p99/max, applies and reverts separately and together.
Writes bench/results/fault_schedule.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from client_rps import write_result

from harness.client import catalog
from harness.clock import Clock
from harness.events import EventBus
from harness.faults.injector import FaultInjector
from harness.runner.clients import StrategyClient
from harness.scenario.loader import parse_scenario
from harness.scenario.model import Scenario
from harness.telemetry.metrics import Telemetry
from harness.world.world import World

FIRST_AT = 1.0  # seconds of traffic before the first fault
STRATEGY = "aws-standard-2025"


def scenario(faults: int, every: float, rate: int) -> Scenario:
    timeline: list[dict[str, Any]] = []
    for i in range(faults):
        fault: dict[str, Any] = {
            "fault": "dns.nodata" if i % 2 == 0 else "endpoint.latency",
            "target": "bench-1",
            "at": round(FIRST_AT + i * every, 6),
            "duration": round(every * 0.6, 6),
        }
        if i % 2:
            fault["delay"] = 0.002
        timeline.append(fault)
    duration = FIRST_AT + faults * every + 0.5
    data = {
        "name": "bench-fault-schedule",
        "duration": duration,
        "regions": [
            {
                "name": "bench-1",
                "endpoints": 3,
                "rtt": 0.001,
                "service_time": {"median": 0.002, "p99": 0.01},
                "capacity": {"concurrency": 256, "queue": 1024},
            }
        ],
        "replication": {"enabled": False},
        "clients": {"rate": rate, "arrival": "poisson", "deadline": 3.0},
        "timeline": timeline,
    }
    # JSON is YAML: the scenario goes through the same loader and validation as a file would
    return parse_scenario(json.dumps(data), "<fault_schedule>", known_strategies=catalog.names())


async def one_run(spec: Scenario) -> dict[str, Any]:
    clock = Clock.for_running_loop()
    bus = EventBus()
    Telemetry(CollectorRegistry(), bus)
    async with World(spec, bus=bus, owner=STRATEGY) as world:
        client = StrategyClient(
            STRATEGY,
            catalog.get(STRATEGY),
            world=world,
            scenario=spec,
            clock=clock,
            bus=bus,
            seed=spec.seed,
        )
        injector = FaultInjector(world, spec.timeline, clock=clock, bus=bus, duration=spec.duration)
        await client.start()
        try:
            origin = clock.now() + 0.05
            async with asyncio.timeout(spec.duration + 10), asyncio.TaskGroup() as group:
                group.create_task(injector.run(origin))
                group.create_task(client.generator.run(origin))
        finally:
            await injector.revert_all("end_of_run")
            await client.close()
    journal = injector.journal
    errors = [e for e in journal.entries if e.error is not None]
    return {
        "apply_ms": journal.lags_ms("apply"),
        "revert_ms": [
            e.lag_ms for e in journal.entries if e.action == "revert" and e.reason == "scheduled"
        ],
        "errors": len(errors),
        "requests": client.generator.sent,
        "send_lag_ms": client.generator.send_lag.summary_ms(),
    }


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    within = sum(1 for x in ordered if x <= 2.0) / len(ordered)
    return {"n": len(ordered), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99),
            "max": round(ordered[-1], 3), "within_2ms": round(within, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--faults", type=int, default=100)
    parser.add_argument("--every", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rates", default="200,1000", help="client requests/s, one case each")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    started = time.strftime("%Y-%m-%d %H:%M")
    runs: dict[int, list[dict[str, Any]]] = {rate: [] for rate in rates}
    for r in range(args.rounds):
        for rate in rates[r % len(rates) :] + rates[: r % len(rates)]:
            run = asyncio.run(one_run(scenario(args.faults, args.every, rate)))
            runs[rate].append(run)
            print(f"  round {r + 1} {rate}/s: apply {percentiles(run['apply_ms'])}, "
                  f"revert {percentiles(run['revert_ms'])}, errors {run['errors']}",
                  file=sys.stderr)  # fmt: skip
    rows = []
    for rate, results in runs.items():
        applies = [x for run in results for x in run["apply_ms"]]
        reverts = [x for run in results for x in run["revert_ms"]]
        rows.append(
            {
                "client_rate": rate,
                "apply": percentiles(applies),
                "revert": percentiles(reverts),
                "all": percentiles(applies + reverts),
                "errors": sum(run["errors"] for run in results),
                "client_send_lag_p99_ms": statistics.median(
                    run["send_lag_ms"]["p99"] for run in results
                ),
            }
        )
    print(f"fault_schedule: {args.faults} faults every {args.every * 1000:g} ms (dns.nodata / "
          f"endpoint.latency), {args.rounds} rounds pooled; lag = actual - scheduled")  # fmt: skip
    print("| client load | apply p50 / p90 / p99 / max ms | revert p50 / p90 / p99 / max ms "
          "| within 2 ms | errors |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        a, v = row["apply"], row["revert"]
        print(f"| {row['client_rate']}/s | {a['p50']:.3f} / {a['p90']:.3f} / {a['p99']:.3f} / "
              f"{a['max']:.3f} | {v['p50']:.3f} / {v['p90']:.3f} / {v['p99']:.3f} / "
              f"{v['max']:.3f} | {row['all']['within_2ms']:.1%} | {row['errors']} |")  # fmt: skip
    write_result(
        "fault_schedule",
        started=started,
        settings={"faults": args.faults, "every_s": args.every, "rounds": args.rounds},
        target="faults applied within 2 ms of schedule",
        rows=rows,
    )


if __name__ == "__main__":
    main()
