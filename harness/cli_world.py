"""`harness world`: serve the simulated cloud by hand until SIGINT/SIGTERM (or, with a control
API, until a shutdown call). Every fault applied through the control API is reverted on the way
out, and the journal (stderr lines, and --journal FILE) says so."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.control.host import hosted_world
from harness.errors import HarnessError
from harness.faults.journal import JournalEntry
from harness.loops import run_with_signals
from harness.runner.results import write_json
from harness.scenario.model import Scenario


@dataclass(frozen=True, slots=True)
class WorldOptions:
    control: tuple[str, int] | None = None
    token: str | None = None
    metrics: tuple[str, int] | None = None
    allow_non_loopback_metrics: bool = False
    journal: Path | None = None


def serve_world(scenario: Scenario, options: WorldOptions | None = None) -> None:
    options = options or WorldOptions()
    if options.journal is not None and options.journal.is_dir():
        raise HarnessError(f"--journal {options.journal}: is a directory")

    async def main(interrupt: asyncio.Event) -> None:
        async with hosted_world(
            scenario,
            control=options.control,
            token=options.token,
            metrics=options.metrics,
            allow_non_loopback_metrics=options.allow_non_loopback_metrics,
            on_entry=_print_entry,
        ) as hosted:
            print(json.dumps(hosted.info()), flush=True)
            signalled = asyncio.ensure_future(interrupt.wait())
            stopped = asyncio.ensure_future(hosted.stopped.wait())
            try:
                await asyncio.wait({signalled, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                signalled.cancel()
                stopped.cancel()
            hosted.stop("interrupted")  # kept only if no shutdown call came first
        if options.journal is not None:
            journal = hosted.faults.journal
            write_json(
                options.journal, {"entries": journal.to_json(), "faults": journal.faults_summary()}
            )
        print(
            f"stopped ({hosted.stop_reason}): every fault reverted, every socket closed",
            file=sys.stderr,
            flush=True,
        )

    run_with_signals("real", main)


def _print_entry(entry: JournalEntry) -> None:
    """One stderr line per apply and revert, as it happens."""
    verb = "applied" if entry.action == "apply" else "reverted"
    why = f" ({entry.reason})" if entry.reason else ""
    failed = f": FAILED {entry.error}" if entry.error else ""
    print(
        f"{entry.wall} fault {entry.index} {entry.fault} on {entry.target} {verb}{why}{failed}",
        file=sys.stderr,
        flush=True,
    )
