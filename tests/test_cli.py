"""The `harness` command as a user runs it: exit codes, one-line errors, files written."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
from pathlib import Path

from clitools import ENV, harness, small_scenario


def test_validate_accepts_every_shipped_scenario(root: Path) -> None:
    files = sorted((root / "scenarios").glob("*.yaml"))
    assert len(files) >= 8
    result = harness("validate", *files)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(files)


def test_validate_reports_file_line_field_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration: -5s\nregions:\n  - name: a\n    bogus: 1\n")
    result = harness("validate", bad)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert f"{bad}:2: duration:" in lines[0]
    assert any(f"{bad}:5: regions[0].bogus: unknown field" in line for line in lines)
    assert "Traceback" not in result.stderr


def test_validate_missing_file_and_directory(tmp_path: Path) -> None:
    result = harness("validate", tmp_path / "nope.yaml", tmp_path)
    assert result.returncode == 2
    assert "no such file" in result.stderr and "is a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_is_json_schema() -> None:
    result = harness("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Scenario"
    assert "timeline" in schema["properties"]


def test_strategies_lists_the_catalog() -> None:
    result = harness("strategies")
    assert result.returncode == 0
    names = ("naive", "aws-standard-2026", "aws-adaptive-2026", "breaker-failover", "pinned-dns")
    for name in names:
        assert name in result.stdout


def test_run_writes_results_and_journal(tmp_path: Path) -> None:
    scenario = small_scenario(tmp_path)
    out = tmp_path / "out"
    result = harness("run", scenario, "--out", out, "--metrics-addr", "off")
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clock"] == "virtual" and summary["aborted"] is False
    assert set(summary["strategies"]) == {"naive", "breaker-failover"}
    naive = summary["strategies"]["naive"]
    for field in (
        "requests",
        "ok",
        "availability",
        "latency_ms",
        "attempts_per_request",
        "outcomes",
        "regions_served",
        "cross_region_share",
        "stale_reads",
        "lost_writes",
    ):
        assert field in naive
    assert set(naive["latency_ms"]) == {"p50", "p90", "p99", "p999", "max"}
    assert naive["deadline"] == summary["strategies"]["breaker-failover"]["deadline"] == 2.0
    assert naive["outcomes"].get("dns_nodata", 0) > 0
    fault = summary["faults"][0]
    assert fault["fault"] == "dns.nodata" and fault["target"] == "us-east-1"
    assert abs(fault["applied_at"] - 4.0) < 0.01 and abs(fault["reverted_at"] - 8.0) < 0.01
    with gzip.open(out / "requests.jsonl.gz", "rt") as f:
        lines = [json.loads(line) for line in f]
    assert len(lines) == naive["requests"] + summary["strategies"]["breaker-failover"]["requests"]
    journal = json.loads((out / "journal.json").read_text())
    assert journal
    assert "naive" in result.stdout and "results:" in result.stdout


def test_run_unknown_strategy_is_one_line_exit_2(tmp_path: Path) -> None:
    result = harness("run", small_scenario(tmp_path), "--strategy", "nope", "--metrics-addr", "off")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "nope" in result.stderr and "Traceback" not in result.stderr


def test_run_metrics_port_in_use_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = harness(
            "run",
            small_scenario(tmp_path),
            "-s",  # one strategy runs in this process and serves /metrics (units do not)
            "naive",
            "--metrics-addr",
            f"127.0.0.1:{port}",
            "--out",
            tmp_path / "o",
        )
    assert result.returncode == 2, result.stdout + result.stderr
    assert str(port) in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_non_loopback_metrics_needs_to_be_explicit_and_dns_host_is_refused(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        small_scenario(tmp_path)
        .read_text()
        .replace(
            "dns: {ttl: 1s, negative_ttl: 1s}", "dns: {ttl: 1s, negative_ttl: 1s, host: 10.0.0.1}"
        )
    )
    result = harness("run", scenario, "--metrics-addr", "off")
    assert result.returncode == 2
    assert "dns.host" in result.stderr and "loopback" in result.stderr


def test_stop_condition_aborts_with_exit_3_and_reverts(tmp_path: Path) -> None:
    extra = (
        "stop_when:\n  - {kind: success_ratio_below, strategy: naive, threshold: 0.5, window: 2s}\n"
    )
    scenario = small_scenario(tmp_path, duration="30s", at="4s", fault_duration="20s", extra=extra)
    out = tmp_path / "out"
    result = harness("run", scenario, "--out", out, "--metrics-addr", "off")
    assert result.returncode == 3, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["aborted"] is True and "success ratio" in summary["abort_reason"]
    assert summary["elapsed"] < 20
    fault = summary["faults"][0]
    assert fault["revert_reason"] == "aborted"
    assert fault["reverted_at"] is not None and fault["reverted_at"] < 20


def test_compare_and_report_rerender(tmp_path: Path) -> None:
    scenario = small_scenario(tmp_path)
    out = tmp_path / "cmp"
    result = harness("compare", scenario, "--out", out, "--repeat", "2", "--baseline", "naive")
    assert result.returncode == 0, result.stderr
    for name in ("comparison.json", "comparison.md", "comparison.csv", "report.html"):
        assert (out / name).exists(), name
    assert len(list((out / "runs").iterdir())) == 2
    md = (out / "comparison.md").read_text()
    assert "breaker-failover" in md and "naive" in md
    (out / "report.html").unlink()
    again = harness("report", out)
    assert again.returncode == 0, again.stderr
    assert (out / "report.html").exists()
    assert "breaker-failover" in again.stdout and "paired t test" in again.stdout
    # --format: the document alone on stdout (pipeable), the files written on stderr
    as_csv = harness("report", out, "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.startswith("rank,tied,strategy,") and "wrote" in as_csv.stderr
    as_json = harness("report", out, "--format", "json")
    assert json.loads(as_json.stdout)["verdict"]["test"] == "paired-t-holm"
    as_md = harness("report", out, "--format", "md")
    assert as_md.stdout.startswith("# Comparison: small")
    # the scoreboard fits the reader's width (COLUMNS), never cutting a name or a number
    for width in (80, 120):
        narrow = subprocess.run(
            [sys.executable, "-m", "harness", "report", str(out)], capture_output=True,
            text=True, timeout=120, env={**ENV, "COLUMNS": str(width)},
        )  # fmt: skip
        table = narrow.stdout.split("wrote ")[0].splitlines()
        assert max(len(line) for line in table) <= width and "…" not in narrow.stdout
        assert "breaker-failover" in narrow.stdout
    bad = harness("report", out, "--format", "xml")
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: --format: expected one of table, md, csv, json, got 'xml'"
    )


def test_slo_violation_exits_1_and_names_it(tmp_path: Path) -> None:
    extra = "slo:\n  naive: {availability_during_fault: 0.99}\n"
    result = harness(
        "run",
        small_scenario(tmp_path, extra=extra),
        "--out",
        tmp_path / "o",
        "--metrics-addr",
        "off",
    )
    assert result.returncode == 1, result.stderr
    assert "naive" in result.stderr and "availability_during_fault" in result.stderr


def test_world_on_a_busy_dns_port_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        scenario = tmp_path / "s.yaml"
        scenario.write_text(
            small_scenario(tmp_path)
            .read_text()
            .replace(
                "dns: {ttl: 1s, negative_ttl: 1s}",
                f"dns: {{ttl: 1s, negative_ttl: 1s, port: {port}}}",
            )
        )
        result = harness("world", scenario, timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and str(port) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_user_strategy_that_raises_is_named_in_one_line_and_recorded_as_error(
    tmp_path: Path, root: Path
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        small_scenario(tmp_path)
        .read_text()
        .replace(
            "strategies: [naive, breaker-failover]",
            "strategies: [naive, {name: mine, factory: 'user_strategies:raising'}]",
        )
    )
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(root / "tests")}
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            str(scenario),
            "--out",
            str(out),
            "--metrics-addr",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'mine'" in lines[0] and "boom in user code" in lines[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "error" and "boom" in summary["abort_reason"]
    assert summary["faults"] == [] or all(
        f["reverted_at"] is not None or f["applied_at"] is None for f in summary["faults"]
    )


def test_bad_cli_values_are_one_line_exit_2(tmp_path: Path) -> None:
    scenario = small_scenario(tmp_path)
    for args in (
        ["-s", "naive", "-s", "naive", "--metrics-addr", "off"],
        ["--metrics-addr", "127.0.0.1:99999"],
        ["--duration", "-5s", "--metrics-addr", "off"],
    ):
        result = harness("run", scenario, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr
    busy = tmp_path / "a-file"
    busy.write_text("x")
    result = harness("run", scenario, "--out", busy / "sub", "--metrics-addr", "off")
    assert result.returncode == 2 and "--out" in result.stderr, result.stderr


def test_a_run_covers_the_whole_duration_and_says_its_status(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = harness("run", small_scenario(tmp_path), "--out", out, "--metrics-addr", "off")
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "ok"
    assert summary["elapsed"] >= summary["duration"]


def test_compare_refuses_to_mix_with_earlier_results(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    (out / "runs" / "01-seed1").mkdir(parents=True)
    result = harness("compare", small_scenario(tmp_path), "--out", out)
    assert result.returncode == 2
    assert "already holds results" in result.stderr
