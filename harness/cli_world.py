"""`harness world`: serve the simulated cloud by hand until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import json
import sys

from harness.events import EventBus
from harness.loops import run_with_signals
from harness.scenario.model import Scenario
from harness.world.world import World


def serve_world(scenario: Scenario) -> None:
    async def main(interrupt: asyncio.Event) -> None:
        async with World(scenario, bus=EventBus(), owner="world") as world:
            print(json.dumps(world.info()), flush=True)
            await interrupt.wait()
        print("stopped: every socket closed", file=sys.stderr, flush=True)

    run_with_signals("real", main)
