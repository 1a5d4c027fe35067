"""Join comparisons that ran different strategies of one scenario on the same seeds.

    .venv/bin/python bench/join_runs.py OUT DIR [DIR ...] --scenario FILE [--repeats K]
    .venv/bin/harness report OUT

Under the virtual clock every (strategy, seed) is its own world whose randomness is derived from
the seed and the strategy's name (never from its position in the list), so a strategy's results
do not depend on which others ran beside it: joining `harness compare --strategies A` and
`harness compare --strategies B` over the same seeds gives the files `harness compare
--strategies A,B` writes (the executor folds units the same way, harness/executors/merge.py),
except the wall-clock fields. That lets a long comparison be extended by a few strategies, or cut
to its first K seeds, without running everything again. Strategies are ordered as the scenario
lists them; a strategy found in two directories, a seed missing from one, or a strategy the
scenario does not list is an error (exit 2).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.cli_run import resolve_strategies
from harness.compare.rundir import (
    JOURNAL,
    REQUESTS,
    SUMMARY,
    TIMESERIES,
    find_run_dirs,
    read_json,
)
from harness.errors import HarnessError
from harness.executors.merge import fold_summary
from harness.runner.results import write_json
from harness.scenario import load_scenario


def join(out: Path, sources: Sequence[Path], order: Sequence[str], repeats: int | None) -> int:
    """Write OUT/runs/<repeat>-seed<seed>/ from the sources' repeats; returns the repeats."""
    per_source = [find_run_dirs(source) for source in sources]
    count = min(len(dirs) for dirs in per_source)
    if repeats is not None:
        if repeats > count:
            raise HarnessError(f"--repeats {repeats}: the sources share only {count} seeds")
        count = repeats
    if (out / "runs").exists():
        raise HarnessError(f"{out / 'runs'} exists: choose another OUT")
    for index in range(count):
        dirs = [dirs[index] for dirs in per_source]
        summaries = [read_json(d / SUMMARY) for d in dirs]
        seeds = {s["seed"] for s in summaries}
        if len(seeds) != 1:
            raise HarnessError(f"repeat {index + 1}: seeds differ ({sorted(seeds)})")
        owner: dict[str, int] = {}
        for i, summary in enumerate(summaries):
            for name in summary["strategies"]:
                if name in owner:
                    raise HarnessError(f"{name} is in both {dirs[owner[name]]} and {dirs[i]}")
                if name not in order:
                    raise HarnessError(f"{name} ({dirs[i]}) is not listed by the scenario")
                owner[name] = i
        names = sorted(owner, key=order.index)
        target = out / "runs" / f"{index + 1:02d}-seed{seeds.pop()}"
        target.mkdir(parents=True)
        merged = json.loads(json.dumps(summaries[0]))
        for s in summaries[1:]:
            fold_summary(merged, s)  # as the executor folds units (harness/executors/merge.py)
        merged["strategies"] = {n: merged["strategies"][n] for n in names}
        merged["units"] = [u for s in summaries for u in s.get("units", [])]
        merged["joined_from"] = [str(d) for d in dirs]
        write_json(target / SUMMARY, merged)
        series = [read_json(d / TIMESERIES) for d in dirs if (d / TIMESERIES).exists()]
        if series:
            joined = json.loads(json.dumps(series[0]))
            every = {k: v for s in series for k, v in s["strategies"].items()}
            joined["strategies"] = {n: every[n] for n in names if n in every}
            write_json(target / TIMESERIES, joined)
        journal = {k: v for d in dirs for k, v in read_json(d / JOURNAL).items()}
        write_json(target / JOURNAL, journal)
        # one strategy's records at a time, in the scenario's order (as the executor writes them)
        by_strategy: dict[str, list[str]] = {name: [] for name in names}
        for d in dirs:
            with gzip.open(d / REQUESTS, "rt", encoding="utf-8") as lines:
                for line in lines:
                    by_strategy[json.loads(line)["strategy"]].append(line)
        with gzip.open(target / REQUESTS, "wt", encoding="utf-8") as records:
            for name in names:
                records.writelines(by_strategy[name])
    for source in sources:
        if (source / "incomplete").exists():
            shutil.copytree(source / "incomplete", out / "incomplete", dirs_exist_ok=True)
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("sources", type=Path, nargs="+")
    parser.add_argument("--scenario", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=None, help="keep the first K seeds")
    args = parser.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
        order = [name for name, _ in resolve_strategies(scenario, None)]  # `all` too
        count = join(args.out, args.sources, order, args.repeats)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"joined {count} repeats into {args.out}; render with `harness report {args.out}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
