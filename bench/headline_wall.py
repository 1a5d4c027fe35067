"""Wall time of the headline comparison on 1 and 2 local workers and on a 2-worker Dask cluster.

    python bench/headline_wall.py [--repeat 1] [--cases workers2,dask2,workers1]

Runs `harness compare scenarios/us-east-1-dns-outage.yaml --repeat N` (every strategy of the
scenario, its default fleet) once per case: `--workers 1`, `--workers 2`, and `--cluster` on a
`dask.distributed.LocalCluster` of 2 single-threaded worker processes on loopback started here
(not timed: it stands for a cluster that is already up). For each case: wall time around the whole
command, CPU seconds of every process it and the cluster used (rusage of reaped children, so
the cluster is closed before it is read), attempts in all the runs' summaries, CPU µs per attempt
all included (worker start-up, merging, reports), and scenario seconds per wall second. One run
per case: on a shared machine, read the CPU column first.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "headline_wall.json"
SCENARIO = ROOT / "scenarios" / "us-east-1-dns-outage.yaml"
DURATION = 150.0  # seconds of scenario per seed (the headline's `duration`)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def attempts_in(out: Path) -> int:
    total = 0
    for path in out.rglob("summary.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
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


def run_case(case: str, repeat: int, tmp: Path) -> dict[str, object]:
    out = tmp / case
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="seeds (the demo uses 3)")
    parser.add_argument("--cases", default="workers2,dask2,workers1")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="headline-wall-") as name:
        for case in args.cases.split(","):
            row = run_case(case, args.repeat, Path(name))
            rows.append(row)
            print(f"  {row}", file=sys.stderr, flush=True)
    print("| case | wall s | CPU s | attempts | CPU µs/attempt | scenario s / wall s |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {r['wall_s']} | {r['cpu_s']} | {r['attempts']:,} | "
              f"{r['cpu_us_per_attempt']} | {r['scenario_s_per_wall_s']} |")  # fmt: skip
    RESULTS.write_text(json.dumps({"repeat": args.repeat, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
