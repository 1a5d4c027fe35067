"""`harness compare` on local worker processes under trouble, through the real command: Ctrl-C
and SIGTERM stop every unit (exit 130 within 5 s, partial results and the comparison written, a
second Ctrl-C included), a worker killed with SIGKILL fails only its unit (retried once), a
stop_when condition aborts every unit, a bad cluster address is one line and exit 2."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clitools import ENV, harness, small_scenario

from harness.executors import CLUSTER_ENV
from harness.executors.plan import Execution, real_clock_note


def _popen(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or ENV,
    )


def _wait_for_running_units(directory: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(list(directory.glob("harness-unit-*/requests.jsonl.gz"))) < count:
        assert time.monotonic() < deadline, "the units never started"
        time.sleep(0.05)


def _long(tmp: Path) -> Path:
    # 4 units (2 strategies × 2 seeds) of ~10 s each on 2 workers: all running or queued.
    scenario = small_scenario(tmp, duration="150s", at="1s", fault_duration="140s")
    scenario.write_text(scenario.read_text().replace("rate: 20/s", "rate: 60/s"))
    return scenario


@pytest.mark.parametrize(
    ("signals", "name"),
    [
        ([signal.SIGINT], "ctrl-c"),
        ([signal.SIGTERM], "sigterm"),
        ([signal.SIGINT, signal.SIGINT], "ctrl-c twice"),
    ],
)
def test_a_signal_stops_every_unit_and_the_comparison_is_still_written(
    tmp_path: Path, signals: list[signal.Signals], name: str
) -> None:
    out = tmp_path / "out"
    units_tmp = tmp_path / "tmp"  # each running unit writes into a temporary directory here
    units_tmp.mkdir()
    env = {**ENV, "TMPDIR": str(units_tmp)}
    args = ("compare", _long(tmp_path), "--out", out, "--repeat", "2", "--workers", "2")
    proc = _popen(*args, env=env)
    try:
        _wait_for_running_units(units_tmp, 2)
        time.sleep(1.0)  # well into the outage (at 1 s of 150 s)
        sent = time.monotonic()
        for sig in signals:
            proc.send_signal(sig)
            time.sleep(0.3)
        _, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert took < 5.0, f"{name}: exited {took:.1f} s after the signal"
    assert "Traceback" not in stderr and "interrupted" in stderr
    # the two running units were stopped: their results are partial, marked, faults reverted
    summary = json.loads((out / "runs" / "01-seed11" / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["aborted"] is True
    assert {u["status"] for u in summary["units"]} == {"interrupted"}
    assert summary["elapsed"] < 150
    journal = json.loads((out / "runs" / "01-seed11" / "journal.json").read_text())
    assert set(journal) == {"naive", "breaker-failover"}
    assert all(f["revert_reason"] == "interrupted" for f in summary["faults"])
    # the units that never started are set aside; the comparison files are written anyway
    assert not (out / "runs" / "02-seed12").exists()
    assert (out / "comparison.json").exists() and (out / "comparison.md").exists()


def test_a_killed_worker_fails_only_its_unit_after_one_retry(tmp_path: Path, root: Path) -> None:
    scenario = small_scenario(tmp_path, duration="6s", at="2s", fault_duration="2s")
    scenario.write_text(
        scenario.read_text().replace(
            "strategies: [naive, breaker-failover]",
            "strategies: [naive, breaker-failover, "
            "{name: doomed, factory: 'user_strategies:killing'}]",
        )
    )
    env = {**ENV, "PYTHONPATH": str(root / "tests")}
    out = tmp_path / "out"
    proc = _popen("compare", scenario, "--out", out, "--workers", "2", env=env)
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 4, stderr
    assert "Traceback" not in stderr
    assert "01-seed11/doomed" in stderr and "running it again" in stderr
    assert "attempt 2 of 2" in stderr and "left out of the comparison" in stderr
    summary = json.loads((out / "runs" / "01-seed11" / "summary.json").read_text())
    assert list(summary["strategies"]) == ["naive", "breaker-failover"]  # the others finished
    units = {u["id"]: u for u in summary["units"]}
    assert units["01-seed11/naive"]["status"] == "ok"
    assert units["01-seed11/breaker-failover"]["status"] == "ok"
    doomed = units["01-seed11/doomed"]
    assert doomed["status"] == "error" and doomed["attempts"] == 2 and "died" in doomed["reason"]
    comparison = (out / "comparison.json").read_text()
    assert '"naive"' in comparison and "doomed" not in comparison


def test_stop_when_in_one_unit_aborts_every_unit(tmp_path: Path) -> None:
    extra = (
        "stop_when:\n"
        "  - {kind: success_ratio_below, strategy: naive, threshold: 0.9, window: 1s, after: 20s}\n"
    )
    scenario = small_scenario(tmp_path, duration="150s", at="15s", fault_duration="130s",
                              extra=extra)  # fmt: skip
    out = tmp_path / "out"
    result = harness("compare", scenario, "--out", out, "--workers", "2", "--no-progress")
    assert result.returncode == 3, result.stderr
    assert "stop_when naive success ratio" in result.stderr
    # The other unit was either running (stopped early, its partial results kept: a complete
    # repeat) or its worker had not started it yet (skipped: the repeat misses a strategy and is
    # set aside). Which one depends on how fast the second worker process came up.
    complete = out / "runs" / "01-seed11" / "summary.json"
    incomplete = out / "incomplete" / "01-seed11" / "summary.json"
    assert complete.exists() != incomplete.exists()
    summary = json.loads((complete if complete.exists() else incomplete).read_text())
    units = {u["id"]: u for u in summary["units"]}
    assert units["01-seed11/naive"]["status"] == "aborted"
    other = units["01-seed11/breaker-failover"]
    if complete.exists():
        assert other["status"] == "aborted", other
        assert "stopped early: stop_when naive" in other["reason"]
        assert summary["strategies"]["breaker-failover"]["requests"] < 150 * 20
    else:
        assert other["status"] == "skipped" and other["reason"] == "stopped before it started"
        assert "breaker-failover" not in summary["strategies"]


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "nonsense://what"])
def test_a_bad_cluster_address_is_one_line_exit_2(tmp_path: Path, address: str) -> None:
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    result = harness(
        "compare", small_scenario(tmp_path), "--cluster", address, "--out", out, timeout=60
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and address in lines[0] and "Traceback" not in result.stderr
    assert not out.exists()  # the results directory it made, still empty, is gone again


def test_the_dask_scheduler_can_come_from_the_environment(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    env = {**ENV, "HARNESS_DASK_SCHEDULER": "tcp://127.0.0.1:1"}
    proc = _popen("compare", small_scenario(tmp_path), "--out", tmp_path / "out", env=env)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "tcp://127.0.0.1:1" in stderr, stderr


def test_run_repeats_asks_for_seeds_and_repeat_overrides_it(tmp_path: Path) -> None:
    scenario = small_scenario(tmp_path, duration="4s", at="1s", fault_duration="1s")
    text = scenario.read_text().replace("run: {clock: virtual}", "run: {repeats: 2}")
    scenario.write_text(text)
    out = tmp_path / "two"
    result = harness("compare", scenario, "--out", out, "--executor", "inline")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["01-seed11", "02-seed12"]
    out = tmp_path / "one"
    result = harness("compare", scenario, "--out", out, "--executor", "inline", "--repeat", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["01-seed11"]
    bad = harness(
        "compare", scenario, "--executor", "inline", "--workers", "2", "--out", tmp_path / "bad"
    )
    assert bad.returncode == 2 and "--workers" in bad.stderr


def test_a_real_clock_compare_with_workers_says_it_runs_in_this_process(tmp_path: Path) -> None:
    scenario = small_scenario(tmp_path, duration="3s", clock="real", at="1s", fault_duration="1s")
    out = tmp_path / "out"
    result = harness("compare", scenario, "--out", out, "--repeat", "1", "--workers", "2")
    assert result.returncode == 0, result.stderr
    note = (
        "real clock: every strategy runs in this process (--workers 2 applies to virtual-clock "
        "runs only: a live run shows all its strategies on one /metrics endpoint)"
    )
    assert result.stderr.count(note) == 1, result.stderr
    summary = json.loads((out / "runs" / "01-seed11" / "summary.json").read_text())
    assert summary["clock"] == "real" and "units" not in summary  # one process, no units
    assert set(summary["strategies"]) == {"naive", "breaker-failover"}


@pytest.mark.parametrize(
    ("execution", "asked"),
    [
        (Execution("local", workers=3), "--workers 3"),
        (Execution("local"), "--executor local"),
        (Execution("dask", cluster="tcp://127.0.0.1:8786"), "--cluster"),
        (Execution("dask"), CLUSTER_ENV),
        (Execution("local", auto=True), None),  # nothing asked for: nothing to say
        (Execution("inline"), None),  # inline is what it does
        (None, None),
    ],
)
def test_the_real_clock_note_names_what_was_asked_for(
    execution: Execution | None, asked: str | None
) -> None:
    note = real_clock_note(execution)
    if asked is None:
        assert note is None
    else:
        assert note is not None and f"({asked} applies to virtual-clock runs only" in note
