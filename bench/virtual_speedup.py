"""Virtual clock vs real time on a shortened headline (DESIGN: >= 20x faster, same ranking).

    /work/venv/bin/python bench/virtual_speedup.py [--duration 40] [--strategies a,b,...]
                                                   [--headline] [--keep DIR]

scenarios/us-east-1-dns-outage.yaml (150 s) is shortened to --duration seconds: the run, every
phase and every fault's `at` and `duration` are scaled by duration/150; the world itself (TTLs,
negative TTL, service times, connection ages, capacity, rate) is unchanged. The same temporary
scenario is compared with `python -m harness compare ... --clock virtual` and `--clock real`
(--metrics-addr off --no-progress), for a subset of strategies; wall time of each is measured
around the whole command (interpreter start-up, world start, reports included). Reported: wall
seconds, speed-up (scenario seconds / wall seconds; all strategies run at once in both modes),
virtual vs real, and whether the ranking (comparison.json `rank`) is the same, with the
headline metrics side by side to explain any difference.
--headline also times the full 150 s headline with every strategy in virtual time.
Writes bench/results/virtual_speedup.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from client_rps import RESULTS, ROOT, machine

HEADLINE = ROOT / "scenarios" / "us-east-1-dns-outage.yaml"
STRATEGIES = (
    "naive,aws-legacy-dynamodb,aws-standard-2025,breaker-failover,serve-stale-dns,active-active"
)
METRICS = ("availability_during_fault", "availability", "p99_ms", "attempts_per_request")


def shortened(duration: float, directory: Path) -> Path:
    """The headline with its timeline scaled to `duration` seconds (world unchanged)."""
    data = yaml.safe_load(HEADLINE.read_text())
    original = float(str(data["duration"]).removesuffix("s"))
    k = duration / original

    def scale(value: Any) -> float:
        return round(float(str(value).removesuffix("s")) * k, 3)

    data["name"] = f"{data['name']}-short"
    data["duration"] = duration
    for phase in data.get("phases", []):
        phase["at"] = scale(phase["at"])
    for fault in data.get("timeline", []):
        fault["at"] = scale(fault["at"])
        if fault.get("duration") is not None:
            fault["duration"] = scale(fault["duration"])
    path = directory / "us-east-1-dns-outage-short.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# `harness` with its virtual loop built with another looptime `noop_cycles` (default 42: idle
# loop cycles looptime spins before it moves the fake clock to the next timer).
NOOP_LAUNCHER = """
import sys, asyncio, looptime
import harness.loops
cycles = int(sys.argv.pop(1))
def new_loop(clock):
    if clock == "virtual":
        return looptime.new_event_loop(start=0.0, noop_cycles=cycles)
    return asyncio.new_event_loop()
