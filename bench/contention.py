"""Does a unit of work cost more CPU when the other core is busy too? (Why 2 workers are not 2×.)

    python bench/contention.py [--strategy aws-standard-2026] [--duration 40s] [--rounds 3]

The same virtual-clock unit (same seed: the same work, attempt for attempt) is run in fresh
processes three ways per round: alone; two copies at once, placed by the OS scheduler; two
copies at once, each pinned to its own core (`os.sched_setaffinity`, Linux). Each child reports
the CPU time of its unit alone (`time.process_time()`, imports excluded), so the figures say
what one attempt costs in each case. Rounds alternate the three cases; medians are printed and
written to bench/results/contention.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from child import run_child
from client_rps import print_table, write_result
from unit_cpu import CHILD

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "contention.json"
SCENARIO = "scenarios/us-east-1-dns-outage.yaml"

PINNED = "import os, sys; os.sched_setaffinity(0, {int(sys.argv.pop())})\n"


def unit(strategy: str, duration: str, core: int | None) -> float:
    """CPU µs per attempt of one unit in a fresh process (pinned to `core` when given)."""
    args = [SCENARIO, strategy, "20251020", duration]
    code = CHILD if core is None else PINNED + CHILD
    data = run_child(code, *args, *([str(core)] if core is not None else []))
    return float(data["cpu_s"]) / int(data["attempts"]) * 1e6


def together(strategy: str, duration: str, cores: tuple[int | None, int | None]) -> list[float]:
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda core: unit(strategy, duration, core), cores))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--strategy", default="aws-standard-2026")
    parser.add_argument("--duration", default="40s")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases: dict[str, list[float]] = {"alone": [], "two at once": [], "two at once, pinned": []}
    started = time.strftime("%Y-%m-%d %H:%M")
    for r in range(args.rounds):
        order = list(cases)[r % 3 :] + list(cases)[: r % 3]
        for case in order:
            if case == "alone":
                got = [unit(args.strategy, args.duration, None)]
            elif case == "two at once":
                got = together(args.strategy, args.duration, (None, None))
            else:
                got = together(args.strategy, args.duration, (0, 1))
            cases[case] += got
            print(f"  round {r + 1} {case:<22} " + " ".join(f"{v:.0f}" for v in got),
                  file=sys.stderr)  # fmt: skip
    alone = statistics.median(cases["alone"])
    rows = [
        {"case": case, "cpu_us_per_attempt": round(statistics.median(values)),
         "vs_alone": round(statistics.median(values) / alone, 3), "runs": len(values)}
        for case, values in cases.items()
    ]  # fmt: skip
    print_table(
        f"contention: {args.strategy}, {args.duration}, {args.rounds} rounds, medians",
        ["case", "CPU µs per attempt (median)", "vs alone", "runs"],
        [[row["case"], str(row["cpu_us_per_attempt"]), f"{row['vs_alone']:.2f}",
          str(row["runs"])] for row in rows],
    )  # fmt: skip
    write_result(
        "contention",
        started=started,
        settings=vars(args),
        target="as close to 1.00 as the machine allows: a worker's CPU per attempt is not "
        "raised by the others",
        rows=rows,
    )


if __name__ == "__main__":
    main()
