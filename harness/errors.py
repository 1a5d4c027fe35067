"""One exception root for the whole harness; bad input carries file, line and field path."""

from __future__ import annotations

from dataclasses import dataclass


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class ScenarioError(HarnessError):
    """A scenario (or other user input) is invalid; holds one Problem per defect."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class AddressError(HarnessError):
    """A non-loopback address was requested, or an address/port cannot be bound."""


class StrategyError(HarnessError):
    """A strategy cannot be built (unknown name, bad factory, bad composition)."""
