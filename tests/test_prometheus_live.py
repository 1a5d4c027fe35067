"""Against a REAL Prometheus: every dashboard expression returns data for a synthetic stream.

Needs the `prometheus` binary on PATH (skipped otherwise). Real time is unavoidable here:
Prometheus's first scrape comes ~5 s after it starts, and rate() needs two scrapes.
"""

from __future__ import annotations

import asyncio
import shutil
import socket

import pytest
from prometheus_client import CollectorRegistry
from service_fakes import FakeServices
from telemetry_stream import STRATEGIES, FakeWorld, generator_stats, one_of_each, tick

from harness.errors import HarnessError
from harness.events import EventBus, RequestFinished
from harness.telemetry.dashboards import all_dashboards
from harness.telemetry.dashcheck import check_dashboards_against
from harness.telemetry.fleet import FleetStats
from harness.telemetry.metrics import Telemetry
from harness.telemetry.prometheus import Prometheus, PrometheusApi, PrometheusError
from harness.telemetry.server import serving
from harness.telemetry.service_metrics import ServiceCollector

pytestmark = [
    pytest.mark.prometheus,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not on PATH"),
]

DEADLINE = 14.0  # seconds of real time for the whole check
TICK = 0.1


async def _traffic(bus: EventBus, world: FakeWorld, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        tick(bus, world, n)
        await asyncio.sleep(TICK)


async def test_every_panel_expression_returns_data() -> None:
    loop = asyncio.get_running_loop()
    registry, bus = CollectorRegistry(), EventBus()
    telemetry = Telemetry(registry, bus)
    world = FakeWorld()
    for strategy in STRATEGIES:
        one_of_each(bus, strategy)
        telemetry.add_world_source(strategy, world)
        telemetry.add_generator_source(strategy, generator_stats)
        fleet = FleetStats(4, origin=loop.time(), duration=60.0)
        telemetry.add_fleet_source(strategy, fleet)
        bus.subscribe(RequestFinished, fleet.add)
    services = ServiceCollector()
    for strategy in STRATEGIES:
        services.add(strategy, FakeServices())
    registry.register(services)
    telemetry.start_run(loop.time)
    stop = asyncio.Event()
    dashboards = list(all_dashboards().values())
    problems: list[str] = ["not checked"]
    async with (
        serving(registry, port=0) as server,
        Prometheus([server.target]) as prom,
        asyncio.TaskGroup() as tasks,
    ):
        tasks.create_task(_traffic(bus, world, stop))
        try:
            started = loop.time()
            await asyncio.sleep(5.0)  # nothing can be there before the first scrape
            while problems and loop.time() - started < DEADLINE:
                problems = await check_dashboards_against(prom, dashboards)
                if problems:
                    await asyncio.sleep(0.5)
            up = await prom.query("up")
        finally:
            stop.set()
    assert problems == []
    assert [s.value for s in up] == [1.0]


async def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(HarnessError, match=f"127.0.0.1:{port}: address already in use"):
            await Prometheus(["127.0.0.1:1"], port=port).start()


async def test_prometheus_reports_bad_queries_and_stops_cleanly() -> None:
    async with Prometheus(["127.0.0.1:1"]) as prom:
        url = prom.url
        assert await prom.api.ready()
        assert (await prom.query("1 + 1"))[0].value == 2.0
        with pytest.raises(PrometheusError, match="parse error"):
            await prom.query("sum(")
    with pytest.raises(RuntimeError):
        _ = prom.api
    async with PrometheusApi(url) as api:
        assert not await api.ready()  # the process is gone
