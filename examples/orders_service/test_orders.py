"""The order service under the 2025-10-20 failure mode: its home region's DynamoDB record emptied
(dns.nodata on us-east-1), applied and reverted through the world's control API (HTTP) while
real boto3 traffic flows. Kept-alive connections would hide the fault until the servers recycle
them (as on the day), so each test also drains the region's idle connections (endpoint.drain)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from botocore.exceptions import EndpointConnectionError
from orders import Order, default_store, failover_store

from harness.testing import TestWorld

T = TypeVar("T")
NEGATIVE_TTL = 2.0  # outage.yaml: dns.negative_ttl
HOME, OTHER = "us-east-1", "us-west-2"


def break_home_region(world: TestWorld) -> int:
    """The record emptied, idle connections closed: the next request must resolve, and cannot."""
    nodata = world.fault("dns.nodata", target=HOME)
    world.fault("endpoint.drain", target=HOME)
    return nodata.id


def eventually(action: Callable[[], T], within: float) -> tuple[T, float]:
    """Retry `action` until it succeeds; (its result, seconds it took). Bounded by `within`."""
    start = time.monotonic()
    while True:
        try:
            return action(), time.monotonic() - start
        except EndpointConnectionError:
            if time.monotonic() - start > within:
                raise
            time.sleep(0.05)


def test_orders_round_trip(harness_world: TestWorld) -> None:
    store = default_store(HOME, harness_world.endpoint_urls)
    store.place(Order("o-1", "ada", 2))
    assert store.get("o-1") == Order("o-1", "ada", 2, "placed")
    assert store.ship("o-1").status == "shipped"
    store.cancel("o-1")
    assert store.get("o-1") is None


def test_the_default_client_fails_while_home_dns_is_empty_and_recovers_after(
    harness_world: TestWorld,
) -> None:
    store = default_store(HOME, harness_world.endpoint_urls)
    store.place(Order("o-2", "grace", 1))
    fault = break_home_region(harness_world)
    with pytest.raises(EndpointConnectionError):  # boto3's own retries do not help
        store.get("o-2")
    with pytest.raises(EndpointConnectionError):
        store.ship("o-2")
    harness_world.revert(fault)
    order, took = eventually(lambda: store.get("o-2"), within=NEGATIVE_TTL + 3)
    assert order == Order("o-2", "grace", 1)
    assert took <= NEGATIVE_TTL + 1.0  # the host's resolver forgets "no address" after the TTL


def test_regional_failover_keeps_serving_through_the_outage(harness_world: TestWorld) -> None:
    store, router = failover_store([HOME, OTHER], harness_world.endpoint_urls, failback_after=1.0)
    store.place(Order("o-3", "linus", 5))
    assert router.served_by == HOME
    time.sleep(0.2)  # global-table replication to us-west-2 (outage.yaml: 20 ms lag)
    fault = break_home_region(harness_world)
    assert store.get("o-3") == Order("o-3", "linus", 5)
    assert router.served_by == OTHER
    assert store.ship("o-3").status == "shipped"
    store.place(Order("o-4", "barbara", 3))
    assert router.served_by == OTHER
    harness_world.revert(fault)
    time.sleep(NEGATIVE_TTL + 0.2)  # the negative answer expires; failback_after too

    def served_home() -> str | None:
        store.get("o-4")
        return router.served_by

    assert eventually(served_home, within=3.0)[0] == HOME


def test_a_pinned_endpoint_does_not_need_dns(harness_world: TestWorld) -> None:
    pinned = {HOME: harness_world.address_url(HOME)}  # http://127.0.10.1:PORT
    store = default_store(HOME, pinned)
    store.place(Order("o-5", "edsger", 1))
    break_home_region(harness_world)
    assert store.get("o-5") == Order("o-5", "edsger", 1)


def test_botocore_sees_the_fault_within_one_request_and_recovery_within_the_negative_ttl(
    harness_world: TestWorld,
) -> None:
    """The issue's figures, with traffic flowing: one request at a time from one client with
    one attempt per call (so each call is one request on the wire)."""
    store, _ = failover_store([HOME], harness_world.endpoint_urls)  # one region, one attempt
    store.place(Order("o-6", "barbara", 1))
    for _ in range(20):  # traffic before the fault
        assert store.get("o-6") is not None
    fault = break_home_region(harness_world)
    with pytest.raises(EndpointConnectionError):  # the first request after apply fails
        store.get("o-6")
    harness_world.revert(fault)
    _, took = eventually(lambda: store.get("o-6"), within=NEGATIVE_TTL + 3)
    assert took <= NEGATIVE_TTL + 0.5
