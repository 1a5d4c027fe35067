"""`harness fault …` against a running world's control API, and `harness world --control` as a
process: one-line errors naming the flag, exit 2 on bad input, 1 when the world is unreachable,
every fault reverted (and journaled) when the world gets SIGTERM."""

from __future__ import annotations

import json
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import harness as run_harness
from clitools import popen
from typer.testing import CliRunner

import harness.testing
from harness.cli import app

SCENARIO = """
name: cli-fault
duration: 60s
regions:
  - {name: us-east-1, endpoints: 2, azs: [use1-az1, use1-az2]}
  - {name: us-west-2, endpoints: 1}
clients: {home_region: us-east-1}
strategies: [naive]
timeline:
  - {fault: dns.nodata, target: us-east-1, at: 30s, duration: 10s}
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "cli-fault.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture
def world(scenario_file: Path) -> Iterator[harness.testing.TestWorld]:
    with harness.testing.world(scenario_file, resolve=False) as running:
        yield running


def fault(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["fault", *args])
    return result.exit_code, result.stdout, result.stderr


def test_apply_list_revert_with_the_spec_shorthand(world: harness.testing.TestWorld) -> None:
    url = world.info["control"]
    code, out, _ = fault(
        "apply", "dns.nodata", "--target", "us-east-1", "--duration", "60s", "--control", url
    )
    assert code == 0
    assert out.startswith("fault 1: dns.nodata on us-east-1 applied, at ")
    assert "reverts at" in out
    code, out, _ = fault(
        "apply",
        "endpoint.errors",
        "--target",
        "us-east-1",
        "--az",
        "use1-az2",
        "--set",
        "status=503",
        "--rate",
        "0.5",
        "--control",
        url,
        "--json",
    )
    applied = json.loads(out)
    assert code == 0 and applied["target"] == "us-east-1/use1-az2"
    assert applied["spec"]["status"] == 503 and applied["spec"]["rate"] == 0.5
    code, out, _ = fault("list", "--control", url)
    assert code == 0 and [line.split(":")[0] for line in out.splitlines()] == ["fault 1", "fault 2"]
    code, out, _ = fault("revert", "1", "--control", url)
    assert code == 0 and "reverted" in out and "(control)" in out
    code, out, _ = fault("revert", "--all", "--control", url)
    assert code == 0 and out.startswith("fault 2: endpoint.errors")
    code, out, _ = fault("journal", "--control", url)
    journal = json.loads(out)
    assert [e["action"] for e in journal["entries"]] == ["apply", "apply", "revert", "revert"]
    code, out, _ = fault("timeline", "--control", url)
    assert code == 0 and "due at" in out
    code, out, _ = fault("catalog", "--control", url)
    assert "dns.slow: delay=500ms (duration), jitter=0ms (duration)" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["dns.nodata", "--target", "eu-west-9"], "--target: unknown region 'eu-west-9'"),
        (["dns.nodata", "--target", "us-east-1", "--duration", "soon"], "--duration: 'soon'"),
        (["dns.nope", "--target", "us-east-1"], "FAULT: unknown fault 'dns.nope'"),
        (["dns.nodata"], "--target: Field required"),
        (["endpoint.errors", "--target", "us-east-1", "--set", "status=502"], "--set status:"),
        (["dns.nodata", "--target", "us-east-1", "--set", "colour=red"], "--set colour: unknown"),
        (["dns.nodata", "--target", "us-east-1", "--set", "colour"], "--set: expected NAME=VALUE"),
        (["dns.nodata", "--target", "us-east-1", "--set", "at=1s"], "--set at: use --at instead"),
        (["dns.nodata", "--target", "us-east-1", "--endpoints", "9"], "--endpoints: endpoint 9"),
        (["dns.nodata", "--endpoints", "0"], "name the region with --target too"),
        (["dns.automation_race", "--target", "us-east-1"], "needs dns.automation.enabled"),
    ],
)
def test_bad_input_is_one_line_naming_the_flag_and_exit_2(
    world: harness.testing.TestWorld, args: list[str], expected: str
) -> None:
    code, _, err = fault("apply", *args, "--control", world.info["control"])
    assert code == 2
    assert expected in err
    assert err.startswith("harness fault apply: ") and "Traceback" not in err
    assert world.faults() == []


def test_revert_needs_an_id_or_all_and_names_unknown_ids(world: harness.testing.TestWorld) -> None:
    url = world.info["control"]
    assert fault("revert", "--control", url)[0] == 2
    code, _, err = fault("revert", "7", "--control", url)
    assert code == 2 and err.strip() == "harness fault revert: no fault with id 7"


def test_a_world_that_is_not_there_is_exit_1_and_a_wrong_token_exit_2(
    scenario_file: Path,
) -> None:
    with harness.testing.world(scenario_file, resolve=False, token="t0k") as w:
        url = w.info["control"]
        code, _, err = fault("list", "--control", url)
        assert code == 2 and "bearer token" in err
        code, out, _ = fault("list", "--control", url, "--token", "t0k")
        assert code == 0 and out.strip() == "no faults"
    code, _, err = fault("list", "--control", url, "--token", "t0k")
    assert code == 1 and err.startswith(f"harness fault list: no world answers at {url}")
    code, _, err = fault("list", "--control", "http://10.1.2.3:80")
    assert code == 2 and "'10.1.2.3' is not a loopback address" in err


def test_world_process_reverts_every_fault_on_sigterm_and_journals_it(
    scenario_file: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.json"
    proc = popen(
        "world",
        scenario_file,
        "--control",
        "127.0.0.1:0",
        "--journal",
        journal,
        "--metrics-addr",
        "127.0.0.1:0",
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["control"].startswith("http://127.0.0.1:")
        assert info["metrics"].startswith("http://127.0.0.1:")
        assert info["metrics"] != f"{info['control']}/metrics"
        with urllib.request.urlopen(info["metrics"], timeout=10) as response:
            assert "harness_endpoint_capacity" in response.read().decode()
        applied = run_harness(
            "fault", "apply", "dns.nodata", "--target", "us-east-1", "--control", info["control"]
        )
        assert applied.returncode == 0, applied.stderr
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "fault 1 dns.nodata on us-east-1 applied" in stderr
    assert "fault 1 dns.nodata on us-east-1 reverted (interrupted)" in stderr
    entries = json.loads(journal.read_text())["entries"]
    assert [(e["action"], e["reason"]) for e in entries] == [
        ("apply", None),
        ("revert", "interrupted"),
    ]


def test_world_refuses_a_non_loopback_control_address(scenario_file: Path) -> None:
    result = run_harness("world", scenario_file, "--control", "0.0.0.0:8474", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --control host '0.0.0.0' is not a loopback address (127.0.0.0/8 or ::1)"
    )
