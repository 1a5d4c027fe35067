"""From a comparison (scenario, strategies, repeats) to units of work, run, and merged back into
one run directory per repeat."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.errors import HarnessError
from harness.executors import CLUSTER_ENV, ExecutorKind, make_executor
from harness.executors.coordinator import Outcome, run_units
from harness.executors.progress import UnitsProgress
from harness.executors.units import Unit
from harness.scenario.model import Scenario

# Below this many offered requests in all, the default executor runs units inline: a worker
# process costs ~1 s of CPU to start (interpreter, imports), about what ~2,000 requests cost.
INLINE_BELOW = 4000


@dataclass(frozen=True, slots=True)
class Execution:
    """Where units run, and what they are made of (plain data a worker can rebuild from)."""

    kind: ExecutorKind = "local"
    workers: int | None = None  # local: processes (default: the usable cores)
    cluster: str | None = None  # dask: the scheduler's address
    scenario_text: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)  # the command line's, seed aside
    auto: bool = False  # nothing asked for explicitly: small work runs inline (see execute)


@dataclass(frozen=True, slots=True)
class Repeat:
    index: int  # 1-based
    seed: int
    units: list[Unit]

    @property
    def name(self) -> str:
        return f"{self.index:02d}-seed{self.seed}"


def plan(
    scenario: Scenario,
    names: list[str],
    execution: Execution,
    *,
    scenario_file: str,
    repeat: int,
) -> list[Repeat]:
    """One unit per (strategy, seed) with per-strategy worlds; one per seed with a shared world
    (its strategies must run side by side)."""
    groups = [tuple(names)] if scenario.run.isolation == "shared" else [(name,) for name in names]
    repeats = []
    for index in range(1, repeat + 1):
        seed = scenario.seed + index - 1
        units = [
            Unit(
                id=f"{index:02d}-seed{seed}/{group[0] if len(group) == 1 else 'shared'}",
                repeat=index,
                seed=seed,
                strategies=group,
                scenario_text=execution.scenario_text,
                scenario_file=scenario_file,
                overrides=execution.overrides,
                duration=scenario.duration,
                expected_requests=scenario.clients.rate * scenario.duration * len(group),
            )
            for group in groups
        ]
        repeats.append(Repeat(index, seed, units))
    return repeats


def execute(
    repeats: list[Repeat],
    execution: Execution,
    interrupt: threading.Event,
    *,
    progress: bool,
    err: Console,
) -> tuple[Outcome, dict[str, Any]]:
    """Run every unit of every repeat on one executor; returns the outcome and a description of
    the executor for the summaries."""
    units = [unit for r in repeats for unit in r.units]
    kind = execution.kind if len(units) > 1 else "inline"  # one unit: no pool to start
    if execution.auto and sum(u.expected_requests for u in units) < INLINE_BELOW:
        kind = "inline"  # starting worker processes would cost more than it saves
    with UnitsProgress(units, err, live=progress) as view:
        executor = make_executor(
            kind,
            workers=execution.workers,
            cluster=execution.cluster,
            report=view.report,
            interrupt=interrupt,
        )
        workers = min(executor.workers, len(units))
        if kind != "inline" and progress:
            where = (
                f" on {execution.cluster or os.environ.get(CLUSTER_ENV)}" if kind == "dask" else ""
            )
            err.print(
                f"[dim]{len(units)} units of work, {workers} at a time ({kind}{where})[/]",
                highlight=False,
            )
        try:
            outcome = run_units(units, executor, view, interrupt, err)
        finally:
            executor.close()
    return outcome, {"kind": kind, "workers": workers}


def real_clock_note(execution: Execution | None) -> str | None:
    """One line for a real-clock run whose user chose an executor: it runs in this process all
    the same (README, "Every core, or a cluster", says why). None: nothing, or inline, chosen."""
    if execution is None or execution.auto or execution.kind == "inline":
        return None
    if execution.workers is not None:
        asked = f"--workers {execution.workers}"
    elif execution.kind == "dask":
        asked = "--cluster" if execution.cluster else CLUSTER_ENV
    else:
        asked = f"--executor {execution.kind}"
    return (
        f"real clock: every strategy runs in this process ({asked} applies to virtual-clock runs "
        "only: a live run shows all its strategies on one /metrics endpoint)"
    )


def output_dirs(directory: Path, repeat: Repeat) -> tuple[Path, Path]:
    """Where a repeat's merged results go when complete, and when not."""
    return directory / "runs" / repeat.name, directory / "incomplete" / repeat.name


@contextmanager
def results_dir(path: Path) -> Iterator[None]:
    """Create the results directory before any unit runs (a bad --out fails at once). If the
    command then fails before writing anything there (a bad --cluster, a refused option), the
    directory it created goes again: no empty result directories left behind."""
    existed = path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(
            f"--out {path}: cannot create the results directory ({exc.strerror})"
        ) from None
    try:
        yield
    except BaseException:
        if not existed:
            with suppress(OSError):
                path.rmdir()  # only when still empty: results written are never removed
        raise
