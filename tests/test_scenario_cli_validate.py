"""`harness validate` prints one `FILE:LINE: field: message` line per problem and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import load_scenario

CORPUS = Path(__file__).parent / "data" / "bad_scenarios"
ROOT = Path(__file__).parents[1]


def _validate(*files: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(
        [sys.executable, "-m", "harness", "validate", *map(str, files)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )


def test_validate_prints_exactly_one_line_per_problem() -> None:
    files = [CORPUS / "many_problems.yaml", CORPUS / "unknown_fault_kind.yaml"]
    expected: list[str] = []
    for path in files:
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
        expected += [
            str(problem).replace(str(ROOT) + os.sep, "") for problem in caught.value.problems
        ]
    result = _validate(*(path.relative_to(ROOT) for path in files))
    assert result.returncode == 2
    assert result.stderr.splitlines() == expected


def test_validate_exits_2_on_bad_input() -> None:
    result = _validate((CORPUS / "zero_regions.yaml").relative_to(ROOT))
    assert result.returncode == 2
    assert "zero_regions.yaml:3: regions: needs at least 1 item" in result.stderr
    assert "Traceback" not in result.stderr
