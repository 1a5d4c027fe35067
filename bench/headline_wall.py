"""Wall time of the headline comparison on 1 and 2 local workers and on a 2-worker Dask cluster.

    python bench/headline_wall.py [--repeat 1] [--cases workers2,dask2,workers1] [--rounds 1]

Runs `harness compare scenarios/us-east-1-dns-outage.yaml --repeat N` (every strategy of the
scenario, its default fleet) once per case: `--workers 1`, `--workers 2`, and `--cluster` on a
`dask.distributed.LocalCluster` of 2 single-threaded worker processes on loopback started here
(not timed: it stands for a cluster that is already up). For each case: wall time around the whole
command, CPU seconds of every process it and the cluster used (rusage of reaped children, so
the cluster is closed before it is read), attempts in all the runs' summaries, CPU µs per attempt
all included (worker start-up, merging, reports), and scenario seconds per wall second.

This VM's CPU per attempt drifts by 10-20 % over minutes (other tenants of its host), more than
the effects measured here: with --rounds N the cases alternate within each round (order rotated)
and the speed-up over `workers1` is given per round, then as the median of those paired ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from client_rps import machine, print_table

from harness.compare.rundir import run_summaries

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "headline_wall.json"
SCENARIO = ROOT / "scenarios" / "us-east-1-dns-outage.yaml"
DURATION = 150.0  # seconds of scenario per seed (the headline's `duration`)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def attempts_in(out: Path) -> int:
    total = 0
    for data in run_summaries(out):
        for stats in data.get("strategies", {}).values():
            if isinstance(stats, dict) and isinstance(stats.get("attempts"), int):
                total += stats["attempts"]
    return total


def compare(extra: list[str], repeat: int, out: Path) -> float:
    command = [sys.executable, "-m", "harness", "compare", str(SCENARIO), "--repeat", str(repeat),
               "--out", str(out), "--no-progress", "--metrics-addr", "off", *extra]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_case(case: str, repeat: int, out: Path) -> dict[str, object]:
    cpu0 = children_cpu()
    if case.startswith("dask"):
        from distributed import LocalCluster

        workers = int(case.removeprefix("dask"))
        with LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            wall = compare(["--cluster", cluster.scheduler_address], repeat, out)
    else:
        wall = compare(["--workers", case.removeprefix("workers")], repeat, out)
    cpu = children_cpu() - cpu0
    attempts = attempts_in(out)
    return {
        "case": case,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "attempts": attempts,
        "cpu_us_per_attempt": round(cpu / attempts * 1e6) if attempts else None,
        "scenario_s_per_wall_s": round(DURATION * repeat / wall, 2),
    }


def paired_speedups(rows: list[dict[str, object]], cases: list[str]) -> dict[str, list[float]]:
    """Per case, wall(workers1) / wall(case) within each round (empty without workers1)."""
    if "workers1" not in cases:
        return {}
    walls = {(row["round"], row["case"]): float(str(row["wall_s"])) for row in rows}
    rounds = sorted({int(str(row["round"])) for row in rows})
    return {
        case: [round(walls[r, "workers1"] / walls[r, case], 3) for r in rounds]
        for case in cases
        if case != "workers1"
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="seeds (the demo uses 6)")
    parser.add_argument("--cases", default="workers2,dask2,workers1")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the cases N times")
    parser.add_argument("--name", default="headline_wall", help="bench/results/NAME.json")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M")
    cases = args.cases.split(",")
    rows = []
    with tempfile.TemporaryDirectory(prefix="headline-wall-") as name:
        for r in range(args.rounds):
            for case in cases[r % len(cases) :] + cases[: r % len(cases)]:
                row = {"round": r + 1, **run_case(case, args.repeat, Path(name) / f"{case}-{r}")}
                rows.append(row)
                print(f"  {row}", file=sys.stderr, flush=True)
    print_table(
        f"headline_wall: {args.repeat} seed(s), {args.rounds} round(s)",
        ["case", "round", "wall s", "CPU s", "attempts", "CPU µs/attempt", "scenario s / wall s"],
        [[str(row["case"]), str(row["round"]), str(row["wall_s"]), str(row["cpu_s"]),
          f"{row['attempts']:,}", str(row["cpu_us_per_attempt"]),
          str(row["scenario_s_per_wall_s"])] for row in rows],
    )  # fmt: skip
    speedups = paired_speedups(rows, cases)
    for case, ratios in speedups.items():
        print(f"{case}: speed-up over workers1 per round {ratios}, "
              f"median {statistics.median(ratios):.2f}")  # fmt: skip
    result = {
        "repeat": args.repeat,
        "rounds": args.rounds,
        "date": started,
        "machine": machine(),  # load average at the end
        "rows": rows,
        "speedup_over_workers1": speedups,
    }
    (RESULTS.parent / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
