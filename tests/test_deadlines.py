"""The caller's deadline is explicit: `none` in the scenario, a strategy's own, stated per
strategy in summary.json and on the scoreboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from policy_fakes import FakeTransport, make_pipeline, make_request

from harness.client import catalog
from harness.client.policies.timeout import caller_deadline
from harness.compare.build import build_comparison
from harness.compare.fake_run import FakeRequest, write_fake_run
from harness.compare.serialize import load_comparison, save_comparison
from harness.errors import ScenarioError
from harness.outcomes import Outcome
from harness.report.markdown import render_markdown
from harness.scenario import parse_scenario
from harness.scenario.strategy_spec import RetryBlock, StrategySpec, TimeoutBlock

MINIMAL = """
name: d
duration: 10s
regions: [{name: r1}]
clients: {deadline: %s}
strategies: [naive]
"""


@pytest.mark.parametrize(
    ("written", "seconds"), [("none", None), ("None", None), ("10s", 10.0), ("250ms", 0.25)]
)
def test_clients_deadline_may_be_none(written: str, seconds: float | None) -> None:
    scenario = parse_scenario(MINIMAL % written)
    assert scenario.clients.deadline == seconds
    again = type(scenario).model_validate_json(scenario.model_dump_json())
    assert again.clients.deadline == seconds


def test_a_bad_deadline_names_the_field() -> None:
    with pytest.raises(ScenarioError, match=r"clients\.deadline"):
        parse_scenario(MINIMAL % "never")


def test_the_deadline_in_force_per_strategy() -> None:
    own = StrategySpec(name="own", blocks=(TimeoutBlock(attempt=1.0, deadline=30.0),))
    unbounded = StrategySpec(name="unbounded", blocks=(TimeoutBlock(deadline="none"),))
    assert caller_deadline(own, 3.0) == 30.0
    assert caller_deadline(unbounded, 3.0) is None
    assert caller_deadline(catalog.get("aws-legacy-dynamodb"), 10.0) == 10.0
    assert caller_deadline(catalog.get("naive"), None) is None


@pytest.mark.looptime
@pytest.mark.parametrize(("deadline", "attempts"), [(3.0, 5), ("none", 10)])
async def test_without_a_deadline_the_sdk_schedule_runs_to_its_end(
    deadline: float | str, attempts: int
) -> None:
    """botocore legacy DynamoDB: 10 attempts, 50 ms doubling. A 3 s caller deadline cuts it."""
    retry = RetryBlock(max_attempts=10, backoff="exponential", base=0.05, cap=3600.0)
    blocks = [TimeoutBlock(attempt=0.5, deadline=deadline), retry]  # type: ignore[arg-type]
    transport = FakeTransport(behaviour=lambda region, now: Outcome.TIMEOUT, latency=0.5)
    pipeline = make_pipeline(blocks, transport)
    outcome = await pipeline.execute(make_request(deadline=3.0))
    assert outcome.attempts == attempts


def test_the_scoreboard_states_the_deadline_per_strategy(tmp_path: Path) -> None:
    requests = [
        FakeRequest(name, t / 10, 0.01)
        for name in ("naive", "aws-standard-2026", "aws-legacy-dynamodb")
        for t in range(20)
    ]
    run = write_fake_run(tmp_path / "run", requests, elapsed=2.0)
    summary = json.loads((run / "summary.json").read_text())
    summary["strategies"]["naive"]["deadline"] = 10.0
    summary["strategies"]["aws-standard-2026"]["deadline"] = 10.0
    summary["strategies"]["aws-legacy-dynamodb"]["deadline"] = "none"
    (run / "summary.json").write_text(json.dumps(summary))
    comparison = build_comparison(run, baseline="naive", slos={})
    assert comparison.row("aws-legacy-dynamodb").deadline == "none"
    line = "Caller deadline per request (retries included): 10 s; none for `aws-legacy-dynamodb`."
    assert line in render_markdown(comparison)
    (tmp_path / "cmp").mkdir()
    save_comparison(comparison, tmp_path / "cmp")
    assert load_comparison(tmp_path / "cmp").row("naive").deadline == "10 s"
