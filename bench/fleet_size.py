"""How many client hosts a strategy needs before its verdict stops moving (docs/fleets.md).

    .venv/bin/python bench/fleet_size.py [--hosts 1,2,4,8,16,32] [--seeds 5]
                                         [--strategies naive,...] [--duration 100]
    .venv/bin/python bench/fleet_size.py --figure [--seeds 10] [--hosts 1,8] --strategies naive

Runs scenarios/us-east-1-dns-outage.yaml in this process under the virtual clock, once per
(hosts, seed), all chosen strategies in one run (per-strategy worlds, so they do not interact).
The run is cut at --duration seconds (default 100: the dns.nodata window is 20-98.5 s; the
congested recovery after it does not matter here). For each strategy it reports the availability
of requests intended inside the dns.nodata window (fleet-wide, from requests.jsonl.gz): mean and
standard deviation over the seeds, min-max, and the fleet's onset spread; and per hosts value the
CPU seconds of the whole run (time.process_time: world and clients share this process). Virtual-
clock results are deterministic for a seed; CPU seconds are noisy on a shared machine.
Writes bench/results/fleet_size.json (or fleet_figure.json with --figure).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from client_rps import RESULTS, ROOT, write_result

from harness.client import catalog
from harness.loops import new_loop
from harness.runner.options import RunOptions
from harness.runner.run import run_scenario
from harness.scenario import load_scenario

HEADLINE = ROOT / "scenarios" / "us-east-1-dns-outage.yaml"
STRATEGIES = "naive,aws-standard-2025,pinned-dns,breaker-failover"


def fault_availability(run_dir: Path, start: float, end: float) -> dict[str, float]:
    counts: dict[str, list[int]] = {}
    with gzip.open(run_dir / "requests.jsonl.gz", "rt") as lines:
        for line in lines:
            r = json.loads(line)
            if start <= r["intended"] < end:
                c = counts.setdefault(r["strategy"], [0, 0])
                c[0] += 1
                c[1] += r["outcome"] == "ok"
    return {name: ok / n for name, (n, ok) in counts.items()}


def one_run(hosts: int, seed: int, names: list[str], duration: float) -> dict[str, Any]:
    base = load_scenario(HEADLINE, known_strategies=catalog.names())
    scenario = base.model_copy(
        update={
            "seed": seed,
            "duration": duration,
            "clients": base.clients.model_copy(update={"hosts": hosts}),
        }
    )
    strategies = [(name, catalog.get(name)) for name in names]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        loop = new_loop("virtual")
        asyncio.set_event_loop(loop)
        cpu = time.process_time()
        try:
            result = loop.run_until_complete(
                run_scenario(scenario, strategies, RunOptions(out_dir=out, progress=False))
            )
        finally:
            asyncio.set_event_loop(None)
            loop.close()
        cpu = time.process_time() - cpu
        nodata = next(f for f in result.summary["faults"] if f["fault"] == "dns.nodata")
        end = nodata["reverted_at"] if nodata["reverted_at"] is not None else duration
        availability = fault_availability(out, nodata["applied_at"], end)
    fleets = {n: s["fleet"] for n, s in result.summary["strategies"].items()}
    return {"cpu_s": cpu, "availability": availability, "fleets": fleets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1,2,4,8,16,32")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--strategies", default=STRATEGIES)
    parser.add_argument("--duration", type=float, default=100.0)
    parser.add_argument("--figure", action="store_true", help="write fleet_figure.json")
    parser.add_argument("--name", default="", help="results file name (default by mode)")
    args = parser.parse_args()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    names = args.strategies.split(",")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    rows = []
    for hosts in (int(h) for h in args.hosts.split(",")):
        runs = [one_run(hosts, seed, names, args.duration) for seed in seeds]
        cpu = [r["cpu_s"] for r in runs]
        for name in names:
            values = [r["availability"][name] for r in runs]
            onset = [r["fleets"][name]["onset_spread_s"] for r in runs]
            row = {
                "hosts": hosts,
                "strategy": name,
                "mean": round(statistics.fmean(values), 4),
                "sd": round(statistics.stdev(values), 4) if len(values) > 1 else None,
                "min": round(min(values), 4),
                "max": round(max(values), 4),
                "values": [round(v, 4) for v in values],
                "onset_spread_s": [o for o in onset],
                "cpu_s_per_run": round(statistics.median(cpu), 2),
            }
            rows.append(row)
            print(
                f"| {hosts} | {name} | {row['mean']:.3f} | {row['sd'] or 0:.3f} | "
                f"{row['min']:.3f}–{row['max']:.3f} | {row['cpu_s_per_run']:.1f} |",
                flush=True,
            )
    settings = {
        "scenario": str(HEADLINE.relative_to(ROOT)), "duration": args.duration, "seeds": seeds,
        "strategies": names, "clock": "virtual",
    }  # fmt: skip
    name = args.name or ("fleet_figure" if args.figure else "fleet_size")
    write_result(
        name,
        started=started,
        settings=settings,
        target="availability during dns.nodata stops moving with hosts (docs/fleets.md)",
        rows=rows,
    )
    print(f"wrote {RESULTS}/{name}.json")


if __name__ == "__main__":
    main()