harness.loops.new_loop = new_loop
from harness.cli import main
sys.argv[0] = "harness"
main()
"""


def compare(
    scenario: Path,
    strategies: str | None,
    clock: str,
    out: Path,
    timeout: float,
    noop_cycles: int | None = None,
) -> tuple[float, int]:
    """Run `harness compare`; returns its wall seconds and how many batches it re-ran because
    they saturated (real time: the orchestrator splits such a batch in half and runs it again)."""
    launcher = ["-m", "harness"] if noop_cycles is None else ["-c", NOOP_LAUNCHER, str(noop_cycles)]
    command = [sys.executable, *launcher, "compare", str(scenario), "--clock", clock,
               "--out", str(out), "--metrics-addr", "off", "--no-progress"]  # fmt: skip
    if strategies:
        command += ["--strategies", strategies]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: an SLO failed, the comparison itself is fine
        raise SystemExit(f"harness compare --clock {clock} exited {done.returncode}:\n"
                         f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")  # fmt: skip
    return wall, done.stderr.count("retrying")


def ranking(out: Path) -> list[dict[str, Any]]:
    data = json.loads((out / "comparison.json").read_text())
    rows = sorted(data["strategies"], key=lambda row: row["rank"])
    runs = data["runs"]
    return [
        {
            "strategy": row["strategy"],
            "rank": row["rank"],
            **{key: row["metrics"][key]["mean"] for key in METRICS if key in row["metrics"]},
            "saturated": row["saturated"] or any(r["saturated"] for r in runs),
        }
        for row in rows
    ]


def run_seconds(out: Path) -> float:
    """Wall seconds of the runs themselves (no interpreter start-up, no reports)."""
    data = json.loads((out / "comparison.json").read_text())
    return float(sum(run["wall_seconds"] for run in data["runs"]))


def same_records(a: Path, b: Path) -> bool:
    """Byte-identical request logs (every request's times, outcome, attempts, regions)."""

    def read(directory: Path) -> list[bytes]:
        return [
            gzip.decompress(p.read_bytes()) for p in sorted(directory.rglob("requests.jsonl.gz"))
        ]

    return read(a) == read(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--strategies", default=STRATEGIES)
    parser.add_argument("--headline", action="store_true", help="also time the full headline")
    parser.add_argument("--keep", type=Path, help="keep the comparison directories here")
    parser.add_argument(
        "--noop-cycles",
        type=int,
        default=None,
        help="also run virtual with looptime noop_cycles=N (harness uses the default, 42) and "
        "check the request logs are identical",
    )
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M")
    tmp = Path(tempfile.mkdtemp(prefix="virtual-speedup-"))
    base = args.keep or tmp
    try:
        scenario = shortened(args.duration, tmp)
        walls: dict[str, float] = {}
        run_walls: dict[str, float] = {}
        retried: dict[str, int] = {}
        ranks: dict[str, list[dict[str, Any]]] = {}
        cases: list[tuple[str, str, int | None]] = [("virtual", "virtual", None)]
        cases.append(("real", "real", None))
        if args.noop_cycles is not None:
            cases.append((f"virtual, noop_cycles={args.noop_cycles}", "virtual", args.noop_cycles))
        for label, clock, cycles in cases:
            out = base / f"short-{clock}-{cycles or 'default'}"
            limit = args.duration * 10 + 300
            walls[label], retried[label] = compare(
                scenario, args.strategies, clock, out, limit, cycles
            )
            ranks[label] = ranking(out)
            run_walls[label] = run_seconds(out)
            print(f"  {label}: {walls[label]:.1f} s wall", file=sys.stderr)
        identical = None
        if args.noop_cycles is not None:
            identical = same_records(
                base / "short-virtual-default", base / f"short-virtual-{args.noop_cycles}"
            )
        headline = None
        if args.headline:
            out = base / "headline-virtual"
            wall, _ = compare(HEADLINE, None, "virtual", out, 1800)
            headline = {"wall_s": round(wall, 1), "run_s": round(run_seconds(out), 1),
                        "strategies": len(ranking(out)),
                        "scenario_s": 150.0, "speedup": round(150.0 / wall, 2)}  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, started, walls, run_walls, retried, ranks, headline, identical)


def report(
    args: argparse.Namespace,
    started: str,
    walls: dict[str, float],
    run_walls: dict[str, float],
    retried: dict[str, int],
    ranks: dict[str, list[dict[str, Any]]],
    headline: dict[str, Any] | None,
    identical: bool | None,
) -> None:
    order = {clock: [row["strategy"] for row in rows] for clock, rows in ranks.items()}
    same = order["virtual"] == order["real"]
    print(f"virtual_speedup: headline shortened to {args.duration:g} s, "
          f"{len(order['virtual'])} strategies")  # fmt: skip
    print("| clock | wall s (command) | speed-up | wall s (runs) | speed-up | batches re-run "
          "(saturated) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for clock, wall in walls.items():
        run = run_walls[clock]
        print(f"| {clock} | {wall:.1f} | {args.duration / wall:.2f}x | {run:.1f} | "
              f"{args.duration / run:.2f}x | {retried[clock]} |")  # fmt: skip
    print(f"virtual is {walls['real'] / walls['virtual']:.1f}x faster than real; "
          f"same ranking: {'yes' if same else 'no'}")  # fmt: skip
    print("| rank | virtual | avail fault | real | avail fault |")
    print("|---:|---|---:|---|---:|")
    for i, (v, r) in enumerate(zip(ranks["virtual"], ranks["real"], strict=True)):
        print(f"| {i + 1} | {v['strategy']} | {v.get('availability_during_fault', 0):.3f} | "
              f"{r['strategy']} | {r.get('availability_during_fault', 0):.3f} |")  # fmt: skip
    if identical is not None:
        print(f"noop_cycles={args.noop_cycles}: request logs identical to the default virtual "
              f"run: {'yes' if identical else 'NO'}")  # fmt: skip
    if headline is not None:
        print(f"full headline (150 s), virtual, {headline['strategies']} strategies: "
              f"{headline['wall_s']} s wall, run only {headline['run_s']} s "
              f"({headline['speedup']}x real time)")  # fmt: skip
    result = {
        "bench": "virtual_speedup",
        "date": started,
        "machine": machine(),
        "settings": {"duration_s": args.duration, "strategies": args.strategies.split(",")},
        "target": "headline comparison >= 20x faster than real time, same ranking",
        "wall_s": {clock: round(wall, 2) for clock, wall in walls.items()},
        "run_wall_s": {clock: round(wall, 2) for clock, wall in run_walls.items()},
        "batches_rerun_saturated": retried,
        "speedup_vs_scenario": {c: round(args.duration / w, 2) for c, w in walls.items()},
        "virtual_vs_real": round(walls["real"] / walls["virtual"], 2),
        "same_ranking": same,
        "noop_cycles_records_identical": identical,
        "ranking": ranks,
        "headline_virtual": headline,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "virtual_speedup.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
