"""CPU µs per attempt of one virtual-clock unit of work (client + server + DNS + virtual loop).

    python bench/unit_cpu.py [--strategies aws-standard-2025,naive] [--rounds 5] [--seed N]
                             [--duration 40s] [--tree base=/tmp/harness-base --tree new=.]

Each measurement is a fresh child process that imports the harness from the given source tree
(PYTHONPATH first, so a second checkout, e.g. `git archive HEAD | tar -x -C /tmp/harness-base`,
can be measured against this one) and runs one unit exactly as an executor does (`run_unit`:
scenario text in, result files out). The CPU time (`time.process_time()`) is taken around the
unit alone, without interpreter start-up and imports (as in a worker that already ran one), and
divided by the unit's attempts (from its summary). Trees alternate within each round (order
rotated per round); the medians, and the median of per-round ratios, are printed: the machine
is shared, so single runs mean little. With several trees it also checks that every tree wrote
byte-identical request logs and summaries (wall-clock fields dropped) for the same seed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from child import run_child

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "unit_cpu.json"

CHILD = r"""
import json, hashlib, sys, threading, time
from pathlib import Path
import harness
from harness.executors.units import Unit, run_unit
# What a worker has imported before its first unit: a unit's CPU is then its own work only.
import harness.cli_run, harness.client.catalog, harness.runner, harness.scenario
scenario_file, strategy, seed, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
text = Path(scenario_file).read_text(encoding="utf-8")
unit = Unit(id="bench", repeat=1, seed=seed, strategies=(strategy,), scenario_text=text,
            scenario_file=scenario_file, overrides={"duration": duration} if duration else {})
cpu0, wall0 = time.process_time(), time.perf_counter()
result = run_unit(unit, 1, threading.Event(), lambda *a: None)
cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
assert result.status == "ok", (result.status, result.reason)
summary = dict(result.summary)
for volatile in ("started_at", "ended_at", "wall_seconds", "file"):
    summary.pop(volatile, None)
stats = summary["strategies"][strategy]
print(json.dumps({
    "harness": str(Path(harness.__file__).parent),
    "cpu_s": cpu, "wall_s": wall,
    "attempts": stats["attempts"], "requests": stats["requests"],
    "requests_sha": hashlib.sha256(result.requests).hexdigest(),
    "summary_sha": hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest(),
}))
"""


def measure(
    tree: Path, scenario: str, strategy: str, seed: int, duration: str
) -> dict[str, object]:
    data = run_child(CHILD, scenario, strategy, str(seed), duration, tree=tree)
    if Path(str(data["harness"])) != (tree / "harness").resolve():
        raise SystemExit(f"child imported {data['harness']}, not {tree}/harness")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/us-east-1-dns-outage.yaml")
    parser.add_argument("--strategies", default="aws-standard-2025")
    parser.add_argument("--seed", type=int, default=20251020)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", default="", help="shorten the run, e.g. 40s (as --duration)")
    parser.add_argument(
        "--tree", action="append", default=[], help="NAME=PATH of a source tree (repeatable)"
    )
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree) or {"this": str(ROOT)}
    paths = {name: Path(path).resolve() for name, path in trees.items()}
    scenario = str(Path(args.scenario).resolve())
    names = list(paths)
    rows: dict[str, dict[str, list[float]]] = {}
    digests: dict[str, set[tuple[str, str]]] = {}
    for strategy in args.strategies.split(","):
        per = rows.setdefault(strategy, {n: [] for n in names})
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                data = measure(paths[name], scenario, strategy, args.seed, args.duration)
                us = float(data["cpu_s"]) / int(data["attempts"]) * 1e6  # type: ignore[call-overload]
                per[name].append(us)
                digests.setdefault(strategy, set()).add(
                    (str(data["requests_sha"]), str(data["summary_sha"]))
                )
                print(
                    f"  {strategy} round {r + 1} {name}: {data['cpu_s']:.2f} s CPU, "
                    f"{data['attempts']} attempts, {us:.0f} µs/attempt",
                    file=sys.stderr,
                )
    report: dict[str, object] = {"seed": args.seed, "rounds": args.rounds, "trees": trees}
    print(f"| strategy | {' | '.join(f'{n} µs CPU/attempt (median)' for n in names)} | ratio |")
    print(f"|---|{'---:|' * len(names)}---:|")
    for strategy, per in rows.items():
        medians = {n: statistics.median(v) for n, v in per.items()}
        ratio = (
            statistics.median(b / a for a, b in zip(per[names[0]], per[names[-1]], strict=True))
            if len(names) > 1
            else 1.0
        )
        same = len(digests[strategy]) == 1
        cells = " | ".join(f"{medians[n]:.0f}" for n in names)
        print(f"| {strategy} | {cells} | {ratio:.3f} |")
        report[strategy] = {
            "us_per_attempt": per,
            "median": medians,
            "paired_ratio_last_over_first": ratio,
            "identical_outputs": same,
        }
        if not same:
            print(f"!! {strategy}: outputs differ between trees", file=sys.stderr)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
