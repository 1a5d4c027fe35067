"""CPU µs per attempt of a real-clock run on asyncio's event loop vs uvloop (client + server + DNS).

    python bench/real_loop_cpu.py [--strategies aws-standard-2025] [--duration 30s] [--rounds 3]

A real-clock run puts the world (DNS server, regional endpoints) and the strategy's client fleet
on one event loop in one process, so the loop's own cost is paid on both sides of every request.
Each measurement is a fresh child process that runs the headline scenario, shortened with
`--duration`, for one strategy as `harness run --clock real` does (`run_scenario`), on a loop
from `asyncio.new_event_loop` or `uvloop.new_event_loop` (uvloop must be installed).
`time.process_time()` is taken around the run alone (no start-up, no imports) and divided by
the attempts in its summary. The loops alternate within each round (order rotated per round);
medians and the median of per-round ratios are printed. The run is real time, so what fails
varies a little from run to run: CPU per attempt is the figure to read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from child import run_child

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "real_loop_cpu.json"
LOOPS = ("asyncio", "uvloop")

CHILD = r"""
import asyncio, json, sys, tempfile, time
from pathlib import Path
from harness.cli_run import resolve_strategies
from harness.client import catalog
from harness.runner import RunOptions, run_scenario
from harness.scenario import parse_scenario
loop_name, scenario_file, strategy, duration = sys.argv[1:5]
if loop_name == "uvloop":
    import uvloop
    factory = uvloop.new_event_loop
else:
    factory = asyncio.new_event_loop
text = Path(scenario_file).read_text(encoding="utf-8")
scenario = parse_scenario(text, scenario_file, known_strategies=catalog.names(),
                          overrides={"duration": duration})
strategies = resolve_strategies(scenario, [strategy])
with tempfile.TemporaryDirectory() as tmp:
    options = RunOptions(out_dir=Path(tmp), clock="real", metrics_addr=None, progress=False,
                         scenario_file=scenario_file)
    loops = []
    async def main():
        loops.append(type(asyncio.get_running_loop()).__module__)
        return await run_scenario(scenario, strategies, options, interrupt=asyncio.Event())
    cpu0 = time.process_time()
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(main())
    cpu = time.process_time() - cpu0
stats = result.summary["strategies"][strategy]
print(json.dumps({"loop": loops[0], "cpu_s": cpu, "attempts": stats["attempts"],
                  "requests": stats["requests"], "saturated": result.summary["saturated"]}))
"""


def measure(loop: str, scenario: str, strategy: str, duration: str) -> dict[str, object]:
    data = run_child(CHILD, loop, scenario, strategy, duration)
    if not str(data["loop"]).startswith(loop):
        raise SystemExit(f"asked for {loop}, ran on {data['loop']}")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/us-east-1-dns-outage.yaml")
    parser.add_argument("--strategies", default="aws-standard-2025")
    parser.add_argument("--duration", default="30s")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scenario = str((ROOT / args.scenario).resolve())
    report: dict[str, object] = {"duration": args.duration, "rounds": args.rounds}
    print("| strategy | asyncio µs CPU/attempt | uvloop µs CPU/attempt | uvloop / asyncio |")
    print("|---|---:|---:|---:|")
    for strategy in args.strategies.split(","):
        per: dict[str, list[float]] = {loop: [] for loop in LOOPS}
        for r in range(args.rounds):
            for loop in LOOPS[r % 2 :] + LOOPS[: r % 2]:
                data = measure(loop, scenario, strategy, args.duration)
                us = float(str(data["cpu_s"])) / int(str(data["attempts"])) * 1e6
                per[loop].append(us)
                print(f"  {strategy} round {r + 1} {loop}: {data['cpu_s']:.2f} s CPU, "
                      f"{data['attempts']} attempts, {us:.0f} µs/attempt, "
                      f"saturated {data['saturated']}", file=sys.stderr)  # fmt: skip
        ratio = statistics.median(u / a for a, u in zip(per["asyncio"], per["uvloop"], strict=True))
        medians = {loop: statistics.median(v) for loop, v in per.items()}
        print(f"| {strategy} | {medians['asyncio']:.0f} | {medians['uvloop']:.0f} | {ratio:.3f} |")
        report[strategy] = {"us_per_attempt": per, "median": medians, "paired_ratio": ratio}
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
