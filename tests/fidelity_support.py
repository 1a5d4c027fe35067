"""Rigs for the differential tests: a real world on loopback, real botocore pointed at it, and the
harness's copy of the same SDK (a StrategyClient) pointed at the same world.

botocore is synchronous: it runs in a worker thread while the world serves on the test's loop.
Names under the world's zone resolve through the world's own DNS server (dnspython, UDP on
loopback) by patching socket.getaddrinfo for those names only, so a deleted record is a real
NXDOMAIN answer that botocore sees as EndpointConnectionError, as it would in production.
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from harness.client.api import Request
from harness.clock import Clock
from harness.events import EventBus, RequestFinished, RetryScheduled
from harness.runner.clients import StrategyClient
from harness.scenario import parse_scenario
from harness.scenario.model import Scenario
from harness.scenario.strategy_spec import StrategySpec
from harness.world.world import World

SCENARIO = """
name: fidelity
seed: 11
duration: 60s
dns: {ttl: 5s, negative_ttl: 5s}
regions:
  - {name: us-east-1, endpoints: 1, rtt: 0s, service_time: 0s, capacity: {concurrency: 64}}
clients: {rate: 1/s, deadline: none}
strategies: [naive]
replication: {enabled: false}
"""


def scenario() -> Scenario:
    return parse_scenario(SCENARIO)


@contextmanager
def resolve_through(world: World) -> Iterator[None]:
    """socket.getaddrinfo answers the world's names from the world's DNS server."""
    real = socket.getaddrinfo
    suffix = "." + world.scenario.dns.zone.strip(".")
    server = (world.dns.host, world.dns.port)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(host, str) or not host.rstrip(".").endswith(suffix):
            return real(host, port, *args, **kwargs)
        query = dns.message.make_query(host, dns.rdatatype.A)
        reply = dns.query.udp(query, server[0], port=server[1], timeout=2.0)
        addresses = [
            item.address
            for rrset in reply.answer
            if rrset.rdtype == dns.rdatatype.A
            for item in rrset
        ]
        if reply.rcode() == dns.rcode.NXDOMAIN or not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))
            for address in addresses
        ]

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


def botocore_client(world: World, config: dict[str, Any]) -> Any:
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    url = f"http://{world.dns_name('us-east-1')}:{world.http_port}"
    return session.create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(**config),
    )


def botocore_attempts(client: Any, calls: int) -> list[int]:
    """Attempts botocore made per GetItem call (RetryAttempts + 1), success or failure."""
    from botocore.exceptions import BotoCoreError, ClientError

    attempts = []
    for i in range(calls):
        try:
            reply = client.get_item(TableName="items", Key={"pk": {"S": f"k{i}"}})
            attempts.append(reply["ResponseMetadata"]["RetryAttempts"] + 1)
        except ClientError as exc:
            attempts.append(exc.response["ResponseMetadata"]["RetryAttempts"] + 1)
        except BotoCoreError:
            attempts.append(-1)  # connection-level: botocore does not say; counted by the caller
    return attempts


@dataclass
class DelayLog:
    """botocore's ExponentialBackoff.delay_amount, recorded: (attempt number, throttled, delay)."""

    entries: list[tuple[int, bool, float]]
    lock: threading.Lock


@contextmanager
def record_botocore_delays() -> Iterator[DelayLog]:
    from botocore.retries import standard

    log = DelayLog([], threading.Lock())
    real = standard.ExponentialBackoff.delay_amount

    def delay_amount(self: Any, context: Any) -> float:
        delay: float = real(self, context)
        throttled = bool(
            self._throttling_detector
            and self._throttling_detector.is_throttling_error_from_context(context)
        )
        with log.lock:
            log.entries.append((context.attempt_number, throttled, delay))
        return delay

    standard.ExponentialBackoff.delay_amount = delay_amount
    try:
        yield log
    finally:
        standard.ExponentialBackoff.delay_amount = real


@dataclass
class HarnessResult:
    attempts: list[int]
    delays: list[tuple[int, bool, float]]  # (attempt number before the wait, throttled, delay)


async def harness_attempts(world: World, spec: StrategySpec, calls: int) -> HarnessResult:
    """The harness's copy: the same calls, one after another, through a real StrategyClient."""
    bus = EventBus()
    finished: list[RequestFinished] = []
    scheduled: list[RetryScheduled] = []
    bus.subscribe(RequestFinished, finished.append)
    bus.subscribe(RetryScheduled, scheduled.append)
    clock = Clock.for_running_loop()
    client = StrategyClient(
        spec.name,
        spec,
        world=world,
        scenario=world.scenario,
        clock=clock,
        bus=bus,
        seed=random.randrange(1 << 30),
    )
    await client.start()
    try:
        for i in range(calls):
            now = clock.now()
            await client.execute(Request(i, "get", f"k{i}", now, math.inf))
    finally:
        await client.close()
    delays = [
        (event.attempt - 1, event.reason.value == "throttled", event.delay) for event in scheduled
    ]
    return HarnessResult([r.attempts for r in finished], delays)


def same_distribution(a: Sequence[float], b: Sequence[float], alpha: float = 0.001) -> bool:
    """Two-sample Kolmogorov-Smirnov (scipy): True unless the samples differ at `alpha`."""
    from scipy.stats import ks_2samp

    return bool(ks_2samp(a, b).pvalue > alpha)


def quota_schedule(calls: int, attempts: int, cost: int, bucket: int = 500) -> list[int]:
    """Attempts per call when every attempt fails: botocore's standard mode takes a retry while
    its quota bucket (`bucket` tokens, `cost` a retry) can pay, up to `attempts` per call."""
    tokens, out = bucket, []
    for _ in range(calls):
        made = 1
        while made < attempts and tokens >= cost:
            tokens -= cost
            made += 1
        out.append(made)
    return out


def normalized(
    delays: Sequence[tuple[int, bool, float]], scale: Callable[[int, bool], float]
) -> list[float]:
    """Each delay ÷ its ceiling: full jitter makes these uniform on [0, 1) in both."""
    return [delay / scale(n, throttled) for n, throttled, delay in delays]


async def in_thread(fn: Callable[[], Any]) -> Any:
    return await asyncio.to_thread(fn)


def record_figures(case: str, **figures: Any) -> None:
    """With FIDELITY_FIGURES=path set, append this case's figures as one JSON line (for
    docs/fidelity.md); otherwise nothing."""
    import json
    import os

    path = os.environ.get("FIDELITY_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"case": case, **figures}) + "\n")


def summary(attempts: Sequence[int], delays: Sequence[float]) -> dict[str, Any]:
    """Mean attempts per call and the wait quartiles, rounded for the table."""
    waits = sorted(delays)

    def q(p: float) -> float | None:
        return round(waits[min(len(waits) - 1, int(p * len(waits)))], 4) if waits else None

    return {
        "calls": len(attempts),
        "attempts_mean": round(sum(attempts) / len(attempts), 3) if attempts else None,
        "waits": len(waits),
        "wait_q25_q50_q75": [q(0.25), q(0.5), q(0.75)],
    }
