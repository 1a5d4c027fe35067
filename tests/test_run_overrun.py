"""A real-clock run that cannot keep up and is left to finish ends as a saturated run with its
numbers, not as an error: its time limit stops the generator and says so."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from harness.client import catalog
from harness.runner import RunOptions, run_scenario
from harness.runner import run as run_module
from harness.scenario import parse_scenario

SCENARIO = """
name: overrun
seed: 4
duration: 1s
regions: [{name: us-east-1, endpoints: 1, rtt: 1ms}]
clients: {rate: 200000/s, deadline: 200ms, saturation: {max_in_flight: 20}}
strategies: [naive]
run: {clock: real}
"""


def test_a_run_that_cannot_keep_up_ends_saturated_with_its_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 200,000 arrivals in 1 s cannot all be sent in real time on one loop; a short drain grace
    # makes the run's time limit (duration + deadline + grace) come in ~1.5 s instead of ~6 s.
    monkeypatch.setattr(run_module, "DRAIN_GRACE", 0.25)
    scenario = parse_scenario(SCENARIO)
    options = RunOptions(out_dir=tmp_path / "out", clock="real", progress=False)
    result = asyncio.run(run_scenario(scenario, [("naive", catalog.get("naive"))], options))
    summary = result.summary
    assert result.exit_code == 0 and not result.aborted
    assert summary["status"] == "ok" and summary["saturated"] is True
    assert any("still sending 1.5 s after the start" in r for r in summary["saturation_reasons"])
    naive = summary["strategies"]["naive"]
    assert naive["saturated"] is True
    assert 0 < naive["requests"] < 200_000  # its numbers, as far as it got
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk["saturated"] is True and on_disk["status"] == "ok"
