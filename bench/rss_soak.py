"""Memory over run length: RSS of a real-clock `harness run`, sampled every --every seconds.

    /work/venv/bin/python bench/rss_soak.py [--minutes 30] [--every 30] [--steady-from 3]
                                            [--scenario bench/soak.yaml] [-s STRATEGY ...]
                                            [--keys 200:uniform] [--clock real|virtual]
                                            [--tracemalloc DIR --snapshot-every 60
                                             --tracemalloc-after 60 --frames 10]
    /work/venv/bin/python bench/rss_soak.py --diff DIR/snap-0180.pickle DIR/snap-0600.pickle

`python -m harness run SCENARIO --clock real --duration {minutes}m` runs in a child process (one
loop: world, clients and faults); its VmRSS (and the sum over its descendants, if any) is read
from /proc every --every seconds. The slope is a least-squares line over the samples from
--steady-from minutes on (start-up, imports and the first connections are not run length).
Writes bench/results/{--name}.json and .csv (minute, rss_mb). --keys rewrites clients.keys in a
copy of the scenario: a key space the writes cover in the first minutes fills the world's tables
early, so what grows after that is the harness's own memory (docs/hardening.md, "Memory").

--tracemalloc DIR starts tracemalloc (--frames deep) in the child --tracemalloc-after seconds
in (after imports and start-up) and writes a snapshot every --snapshot-every seconds to DIR;
--diff A B prints the growth between two snapshots by the innermost harness frame, then the
largest growths by traceback. Tracemalloc slows the run several times (a real-clock run on a
busy machine then saturates) and grows its own bookkeeping: read RSS from a run without it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import runpy
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        path = Path(f"/proc/{parent}/task/{parent}/children")
        try:
            kids = [int(p) for p in path.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            kids = []
        found.extend(kids)
        todo.extend(kids)
    return found


def least_squares_slope(points: list[tuple[float, float]]) -> float | None:
    """Slope of y over x by least squares (None with fewer than two points)."""
    try:
        return statistics.linear_regression(*zip(*points, strict=True)).slope
    except (statistics.StatisticsError, TypeError):  # fewer than two points, or all x equal
        return None


def with_keys(scenario: Path, keys: str, copy: Path) -> Path:
    """A copy of `scenario` whose clients.keys is COUNT[:DISTRIBUTION]."""
    import yaml

    count, _, distribution = keys.partition(":")
    data = yaml.safe_load(scenario.read_text())
    spec = data.setdefault("clients", {}).setdefault("keys", {})
    spec["count"] = int(count)
    if distribution:
        spec["distribution"] = distribution
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    return copy


def child_with_tracemalloc(
    directory: Path, every: float, after: float, frames: int, argv: list[str]
) -> None:
    """Run the harness CLI in this process; from a thread, start tracemalloc `after` seconds in
    (imports and start-up are not what grows) and write a snapshot every `every` seconds."""
    directory.mkdir(parents=True, exist_ok=True)
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]

    def snapshots() -> None:
        time.sleep(after)
        tracemalloc.start(frames)
        started = time.monotonic()
        n = 1
        while True:
            time.sleep(max(0.0, started + n * every - time.monotonic()))
            elapsed = round(time.monotonic() - started + after)
            snap = tracemalloc.take_snapshot().filter_traces(ignore)
            snap.dump(str(directory / f"snap-{elapsed:04d}.pickle"))
            n += 1

    threading.Thread(target=snapshots, daemon=True, name="tracemalloc-snapshots").start()
    sys.argv = ["harness", *argv]
    runpy.run_module("harness", run_name="__main__", alter_sys=True)


def diff(before: Path, after: Path, top: int, frames: int) -> None:
    a = tracemalloc.Snapshot.load(str(before))
    b = tracemalloc.Snapshot.load(str(after))
    stats = b.compare_to(a, "traceback")
    total = sum(s.size_diff for s in stats)
    print(f"total growth {total / 1e6:+.3f} MB ({before.name} -> {after.name})")
    # First by the innermost frame in the harness's own code: which of our lines holds it
    owners: dict[str, list[int]] = {}
    for stat in stats:
        ours = [f for f in stat.traceback if f"{os.sep}harness{os.sep}" in f.filename]
        where = "(no harness frame)"
        if ours:
            where = f"{ours[-1].filename.split(os.sep + 'harness' + os.sep)[-1]}:{ours[-1].lineno}"
        entry = owners.setdefault(where, [0, 0])
        entry[0] += stat.size_diff
        entry[1] += stat.count_diff
    print("\nby innermost harness frame:")
    for where, (size, count) in sorted(owners.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"{size / 1e3:+9.1f} KB  {count:+7d} blocks  {where}")
    print("\nby traceback:")
    for stat in sorted(stats, key=lambda s: s.size_diff, reverse=True)[:top]:
        if stat.size_diff <= 0:
            break
        avg = stat.size / stat.count if stat.count else 0
        print(
            f"\n{stat.size_diff / 1e3:+9.1f} KB  {stat.count_diff:+7d} blocks"
            f"  (now {stat.count} blocks, {avg:.0f} B each)"
        )
        for frame in list(stat.traceback)[-frames:]:
            print(f"    {frame.filename}:{frame.lineno}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between RSS samples")
    parser.add_argument("--steady-from", type=float, default=3.0, help="minutes")
    parser.add_argument("--scenario", type=Path, default=ROOT / "bench" / "soak.yaml")
    parser.add_argument("-s", "--strategy", action="append", default=[])
    parser.add_argument(
        "--keys",
        help="override clients.keys, e.g. 200:uniform (a key space the writes cover in minutes: "
        "the world's tables stop growing, so what is left is the harness's own memory)",
    )
    parser.add_argument(
        "--clock", default="real", help="virtual: many more requests per wall minute (tracemalloc)"
    )
    parser.add_argument("--tracemalloc", type=Path, help="snapshot directory")
    parser.add_argument("--snapshot-every", type=float, default=60.0)
    parser.add_argument(
        "--tracemalloc-after", type=float, default=60.0, help="seconds before tracing starts"
    )
    parser.add_argument("--name", default="rss_soak", help="results file stem")
    parser.add_argument("--diff", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--frames", type=int, default=10, help="traced / shown per traceback")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.diff:
        diff(args.diff[0], args.diff[1], args.top, args.frames)
        return 0
    if args.child is not None:
        child_with_tracemalloc(
            args.tracemalloc, args.snapshot_every, args.tracemalloc_after, args.frames, args.child
        )
        return 0

    out = Path(tempfile.mkdtemp(prefix="rss-soak-"))
    scenario = args.scenario
    if args.keys:
        scenario = with_keys(args.scenario, args.keys, out / args.scenario.name)
    harness_args = [
        "run",
        str(scenario),
        "--clock",
        args.clock,
        "--duration",
        f"{args.minutes * 60:g}s",
        "--metrics-addr",
        "off",
        "--no-progress",
        "--out",
        str(out / "run"),
    ]
    if args.clock == "virtual":
        harness_args += ["--executor", "inline"]  # one process: the one sampled
    for strategy in args.strategy:
        harness_args += ["-s", strategy]
    if args.tracemalloc:
        command = [
            sys.executable,
            __file__,
            "--tracemalloc",
            str(args.tracemalloc),
            "--snapshot-every",
            str(args.snapshot_every),
            "--tracemalloc-after",
            str(args.tracemalloc_after),
            "--frames",
            str(args.frames),
            "--child",
            *harness_args,
        ]
    else:
        command = [sys.executable, "-m", "harness", *harness_args]
    print(" ".join(command), flush=True)
    log = (out / "harness.log").open("w")
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    samples: list[dict[str, Any]] = []
    n = 0
    while proc.poll() is None:
        n += 1
        next_at = started + n * args.every
        while proc.poll() is None and time.monotonic() < next_at:
            time.sleep(min(1.0, max(0.0, next_at - time.monotonic())))
        if proc.poll() is not None:
            break
        own = rss_kb(proc.pid)
        if own is None:
            break
        kids = sum(rss_kb(p) or 0 for p in descendants(proc.pid))
        minute = (time.monotonic() - started) / 60
        samples.append({"minute": round(minute, 2), "rss_mb": round(own / 1024, 2)})
        if kids:
            samples[-1]["descendants_mb"] = round(kids / 1024, 2)
        print(f"{minute:6.2f} min  {own / 1024:8.2f} MB", flush=True)
    code = proc.wait()
    log.close()

    steady = [(s["minute"], s["rss_mb"]) for s in samples if s["minute"] >= args.steady_from]
    slope = least_squares_slope(steady)
    result = {
        "command": command,
        "exit_code": code,
        "minutes": args.minutes,
        "keys": args.keys,
        "every_s": args.every,
        "steady_from_min": args.steady_from,
        "slope_mb_per_min": None if slope is None else round(slope, 4),
        "steady_growth_mb": round(steady[-1][1] - steady[0][1], 2) if steady else None,
        "samples": samples,
        "log": str(out / "harness.log"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    with (RESULTS / f"{args.name}.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["minute", "rss_mb"])
        writer.writerows((s["minute"], s["rss_mb"]) for s in samples)
    shown = "n/a" if slope is None else f"{slope:+.3f} MB/min"
    print(f"\nexit {code}; slope from minute {args.steady_from:g}: {shown}")
    print("| minute | RSS MB |\n|---:|---:|")
    for s in samples:
        print(f"| {s['minute']:.1f} | {s['rss_mb']:.1f} |")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    if os.environ.get("PYTHONPATH") is None:
        sys.path.insert(0, str(ROOT))
    sys.exit(main())
