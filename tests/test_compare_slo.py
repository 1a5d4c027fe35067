"""SLO gates: one-line messages, and gates that cannot be evaluated fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.compare import Comparison, build_comparison, evaluate_slos
from harness.compare.fake_run import TINY_FAULT, tiny_requests, write_fake_run
from harness.scenario.model import SloSpec


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    run = write_fake_run(
        tmp_path_factory.mktemp("slo") / "run", tiny_requests(), elapsed=20.0, faults=[TINY_FAULT]
    )
    return build_comparison(run, baseline=None, slos={}, settle=2.0)


def test_violations_are_one_line_messages(tiny: Comparison) -> None:
    slos = {
        "failover": SloSpec(availability_during_fault=0.9, p99=0.05, max_attempts_per_request=1.1),
        "naive": SloSpec(availability=0.6, p99="100ms"),  # type: ignore[arg-type]
    }
    messages = [str(v) for v in evaluate_slos(slos, tiny)]
    assert messages == [
        "failover: availability_during_fault 0.800 < 0.9",
        "failover: max_attempts_per_request 1.200 > 1.1",
        "naive: p99 0.200s > 0.1s",
    ]


def test_passing_gates_give_no_violation(tiny: Comparison) -> None:
    slos = {"failover": SloSpec(availability=0.95, availability_after_recovery=1.0, p50=0.011)}
    assert evaluate_slos(slos, tiny.rows) == []


def test_value_close_to_the_limit_shows_enough_decimals(tiny: Comparison) -> None:
    (violation,) = evaluate_slos({"failover": SloSpec(availability=0.9501)}, tiny)
    assert violation.message == "failover: availability 0.9500 < 0.9501"
    assert violation.actual == pytest.approx(0.95) and violation.limit == 0.9501


def test_gates_that_cannot_be_evaluated_fail(tmp_path: Path, tiny: Comparison) -> None:
    (missing,) = evaluate_slos({"ghost": SloSpec(availability=0.9)}, tiny)
    assert (
        missing.message
        == "ghost: availability not measured (the strategy is not in the comparison)"
    )
    no_fault = build_comparison(
        write_fake_run(tmp_path / "r", tiny_requests(), elapsed=20.0), slos={}
    )
    (unmeasured,) = evaluate_slos({"naive": SloSpec(availability_during_fault=0.9)}, no_fault)
    assert unmeasured.message == "naive: availability_during_fault not measured (limit 0.9)"
    assert unmeasured.actual is None


def test_build_comparison_records_violations(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "r", tiny_requests(), elapsed=20.0, faults=[TINY_FAULT])
    c = build_comparison(run, baseline=None, slos={"naive": SloSpec(availability=0.99)})
    assert [v.message for v in c.violations] == ["naive: availability 0.650 < 0.99"]
    assert set(c.slos) == {"naive"}
