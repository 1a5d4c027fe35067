"""One run of a scenario: worlds, client pools, faults, telemetry, results."""

from harness.runner.options import RunOptions, RunResult
from harness.runner.run import run_scenario

__all__ = ["RunOptions", "RunResult", "run_scenario"]
