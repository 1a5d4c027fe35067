"""One run: start the world(s), one client fleet per strategy, the fault timeline, telemetry; run
for the scenario's duration; always revert faults, close sockets and write results, however the run
ends (normal end, stop condition, error, SIGINT/SIGTERM)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from harness.clock import Clock
from harness.errors import HarnessError
from harness.events import AttemptFinished, EventBus, RequestFinished
from harness.faults.injector import FaultInjector
from harness.runner.clients import StrategyClient, regions_by_distance
from harness.runner.options import RunOptions, RunResult
from harness.runner.phases import PhaseTimer
from harness.runner.progress import ProgressView
from harness.runner.results import iso, region_capacity, write_json
from harness.runner.stops import StopMonitor, StopRequested
from harness.scenario.model import Scenario
from harness.services.attach import attach_services
from harness.services.report import services_summary
from harness.services.tier import ServiceTier
from harness.telemetry.fleet import FleetStats, windows_from_faults
from harness.telemetry.metrics import Telemetry
from harness.telemetry.records import RecordWriter
from harness.telemetry.server import MetricsServer
from harness.telemetry.service_metrics import ServiceCollector
from harness.telemetry.summary import RunStats
from harness.telemetry.timeseries import TimeSeries
from harness.world.world import World

log = logging.getLogger(__name__)

SETTLE = 0.05  # seconds between "everything is up" and the run's origin
PROGRESS_EVERY = 0.5  # loop seconds between two on_progress reports
DRAIN_GRACE = 5.0  # after the last arrival, wait this long beyond the deadline for stragglers
# A strategy without a caller deadline: its own attempts and timeouts end each request; wait this
# long after the last arrival for them (botocore legacy DynamoDB takes ~36 s at 1 s per attempt).
NO_DEADLINE_DRAIN = 120.0


@dataclass(slots=True)
class _Ending:
    status: str = "ok"  # "ok" | "aborted" | "interrupted" | "error"
    aborted: bool = False
    interrupted: bool = False
    reason: str | None = None


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


class _ResultsWriter:
    """Results are written however the run ended, each file independently. The first error is
    the one reported: if the run had already failed, or for a second file that cannot be written
    (usually the same full disk or read-only directory), write errors go to the debug log."""

    def __init__(self, failed: bool) -> None:
        self._failed = failed
        self._first: HarnessError | None = None

    def attempt(self, write: Callable[[], None]) -> None:
        try:
            write()
        except HarnessError as exc:
            if self._failed or self._first is not None:
                log.debug("also failed after the first error: %s", exc)
            else:
                self._first = exc

    def raise_first(self) -> None:
        if self._first is not None:
            raise self._first


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived: end the run cleanly and keep partial results."""


