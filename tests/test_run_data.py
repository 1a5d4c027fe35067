import gzip
import json
from pathlib import Path

import pytest

from harness.events import RequestFinished
from harness.outcomes import Outcome
from harness.telemetry.latency import LatencyHistogram
from harness.telemetry.records import RecordWriter
from harness.telemetry.summary import StrategyStats
from harness.telemetry.timeseries import TimeSeries, choose_bucket


def finished(
    intended: float,
    latency: float,
    outcome: Outcome = Outcome.OK,
    served: str | None = "a",
    attempts: int = 1,
    strategy: str = "s",
) -> RequestFinished:
    return RequestFinished(
        strategy=strategy,
        op="get",
        key_hash=1,
        outcome=outcome,
        attempts=attempts,
        regions_tried=("a",) * attempts,
        region_served=served,
        status=200,
        intended_start=intended,
        start=intended,
        end=intended + latency,
    )


def test_latency_histogram_percentiles_are_close() -> None:
    hist = LatencyHistogram()
    for i in range(1, 1001):
        hist.record(i / 1000)  # 1 ms .. 1 s
    s = hist.summary_ms()
    assert s["p50"] == pytest.approx(500, rel=0.01)
    assert s["p99"] == pytest.approx(990, rel=0.01)
    assert s["max"] == pytest.approx(1000, rel=0.01)
    assert LatencyHistogram().summary_ms()["p50"] is None


def test_strategy_stats_counts_outcomes_regions_and_cross_region() -> None:
    stats = StrategyStats("s", home="a")
    stats.add(finished(0, 0.01))
    stats.add(finished(0, 0.02, served="b"))
    stats.add(finished(0, 0.5, Outcome.DNS_NODATA, served=None, attempts=3))
    out = stats.to_json()
    assert out["requests"] == 3 and out["ok"] == 2
    assert out["availability"] == pytest.approx(2 / 3, abs=1e-6)
    assert out["attempts_per_request"] == pytest.approx(5 / 3, abs=1e-3)
    assert out["outcomes"] == {"dns_nodata": 1, "ok": 2}
    assert out["regions_served"] == {"a": 1, "b": 1}
    assert out["cross_region_share"] == 0.5
    # latency of successes apart from all requests: the 0.5 s failure is only in latency_ms
    assert out["latency_ms"]["max"] == pytest.approx(500, rel=0.01)
    assert out["latency_ok_ms"]["max"] == pytest.approx(20, rel=0.01)
    assert out["latency_ok_ms"]["p50"] == pytest.approx(10, rel=0.01)


def test_fast_failures_do_not_make_the_latency_of_successes_look_better() -> None:
    stats = StrategyStats("s", home="a")
    for _ in range(10):
        stats.add(finished(0, 0.200))  # ten successes of 200 ms
    for _ in range(90):
        stats.add(finished(0, 0.0001, Outcome.DNS_NODATA, served=None))  # ninety 0.1 ms failures
    out = stats.to_json()
    assert out["latency_ms"]["p50"] == pytest.approx(0.1, rel=0.05)  # all: looks fast
    assert out["latency_ok_ms"]["p50"] == pytest.approx(200, rel=0.01)  # successes: honest


def test_timeseries_buckets_by_intended_start() -> None:
    series = TimeSeries(origin=100.0, duration=10.0, regions=("a", "b"))
    assert series.bucket == choose_bucket(10.0) == 0.05
    series.add(finished(100.01, 0.004))
    series.add(finished(100.02, 0.100, Outcome.TIMEOUT, served=None, attempts=2))
    series.add(finished(105.0, 0.002))
    out = series.to_json()["strategies"]["s"]
    assert out["requests"][0] == 2 and out["ok"][0] == 1 and out["attempts"][0] == 3
    assert out["requests"][100] == 1
    assert out["region_attempts"]["a"][0] == 0  # load comes from attempts, see below
    assert out["latency_p50_ms"][100] == pytest.approx(2.0, rel=0.1)
    assert out["latency_p99_ms"][0] == pytest.approx(100, rel=0.1)
    assert out["latency_p50_ms"][1] is None
    # successes only: the 100 ms timeout is not among them
    assert out["latency_ok_p99_ms"][0] == pytest.approx(4.0, rel=0.1)
    assert out["latency_ok_p50_ms"][100] == pytest.approx(2.0, rel=0.1)


def test_record_writer_streams_gzip_json_lines(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "r.jsonl.gz", origin=10.0)
    for i in range(2500):
        writer.write(finished(10.0 + i / 1000, 0.01))
    writer.close()
    writer.close()  # idempotent
    with gzip.open(tmp_path / "r.jsonl.gz", "rt") as f:
        lines = [json.loads(line) for line in f]
    assert len(lines) == 2500 == writer.written
    assert lines[1]["intended"] == pytest.approx(0.001)
    assert lines[0]["outcome"] == "ok" and lines[0]["regions"] == ["a"]


def test_region_load_counts_only_attempts_that_reached_the_region() -> None:
    from harness.events import AttemptFinished

    series = TimeSeries(origin=0.0, duration=10.0, regions=("a", "b"))
    reached = AttemptFinished(
        "s", "a", Outcome.THROTTLED, is_retry=False, is_hedge=False, duration=0.01
    )
    dns_fail = AttemptFinished(
        "s", "a", Outcome.DNS_NODATA, is_retry=True, is_hedge=False, duration=0.0
    )
    other = AttemptFinished("s", "b", Outcome.OK, is_retry=False, is_hedge=False, duration=0.01)
    series.add_attempt(reached, now=1.0)
    series.add_attempt(dns_fail, now=1.0)
    series.add_attempt(other, now=2.0)
    out = series.to_json()["strategies"]["s"]["region_attempts"]
    index = int(1.0 / series.bucket)
    assert out["a"][index] == 1 and sum(out["a"]) == 1
    assert out["b"][int(2.0 / series.bucket)] == 1


def test_timeseries_memory_is_flat_in_run_length() -> None:
    """Only buckets whose requests may still be running keep latency bins; the others keep
    their p50/p99. An hour of one request per 50 ms holds the same few bins as a minute."""
    series = TimeSeries(origin=0.0, duration=3600.0, regions=("a",), horizon=5.0)
    assert series.bucket == 15.0
    peak_open = 0
    for i in range(72_000):
        t = i / 20
        series.add(finished(t, 0.002 if i % 100 else 0.400))
        peak_open = max(peak_open, series._series["s"].open_buckets)
    assert peak_open <= 2  # 5 s horizon over 15 s buckets: the current one and the previous
    out = series.to_json()["strategies"]["s"]
    assert out["requests"] == [300] * 240
    assert out["latency_p50_ms"][0] == pytest.approx(2.0, rel=0.05)
    assert out["latency_p99_ms"][120] == pytest.approx(2.0, rel=0.05)
    assert max(out["latency_p99_ms"]) < 3  # one slow request in 100: p99 is the fast one
    late = finished(1.0, 100.0)  # finished long after its bucket closed: counted, not binned
    series.add(late)
    assert series.to_json()["strategies"]["s"]["requests"][0] == 301
    assert series._series["s"].late == 1
