"""Request records survive a killed run: each flush is a complete gzip member written to the OS,
and the reader keeps every complete line of a file whose last member was cut short."""

from __future__ import annotations

import gzip
import logging
import signal
import time
from pathlib import Path

import pytest
from clitools import popen, small_scenario

from harness.compare.rundir import REQUESTS, RunFileError, iter_requests
from harness.events import RequestFinished
from harness.outcomes import Outcome
from harness.telemetry.records import RecordWriter


def finished(i: int, end: float) -> RequestFinished:
    return RequestFinished(
        strategy="naive",
        op="get",
        key_hash=i,
        outcome=Outcome.OK,
        attempts=i + 1,  # identifies the record when read back
        regions_tried=("us-east-1",),
        region_served="us-east-1",
        status=200,
        intended_start=end - 0.01,
        start=end - 0.01,
        end=end,
    )


def test_flushes_one_member_per_second_of_run_time(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / REQUESTS, origin=0.0, flush_every=1000)
    sizes = []
    for i in range(50):  # 10 records per second of run time, over 5 s
        writer.write(finished(i, 0.1 * (i + 1)))
        sizes.append((tmp_path / REQUESTS).stat().st_size)
    # on disk after about one second of records, before close; never a 0-byte file after that
    assert sizes[8] == 0 and sizes[9] > 0 and all(s > 0 for s in sizes[9:])
    assert len(set(sizes)) >= 5  # a member per second
    writer.close()
    with gzip.open(tmp_path / REQUESTS, "rt") as lines:  # plain gzip reads concatenated members
        hashes = [int(line.split('"key_hash":')[1].split(",")[0]) for line in lines]
    assert hashes == list(range(50))


def test_a_cut_last_member_keeps_every_complete_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = RecordWriter(tmp_path / REQUESTS, origin=0.0, flush_every=10)
    for i in range(30):
        writer.write(finished(i, 0.001 * (i + 1)))
    writer.close()
    data = (tmp_path / REQUESTS).read_bytes()
    members = data.count(b"\x1f\x8b\x08")
    assert members == 3
    last_start = data.rindex(b"\x1f\x8b\x08")
    for cut in (last_start + 1, last_start + 15, (last_start + len(data)) // 2, len(data) - 1):
        (tmp_path / REQUESTS).write_bytes(data[:cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            kept = [r.attempts - 1 for r in iter_requests(tmp_path)]
        assert kept[:20] == list(range(20)) and kept == list(range(len(kept)))
        if cut < last_start + 20:  # not even the first line of the last member
            assert len(kept) == 20
        if cut == len(data) - 1:  # only the trailer is missing: every line is complete
            assert len(kept) == 30
        [warning] = caplog.messages
        assert "truncated" in warning and f"offset {last_start}" in warning
    (tmp_path / REQUESTS).write_bytes(data)
    assert [r.attempts - 1 for r in iter_requests(tmp_path)] == list(range(30))


def test_garbage_after_a_member_is_still_an_error(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / REQUESTS, origin=0.0)
    writer.write(finished(0, 0.01))
    writer.close()
    with (tmp_path / REQUESTS).open("ab") as out:
        out.write(b"not gzip at all")
    with pytest.raises(RunFileError, match="corrupt gzip"):
        list(iter_requests(tmp_path))


def test_sigkill_mid_run_keeps_the_records_before_the_last_second(tmp_path: Path) -> None:
    scenario = small_scenario(tmp_path, duration="60s", clock="real", at="30s")
    out = tmp_path / "out"
    proc = popen("run", scenario, "--out", out, "--metrics-addr", "off")
    try:
        deadline = time.monotonic() + 30
        while not (out / REQUESTS).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(3.0)  # real time: ~3 s of a 2-strategy, 20/s run
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert (out / REQUESTS).stat().st_size > 0
    records = list(iter_requests(out))
    # 2 strategies × 20/s × ~3 s = ~120 finished; all but the last second (~40) are on disk
    assert len(records) >= 40, len(records)
    assert {r.strategy for r in records} == {"naive", "breaker-failover"}