async def run_scenario(
    scenario: Scenario,
    strategies: list[tuple[str, Any]],
    options: RunOptions,
    *,
    interrupt: asyncio.Event | None = None,
    console: Any = None,
    on_progress: Callable[[float, int], None] | None = None,
) -> RunResult:
    """Run the scenario. `on_progress(elapsed, requests)` is called every PROGRESS_EVERY loop
    seconds (units of work report to a coordinator's progress bar through it)."""
    clock = Clock.for_running_loop()
    bus = EventBus()
    out = options.out_dir
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(
            f"--out {out}: cannot create the results directory ({exc.strerror})"
        ) from None
    started_wall = time.time()
    stats = RunStats()
    worlds: dict[str, World] = {}
    tiers: dict[str, ServiceTier] = {}
    clients: list[StrategyClient] = []
    fleets: dict[str, FleetStats] = {}
    injectors: dict[str, FaultInjector] = {}
    metrics_server: MetricsServer | None = None
    telemetry: Telemetry | None = None
    records: RecordWriter | None = None
    series: TimeSeries | None = None
    origin = clock.now()
    ending = _Ending()
    revert_reason = "end_of_run"
    failed = False
    try:
        shared = scenario.run.isolation == "shared"
        for name, _ in strategies if not shared else [("shared", None)]:
            worlds[name] = World(scenario, bus=bus, owner=name)
        for owner, world in worlds.items():
            await world.start()
            tier = await attach_services(world, clock=clock, seed=scenario.seed)
            if tier is not None:
                tiers[owner] = tier

        registry = CollectorRegistry()
        telemetry = Telemetry(registry, bus)
        for owner, world in worlds.items():
            telemetry.add_world_source(owner, world)
        if tiers:
            service_metrics = ServiceCollector()
            for owner, tier in tiers.items():
                service_metrics.add(owner, tier)
            registry.register(service_metrics)
        if options.metrics_addr is not None:
            metrics_server = MetricsServer(
                registry, allow_non_loopback=options.allow_non_loopback_metrics
            )
            host, port = await metrics_server.start(*options.metrics_addr)
            if console is not None:
                console.print(f"metrics: http://{host}:{port}/metrics", highlight=False)

        for name, strategy in strategies:
            world = worlds["shared" if shared else name]
            client = StrategyClient(
                name,
                strategy,
                world=world,
                scenario=scenario,
                clock=clock,
                bus=bus,
                seed=scenario.seed,
            )
            clients.append(client)
            stats.register(name, scenario.home_region, client.description, scenario.homes)
            telemetry.add_generator_source(name, client.generator)
            kinds = {block.kind for block in getattr(strategy, "blocks", ())}
            telemetry.declare_strategy(name, regions_by_distance(scenario), kinds)
            await client.start()
        for owner, world in worlds.items():
            injectors[owner] = FaultInjector(
                world,
                scenario.timeline,
                clock=clock,
                bus=bus,
                duration=scenario.duration,
                # the same draws in every world: the strategies of one seed meet the same faults
                rng=random.Random(f"{scenario.seed}:faults"),
            )

        telemetry.declare_phases(tuple(p.name for p in scenario.phases))
        telemetry.declare_faults(scenario.timeline)
        origin = clock.now() + SETTLE
        telemetry.start_run(clock.now)
        records = RecordWriter(out / "requests.jsonl.gz", origin=origin)
        for client in clients:
            fleet = fleets[client.name] = FleetStats(
                len(client.hosts), origin=origin, duration=scenario.duration
            )
            telemetry.add_fleet_source(client.name, fleet)
        bus.subscribe(RequestFinished, lambda event: fleets[event.strategy].add(event))
        series = TimeSeries(
            origin=origin,
            duration=scenario.duration,
            regions=scenario.region_names,
            horizon=_longest_request(clients) + DRAIN_GRACE,
        )
        bus.subscribe(RequestFinished, stats.add)
        bus.subscribe(RequestFinished, series.add)
        timeseries = series

        def attempt_finished(event: AttemptFinished) -> None:
            timeseries.add_attempt(event, clock.now())

        bus.subscribe(AttemptFinished, attempt_finished)
        bus.subscribe(RequestFinished, records.write)

        def saturation() -> list[str]:
            return [r for c in clients for r in c.generator.saturation_reasons()]

        monitor = StopMonitor(scenario.stop_when, clock=clock, saturated=saturation)
        bus.subscribe(RequestFinished, monitor.observe)
        phases = PhaseTimer(scenario.phases, clock=clock, bus=bus)

        try:
            await _drive(
                scenario,
                clients,
                injectors,
                monitor,
                phases,
                stats,
                origin,
                clock,
                interrupt,
                console,
                options.progress,
                on_progress,
            )
        except* StopRequested as group:
            reason = group.exceptions[0]
            assert isinstance(reason, StopRequested)
            ending.status, ending.aborted, ending.reason = "aborted", True, reason.reason
            revert_reason = "aborted"
        except* Interrupted:
            ending.status, ending.aborted, ending.interrupted = "interrupted", True, True
            ending.reason = "interrupted (SIGINT/SIGTERM)"
            revert_reason = "interrupted"
    except BaseException as exc:
        revert_reason = "error"
        ending.status, ending.reason = "error", _describe(exc)
        failed = True
        raise
    finally:
        if telemetry is not None:
            telemetry.finish_run()
        # Order matters: faults first (the world must be back to normal), then sockets, then files.
        for injector in injectors.values():
            await injector.revert_all(revert_reason)
        for client in clients:
            await client.close()
        for tier in tiers.values():
            await tier.stop()
        for world in worlds.values():
            await world.stop()
        if metrics_server is not None:
            await metrics_server.stop()
        results = _ResultsWriter(failed)
        if records is not None:
            results.attempt(records.close)
        summary = _summary(
            scenario,
            options,
            stats,
            clients,
            fleets,
            worlds,
            injectors,
            clock,
            origin,
            started_wall,
            ending,
        )
        if tiers:
            summary["services"] = services_summary(scenario, tiers, origin)
        results.attempt(lambda: write_json(out / "summary.json", summary))
        if series is not None:
            timeseries_json = series.to_json()
            results.attempt(lambda: write_json(out / "timeseries.json", timeseries_json))
        results.attempt(lambda: write_json(out / "journal.json", _journal(injectors)))
        results.raise_first()
    return RunResult(
        out_dir=out,
        summary=summary,
        aborted=ending.aborted,
        abort_reason=ending.reason,
        interrupted=ending.interrupted,
    )


