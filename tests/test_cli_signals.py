"""Ctrl-C and SIGTERM end runs cleanly: faults reverted, sockets closed, partial results written.
These run in real time (a signal has to arrive mid-run), a few seconds each."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import dns.asyncquery
import dns.message
import dns.rcode
import pytest
from clitools import popen, small_scenario


def wait_for(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 130)])
def test_signal_mid_fault_reverts_and_writes_partial_results(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    scenario = small_scenario(tmp_path, duration="60s", clock="real", at="1s", fault_duration="50s")
    out = tmp_path / "out"
    proc = popen("run", scenario, "--out", out, "--metrics-addr", "off")
    try:
        wait_for(out / "requests.jsonl.gz")
        time.sleep(2.5)  # real time: the fault (at 1 s) is applied by now
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["aborted"] is True and "interrupted" in summary["abort_reason"]
    assert summary["elapsed"] < 30
    fault = summary["faults"][0]
    assert fault["applied_at"] is not None
    assert fault["revert_reason"] == "interrupted" and fault["reverted_at"] is not None
    assert summary["strategies"]["naive"]["requests"] > 0


def test_world_serves_until_sigterm_then_closes(tmp_path: Path) -> None:
    proc = popen("world", small_scenario(tmp_path))
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        host, port = info["dns"]["host"], info["dns"]["port"]
        query = dns.message.make_query("dynamodb.us-east-1.aws.test", "A")
        import asyncio

        answer = asyncio.run(dns.asyncquery.udp(query, host, port=port, timeout=2))
        assert answer.rcode() == dns.rcode.NOERROR
        addresses = sorted(r.address for rrset in answer.answer for r in rrset)
        assert addresses == sorted(info["regions"]["us-east-1"]["addresses"])
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, port))  # the port is free again: every socket was closed
