"""A live progress line: elapsed / total, current phase, per-strategy success ratio so far."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from harness.clock import Clock
from harness.telemetry.summary import RunStats

UPDATE_EVERY = 0.5  # loop seconds; rich redraws on its own thread at 4 Hz of real time


class ProgressView:
    def __init__(
        self,
        *,
        duration: float,
        clock: Clock,
        stats: RunStats,
        phase: Callable[[], str | None],
        console: Console,
    ) -> None:
        self._duration = duration
        self._clock = clock
        self._stats = stats
        self._phase = phase
        self._progress = Progress(
            TextColumn("[bold]{task.fields[elapsed]}"),
            BarColumn(bar_width=30),
            TextColumn("{task.fields[phase]}"),
            TextColumn("{task.fields[ratios]}"),
            console=console,
            transient=True,
        )

    async def run(self, origin: float) -> None:
        with self._progress:
            task = self._progress.add_task(
                "run", total=self._duration, elapsed="", phase="", ratios=""
            )
            while True:
                elapsed = min(self._clock.now() - origin, self._duration)
                self._progress.update(
                    task,
                    completed=elapsed,
                    elapsed=f"{elapsed:6.1f}s / {self._duration:g}s",
                    phase=f"phase: {self._phase() or '-'}",
                    ratios=self._ratios(),
                )
                await asyncio.sleep(UPDATE_EVERY)

    def _ratios(self) -> str:
        parts = []
        for name, s in self._stats.strategies.items():
            if s.requests:
                ratio = s.ok / s.requests
                colour = "green" if ratio >= 0.99 else "yellow" if ratio >= 0.9 else "red"
                parts.append(f"{name} [{colour}]{ratio:.3f}[/{colour}]")
        shown = parts[:6]
        more = f" +{len(parts) - 6} more" if len(parts) > 6 else ""
        return "  ".join(shown) + more
