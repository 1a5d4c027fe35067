"""What a run is asked to do, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class RunOptions:
    out_dir: Path
    strategies: tuple[str, ...] | None = None  # None: the scenario's list
    clock: Literal["virtual", "real"] | None = None  # None: the scenario's run.clock
    metrics_addr: tuple[str, int] | None = None  # None: no /metrics server
    allow_non_loopback_metrics: bool = False
    progress: bool = True
    scenario_file: str = ""


@dataclass(slots=True)
class RunResult:
    out_dir: Path
    summary: dict[str, Any]
    aborted: bool = False
    abort_reason: str | None = None
    interrupted: bool = False
    slo_violations: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.aborted:
            return 3
        if self.slo_violations:
            return 1
        return 0
