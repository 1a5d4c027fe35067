"""Run a scenario given as YAML text in this test's (virtual-clock) loop, every strategy it
declares, and return the run's summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.client.factory import resolve_strategies
from harness.runner import RunOptions, run_scenario
from harness.scenario import parse_scenario


async def run_text(text: str, out: Path) -> dict[str, Any]:
    scenario = parse_scenario(text)
    strategies = [(s.name, s) for s in resolve_strategies(scenario.strategies, scenario)]
    result = await run_scenario(scenario, strategies, RunOptions(out_dir=out, progress=False))
    return result.summary
