"""How many seeds the headline needs before its main groups are told apart (docs/statistics.md).

    .venv/bin/python bench/seed_count.py DIR [--min 3] [--subsets 300] [--out FILE]

DIR is a `harness compare` directory of the headline run with many seeds (for example
`harness compare scenarios/us-east-1-dns-outage.yaml --repeat 10 --out DIR`). Runs nothing: it
reads each repeat once, then re-ranks subsets of the seeds exactly as `harness compare` would
(harness.compare.build.comparison_from_runs: paired t on per-seed differences between
neighbours, Holm-corrected, ties where not significant) and asks whether the four main groups
are separated: no tie group holds strategies of two groups.

For every k from --min to the number of seeds it ranks
- set A: the first k seeds (what `--repeat k` would run);
- set B: the next k seeds, disjoint from A when 2k <= seeds; otherwise the last k (overlapping A);
- every k-subset of the seeds (a seeded random sample of --subsets when there are more): the share
  that separates the groups, a measure of how stable the verdict is at k seeds.
Prints a markdown table; writes the tie groups of A and B for every k to --out
(default bench/results/seed_count.json).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.compare.build import comparison_from_runs
from harness.compare.metrics import RunMetrics, compute_run_metrics
from harness.compare.rundir import find_run_dirs
from harness.errors import HarnessError

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "bench" / "results" / "seed_count.json"

# The headline's main groups (issue 9): what a reader should be able to tell apart.
FAILOVER, DNS_RESILIENT, RETRIER, NO_RETRY = "F", "D", "R", "N"
GROUP_NAMES = {
    FAILOVER: "failover (leaves us-east-1)",
    DNS_RESILIENT: "DNS-resilient (stays, keeps the address)",
    RETRIER: "in-region retriers",
    NO_RETRY: "no retry (or none that helps here)",
}
MAIN_GROUP = {
    "breaker-failover": FAILOVER,
    "r4j-breaker-failover": FAILOVER,
    "hedged-cross-region": FAILOVER,
    "active-active": FAILOVER,
    "pinned-dns": DNS_RESILIENT,
    "serve-stale-dns": DNS_RESILIENT,
    "tenacity-fixed": RETRIER,
    "polly-default": RETRIER,
    "expo-no-jitter": RETRIER,
    "expo-full-jitter": RETRIER,
    "expo-equal-jitter": RETRIER,
    "expo-decorrelated": RETRIER,
    "aws-legacy": RETRIER,
    "aws-legacy-dynamodb": RETRIER,
    "aws-standard-2025": RETRIER,
    "aws-standard-2026": RETRIER,
    "finagle-budget": RETRIER,
    # envoy (one retry within 250 ms), gRPC (retries throttled away once failures pile up) and
    # the AWS adaptive mode (its client rate limiter collapses and holds the retries back: 1.1-1.25
    # attempts per request) retry too little to outlast the outage: in the fault they are naive
    "aws-adaptive-2025": NO_RETRY,
    "aws-adaptive-2026": NO_RETRY,
    "envoy-retry": NO_RETRY,
    "grpc-throttled": NO_RETRY,
    "naive": NO_RETRY,
}


def tie_groups(runs: Sequence[RunMetrics], root: Path) -> list[list[dict[str, Any]]]:
    """The scoreboard's tie groups, best first: [[{strategy, rank, fault availability}, ...]]."""
    comparison = comparison_from_runs(runs, root)
    groups: list[list[dict[str, Any]]] = []
    for row in comparison.rows:
        entry = {
            "strategy": row.strategy,
            "rank": row.rank,
            "availability_during_fault": row.metrics[comparison.verdict.metric].mean,
        }
        if groups and groups[-1][0]["rank"] == row.rank:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return groups


def separated(groups: list[list[dict[str, Any]]]) -> bool:
    return all(len({MAIN_GROUP[e["strategy"]] for e in group}) == 1 for group in groups)


def notation(groups: list[list[dict[str, Any]]]) -> str:
    """[F3][D2][F][R12][N3]: each bracket a tie group, run-length letters of the main groups."""
    out = []
    for group in groups:
        letters = [MAIN_GROUP[e["strategy"]] for e in group]
        runs = [(k, len(list(g))) for k, g in itertools.groupby(letters)]
        out.append("[" + " ".join(k if n == 1 else f"{k}{n}" for k, n in runs) + "]")
    return "".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path, help="a `harness compare` directory")
    parser.add_argument("--min", type=int, default=2, help="smallest number of seeds (>= 2)")
    parser.add_argument("--subsets", type=int, default=300, help="k-subsets ranked per k")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    if args.min < 2:
        parser.error("--min: a paired test needs at least 2 seeds")
    try:
        run_dirs = find_run_dirs(args.directory)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    runs = []
    for run_dir in run_dirs:
        runs.append(compute_run_metrics(run_dir))
        print(f"read {run_dir.name}", file=sys.stderr)
    unknown = sorted(set(runs[0].summary.strategies) - set(MAIN_GROUP))
    if unknown:
        print(f"error: strategies without a main group: {', '.join(unknown)}", file=sys.stderr)
        return 2
    n = len(runs)
    seeds = [run.summary.seed for run in runs]
    rng = random.Random(0)
    table = []
    print("| k | set A: seeds | tie groups | separated | set B: seeds | tie groups | separated "
          "| k-subsets separating |")  # fmt: skip
    print("|---:|---|---|---|---|---|---|---:|")
    for k in range(args.min, n + 1):
        a = list(range(k))
        b = list(range(k, 2 * k)) if 2 * k <= n else list(range(n - k, n))
        result: dict[str, Any] = {"k": k, "disjoint": 2 * k <= n}
        for label, picked in (("a", a), ("b", b)):
            groups = tie_groups([runs[i] for i in picked], args.directory)
            result[label] = {
                "seeds": [seeds[i] for i in picked],
                "separated": separated(groups),
                "notation": notation(groups),
                "groups": groups,
            }
        total = math.comb(n, k)
        if total <= args.subsets:
            subsets = [list(c) for c in itertools.combinations(range(n), k)]
        else:
            subsets = [sorted(rng.sample(range(n), k)) for _ in range(args.subsets)]
        hits = sum(separated(tie_groups([runs[i] for i in s], args.directory)) for s in subsets)
        result["subsets"] = {"ranked": len(subsets), "of": total, "separating": hits}
        table.append(result)

        def span(picked: list[int]) -> str:
            first, last = seeds[picked[0]], seeds[picked[-1]]
            return f"{first}–{last}" if last - first == len(picked) - 1 else str(picked)

        b_seeds = span(b) + ("" if result["disjoint"] else " (overlaps A)")
        print(
            f"| {k} | {span(a)} | {result['a']['notation']} | {_yes(result['a']['separated'])} "
            f"| {b_seeds} | {result['b']['notation']} | {_yes(result['b']['separated'])} "
            f"| {hits}/{len(subsets)} ({hits / len(subsets):.0%}) |"
        )
    print("\nF " + GROUP_NAMES[FAILOVER] + ", D " + GROUP_NAMES[DNS_RESILIENT] + ", R "
          + GROUP_NAMES[RETRIER] + ", N " + GROUP_NAMES[NO_RETRY]
          + "; each [...] one tie group, best first")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "bench": "seed_count",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "directory": str(args.directory),
                "seeds": seeds,
                "groups": GROUP_NAMES,
                "main_group": {s: MAIN_GROUP[s] for s in runs[0].summary.strategies},
                "by_k": table,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


if __name__ == "__main__":
    sys.exit(main())
