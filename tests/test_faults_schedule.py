"""Loop-clock helpers of the fault package: exact sleeps and phases."""

from __future__ import annotations

import asyncio

import pytest

from harness.clock import Clock
from harness.events import EventBus, PhaseChanged
from harness.faults import PhaseClock
from harness.faults.base import precise_sleep_until, sleep_until
from harness.scenario.model import PhaseSpec


@pytest.mark.looptime
async def test_sleep_until_wakes_at_the_exact_loop_time_without_drift() -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for step in range(1, 1001):
        await sleep_until(t0 + step * 0.1)
    assert loop.time() == pytest.approx(t0 + 100.0, abs=1e-9)
    await sleep_until(t0)  # in the past: returns at once
    assert loop.time() == pytest.approx(t0 + 100.0, abs=1e-9)


async def test_precise_sleep_never_returns_early_in_real_time() -> None:
    clock = Clock.for_running_loop()
    assert not clock.virtual
    for _ in range(3):
        when = clock.measure() + 0.002
        await precise_sleep_until(when, clock)
        assert clock.measure() >= when


@pytest.mark.looptime
async def test_phase_clock_names_and_announces_phases() -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    phases = PhaseClock(
        [
            PhaseSpec(name="outage", at=30),
            PhaseSpec(name="steady", at=0),
            PhaseSpec(name="tail", at=60),
        ],
        start=t0,
    )
    assert [phases.phase_at(t0 + s) for s in (-1, 0, 29.9, 30, 75)] == [
        None,
        "steady",
        "steady",
        "outage",
        "tail",
    ]
    bus = EventBus()
    seen: list[PhaseChanged] = []
    bus.subscribe(PhaseChanged, seen.append)
    await phases.announce(bus, Clock.for_running_loop())
    assert [(p.name, round(p.at - t0, 6)) for p in seen] == [
        ("steady", 0.0),
        ("outage", 30.0),
        ("tail", 60.0),
    ]
