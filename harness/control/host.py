"""A world that can be driven from outside: the world, its live faults, the control API and its
metrics, started and stopped as one unit. `harness world --control` and harness.testing use it.

Stop order is the run's: faults first (the world back to normal, journaled with the reason),
then the control API, then the scenario's services, then the world's sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from harness.clock import Clock
from harness.control.api import ControlApi, ControlServer
from harness.control.live import EntryListener, LiveFaults
from harness.events import EventBus
from harness.scenario.model import Scenario
from harness.services.attach import attach_services
from harness.telemetry.metrics import Telemetry
from harness.telemetry.server import MetricsServer
from harness.telemetry.service_metrics import ServiceCollector
from harness.world.world import World

OWNER = "world"  # the `strategy` label of the world's metrics


@dataclass(slots=True)
class HostedWorld:
    world: World
    faults: LiveFaults
    control: ControlServer | None
    metrics: MetricsServer | None
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: str = "end_of_run"

    def stop(self, reason: str) -> None:
        """Ask the world to stop (from its own loop): the first reason given is kept."""
        if not self.stopped.is_set():
            self.stop_reason = reason
            self.stopped.set()

    def info(self) -> dict[str, Any]:
        """What `harness world` prints: the world's addresses plus control and metrics URLs."""
        info = self.world.info()
        if self.control is not None:
            info["control"] = self.control.url
        if self.metrics is not None:
            info["metrics"] = self.metrics.url
        elif self.control is not None:
            info["metrics"] = f"{self.control.url}/metrics"
        return info


@asynccontextmanager
async def hosted_world(
    scenario: Scenario,
    *,
    control: tuple[str, int] | None,
    token: str | None = None,
    metrics: tuple[str, int] | None = None,
    allow_non_loopback_metrics: bool = False,
    on_entry: EntryListener | None = None,
) -> AsyncIterator[HostedWorld]:
    clock = Clock.for_running_loop()
    bus = EventBus()
    registry = CollectorRegistry()
    telemetry = Telemetry(registry, bus)
    async with World(scenario, bus=bus, owner=OWNER) as world:
        # the scenario's services too: their DNS names, listeners, leases and own calls
        tier = await attach_services(world, clock=clock, seed=scenario.seed)
        telemetry.add_world_source(OWNER, world)
        if tier is not None:
            services = ServiceCollector()
            services.add(OWNER, tier)
            registry.register(services)
        telemetry.start_run(clock.now)
        faults = LiveFaults(world, scenario, clock=clock, bus=bus, on_entry=on_entry)
        hosted = HostedWorld(world, faults, None, None)
        try:
            if metrics is not None:
                hosted.metrics = MetricsServer(
                    registry, allow_non_loopback=allow_non_loopback_metrics
                )
                await hosted.metrics.start(*metrics)
            if control is not None:
                api = ControlApi(
                    faults, scenario, world.info, registry, token=token, stop=hosted.stop
                )
                hosted.control = ControlServer(api)
                await hosted.control.start(*control)
            yield hosted
        except BaseException:
            hosted.stop("error")  # no-op when a stop was asked for first
            raise
        finally:
            await faults.close(hosted.stop_reason)
            telemetry.finish_run()
            if hosted.control is not None:
                await hosted.control.stop()
            if hosted.metrics is not None:
                await hosted.metrics.stop()
            if tier is not None:
                await tier.stop()
