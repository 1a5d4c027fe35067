"""The control API with real botocore traffic flowing (issue 12's "done when" figures).

    .venv/bin/python bench/control_api.py [--cycles 10] [--load-threads 4]

A world (examples/orders_service/outage.yaml: record TTL 0, negative TTL 2 s) runs in this
process through harness.testing (background thread, real clock, resolver hook with its cache on).
--load-threads boto3 clients send GetItem back to back to us-west-2 (pinned addresses, so the
load goes on whatever us-east-1's DNS does) while, --cycles times, we:

1. apply dns.nodata + endpoint.drain on us-east-1 through the control API (HTTP), timing each
   POST (client side: request to response) and reading the server-side apply lag (journal);
2. send GetItem to us-east-1 by name from a probe client (one attempt per call) and count the
   requests until botocore raises EndpointConnectionError (the figure: 1);
3. revert through the API (timed), then probe every 20 ms until a GetItem succeeds: the recovery
   time, bounded by the negative TTL that the host's resolver cache honours.

Writes bench/results/control_api.json. The machine is shared: absolute times are noisy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from client_rps import write_result  # noqa: E402

import harness.testing  # noqa: E402

SCENARIO = ROOT / "examples" / "orders_service" / "outage.yaml"
ONE_ATTEMPT = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2)
KEY = {"pk": {"S": "bench"}}


def client(region: str, url: str) -> Any:
    return boto3.client(
        "dynamodb",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=ONE_ATTEMPT,
    )


def load(url: str, stop: threading.Event, counts: list[int], slot: int) -> None:
    c = client("us-west-2", url)
    while not stop.is_set():
        c.get_item(TableName="bench", Key=KEY)
        counts[slot] += 1


def ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p99": round(p99 * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--load-threads", type=int, default=4)
    args = parser.parse_args()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    applies, reverts, lags, detect, requests_to_error, recoveries = [], [], [], [], [], []
    with harness.testing.world(SCENARIO) as w:
        probe = client("us-east-1", w.endpoint_url("us-east-1"))
        probe.put_item(TableName="bench", Item=KEY)
        stop = threading.Event()
        counts = [0] * args.load_threads
        threads = [
            threading.Thread(target=load, args=(w.address_url("us-west-2", i % 3), stop, counts, i))
            for i in range(args.load_threads)
        ]
        for t in threads:
            t.start()
        time.sleep(1.0)
        load_start, counted = time.perf_counter(), sum(counts)
        try:
            for _ in range(args.cycles):
                probe.get_item(TableName="bench", Key=KEY)  # healthy, connection kept alive
                t0 = time.perf_counter()
                fault = w.fault("dns.nodata", target="us-east-1")
                applies.append(time.perf_counter() - t0)
                w.fault("endpoint.drain", target="us-east-1")
                sent = 0
                while True:
                    sent += 1
                    try:
                        probe.get_item(TableName="bench", Key=KEY)
                    except EndpointConnectionError:
                        break
                    if sent >= 50:
                        raise AssertionError("50 requests after apply and no error")
                detect.append(time.perf_counter() - t0)
                requests_to_error.append(sent)
                t1 = time.perf_counter()
                fault.revert()
                reverts.append(time.perf_counter() - t1)
                while True:
                    try:
                        probe.get_item(TableName="bench", Key=KEY)
                        break
                    except EndpointConnectionError:
                        if time.perf_counter() - t1 > 10:
                            raise AssertionError("not recovered within 10 s") from None
                        time.sleep(0.02)
                recoveries.append(time.perf_counter() - t1)
        finally:
            stop.set()
            for t in threads:
                t.join()
        load_rate = (sum(counts) - counted) / (time.perf_counter() - load_start)
        journal = w.journal()
    lags = [e["lag_ms"] / 1000 for e in journal["entries"] if e["action"] == "apply"]
    rows = {
        "load_requests_per_second": round(load_rate),
        "apply_http_ms": ms(applies),
        "revert_http_ms": ms(reverts),
        "apply_server_lag_ms": ms(lags),
        "requests_until_botocore_error": {"max": max(requests_to_error)},
        "apply_to_botocore_error_ms": ms(detect),
        "revert_to_recovery_ms": ms(recoveries),
        "negative_ttl_s": 2.0,
    }
    for name, value in rows.items():
        print(f"{name}: {value}")
    write_result(
        "control_api",
        started=started,
        settings={"cycles": args.cycles, "load_threads": args.load_threads},
        target="apply -> error within 1 request; revert -> recovered within the negative TTL",
        rows=rows,
    )


if __name__ == "__main__":
    main()
