"""`factory:` strategies from the command line: the worked example runs, `validate` imports (never
calls) a factory and refuses what is not one, and a wrong return type is exit 2 naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clitools import small_scenario

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "factory"


def harness(
    *args: str | Path, pythonpath: Path, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "harness", *map(str, args)],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
    )  # fmt: skip


def with_strategies(tmp_path: Path, strategies: str) -> Path:
    path = tmp_path / "s.yaml"
    text = small_scenario(tmp_path).read_text()
    path.write_text(text.replace("strategies: [naive, breaker-failover]", strategies))
    return path


def test_the_worked_example_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    scenario = EXAMPLE / "scenario.yaml"
    assert harness("validate", scenario, pythonpath=EXAMPLE).returncode == 0
    done = harness(
        "run", scenario, "--duration", "9s", "--out", out, "--metrics-addr", "off",
        pythonpath=EXAMPLE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    strategies = json.loads((out / "summary.json").read_text())["strategies"]
    assert set(strategies) == {"naive", "tuned-retry", "home-then-nearest"}
    # the fault empties us-east-1's record: the code that falls back to us-west-2 rides it out
    assert strategies["home-then-nearest"]["availability"] > strategies["naive"]["availability"]
    assert strategies["home-then-nearest"]["availability"] > 0.99


def test_validate_imports_the_factory_module(tmp_path: Path) -> None:
    scenario = with_strategies(
        tmp_path, "strategies: [naive, {name: mine, factory: 'no_such_module_xyz:build'}]"
    )
    done = harness("validate", scenario, pythonpath=tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"{scenario}:") and "strategies[1].factory:" in line
    assert "cannot import 'no_such_module_xyz'" in line


def test_validate_refuses_a_callable_that_is_not_a_strategy_factory(tmp_path: Path) -> None:
    victim = tmp_path / "victim"  # rmtree("victim", scenario) would delete it, if it were called
    (victim / "inside").mkdir(parents=True)
    scenario = with_strategies(tmp_path, "strategies: [{name: victim, factory: 'shutil:rmtree'}]")
    for args in (("validate", scenario), ("run", scenario, "--out", tmp_path / "out")):
        done = harness(*args, pythonpath=tmp_path, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "not a strategy factory, so it was not called" in done.stderr
        assert "Traceback" not in done.stderr
    assert (victim / "inside").is_dir()


def test_execute_returning_the_wrong_type_is_exit_2_naming_the_strategy(tmp_path: Path) -> None:
    scenario = with_strategies(
        tmp_path, "strategies: [naive, {name: mine, factory: 'user_strategies:wrong_type'}]"
    )
    done = harness(
        "run", scenario, "--out", tmp_path / "out", "--metrics-addr", "off",
        pythonpath=ROOT / "tests",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert "strategy 'mine': its execute() returned int, expected a" in done.stderr
