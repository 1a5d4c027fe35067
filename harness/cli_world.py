"""`harness world`: serve the simulated cloud by hand until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import json
import sys

from harness.clock import Clock
from harness.events import EventBus
from harness.loops import run_with_signals
from harness.scenario.model import Scenario
from harness.services.attach import attach_services
from harness.world.world import World


def serve_world(scenario: Scenario) -> None:
    async def main(interrupt: asyncio.Event) -> None:
        async with World(scenario, bus=EventBus(), owner="world") as world:
            clock = Clock.for_running_loop()
            tier = await attach_services(world, clock=clock, seed=scenario.seed)
            try:
                info = world.info()
                if tier is not None:
                    info["services"] = tier.info()
                print(json.dumps(info), flush=True)
                await interrupt.wait()
            finally:
                if tier is not None:
                    await tier.stop()
        print("stopped: every socket closed", file=sys.stderr, flush=True)

    run_with_signals("real", main)