async def _drive(
    scenario: Scenario,
    clients: list[StrategyClient],
    injectors: dict[str, FaultInjector],
    monitor: StopMonitor,
    phases: PhaseTimer,
    stats: RunStats,
    origin: float,
    clock: Clock,
    interrupt: asyncio.Event | None,
    console: Any,
    progress: bool,
    on_progress: Callable[[float, int], None] | None = None,
) -> None:
    limit = scenario.duration + _longest_request(clients) + DRAIN_GRACE + SETTLE
    async with asyncio.TaskGroup() as tg:
        background = [tg.create_task(injector.run(origin)) for injector in injectors.values()]
        background.append(tg.create_task(phases.run(origin)))
        background.append(tg.create_task(monitor.run(origin)))
        if interrupt is not None:
            background.append(tg.create_task(_watch(interrupt)))
        if progress and console is not None:
            view = ProgressView(
                duration=scenario.duration,
                clock=clock,
                stats=stats,
                phase=lambda: phases.current,
                console=console,
            )
            background.append(tg.create_task(view.run(origin)))
        if on_progress is not None:
            background.append(tg.create_task(_report_progress(on_progress, stats, origin, clock)))
        generators = [tg.create_task(c.run(origin)) for c in clients]
        scope = asyncio.timeout(limit)
        try:
            async with scope:
                # Failures surface through the TaskGroup (once each), not through this wait.
                await asyncio.wait(generators)
                # Run to the full duration even when the last request finished early, so late
                # phases and scheduled reverts happen and every run covers the same horizon.
                await asyncio.sleep(max(0.0, origin + scenario.duration - clock.now()))
        except TimeoutError:
            if not scope.expired():
                raise
            # A generator that could not keep up is still sending late arrivals: the run is
            # saturated, not broken. Stop it and keep its numbers, flagged as not to be trusted.
            for client, task in zip(clients, generators, strict=True):
                if not task.done():
                    client.generator.overran(limit)
                    task.cancel()
        finally:
            for task in background:
                task.cancel()


async def _report_progress(
    report: Callable[[float, int], None], stats: RunStats, origin: float, clock: Clock
) -> None:
    while True:
        report(clock.now() - origin, sum(s.requests for s in stats.strategies.values()))
        await asyncio.sleep(PROGRESS_EVERY)


def _longest_request(clients: list[StrategyClient]) -> float:
    """The longest a request can last: the longest deadline, or a long drain without one."""
    deadlines = [client.deadline for client in clients]
    return (
        NO_DEADLINE_DRAIN if None in deadlines else max((d or 0.0 for d in deadlines), default=0.0)
    )


async def _watch(interrupt: asyncio.Event) -> None:
    await interrupt.wait()
    raise Interrupted()


def _summary(
    scenario: Scenario,
    options: RunOptions,
    stats: RunStats,
    clients: list[StrategyClient],
    fleets: dict[str, FleetStats],
    worlds: dict[str, World],
    injectors: dict[str, FaultInjector],
    clock: Clock,
    origin: float,
    started_wall: float,
    ending: _Ending,
) -> dict[str, Any]:
    ended_wall = time.time()
    saturation_reasons: list[str] = []
    strategies: dict[str, Any] = {}
    for client in clients:
        entry = stats.strategies[client.name].to_json()
        reasons = client.generator.saturation_reasons()
        saturation_reasons += [f"{client.name}: {r}" for r in reasons]
        world = worlds.get(client.name)
        if world is not None:
            entry["stale_reads"] = sum(c.stale_reads_total for c in world.consistency_stats())
            entry["lost_writes"] = sum(r.lost_writes_total for r in world.replication_stats())
        else:  # shared world: the counters cannot tell strategies apart (see "consistency")
            entry["stale_reads"] = entry["lost_writes"] = None
        entry["send_lag_ms"] = {
            k: v
            for k, v in client.generator.send_lag.summary_ms().items()
            if k in ("p50", "p99", "max")
        }
        entry["peak_in_flight"] = client.generator.peak_in_flight
        deadline = client.deadline
        entry["deadline"] = "none" if deadline is None else deadline
        entry["saturated"] = bool(reasons)
        fleet = fleets.get(client.name)
        if fleet is not None:
            injector = injectors.get(client.name) or injectors.get("shared")
            faults = injector.journal.faults_summary() if injector is not None else []
            horizon = min(scenario.duration, max(0.0, clock.now() - origin))
            windows = windows_from_faults(faults, horizon)
            entry["fleet"] = fleet.to_json(windows)
            for population in client.populations if "populations" in entry else ():
                hosts = range(population.hosts[0].index, population.hosts[-1].index + 1)
                entry["populations"][population.home].update(fleet.group_json(hosts, windows))
        strategies[client.name] = entry
    first = next(iter(injectors.values()), None)
    return {
        "scenario": scenario.name,
        "file": options.scenario_file,
        "seed": scenario.seed,
        "clock": "virtual" if clock.virtual else "real",
        "isolation": scenario.run.isolation,
        "started_at": iso(started_wall),
        "ended_at": iso(ended_wall),
        "wall_seconds": round(ended_wall - started_wall, 3),
        "duration": scenario.duration,
        "elapsed": round(max(0.0, clock.now() - origin), 3),
        "saturated": bool(saturation_reasons),
        "saturation_reasons": saturation_reasons,
        "status": ending.status,
        "aborted": ending.aborted or ending.status == "error",
        "abort_reason": ending.reason,
        "home_region": scenario.home_region,
        "populations": [
            {"home": home, "share": round(share, 6)} for home, share in scenario.populations
        ],
        "regions": region_capacity(scenario),
        "phases": [{"name": p.name, "at": p.at} for p in scenario.phases],
        "faults": first.journal.faults_summary() if first is not None else [],
        "consistency": {
            owner: {
                "stale_reads": sum(c.stale_reads_total for c in world.consistency_stats()),
                "lost_writes": sum(r.lost_writes_total for r in world.replication_stats()),
            }
            for owner, world in worlds.items()
        },
        "strategies": strategies,
    }


def _journal(injectors: dict[str, FaultInjector]) -> dict[str, Any]:
    return {owner: injector.journal.to_json() for owner, injector in injectors.items()}
