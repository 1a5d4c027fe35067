"""Load and validate a scenario file: every problem reported as FILE:LINE: field.path: message."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from harness.errors import Problem, ScenarioError
from harness.scenario.checks import fault_problems, semantic_problems
from harness.scenario.fault_spec import FaultSpec
from harness.scenario.model import Scenario
from harness.scenario.rescale import rescale
from harness.scenario.strategy_spec import FactoryStrategy
from harness.scenario.types import Name
from harness.scenario.yamlmap import YamlInputError, locate, read_yaml
from harness.units import parse_duration

# A scenario is a few kilobytes; anything near this is a mistake, not a scenario.
MAX_BYTES = 1_000_000

# The regular expressions of a few fields, said in words.
_PATTERN_MESSAGES = {
    TypeAdapter(Name).json_schema()["pattern"]: (
        "must be a name: lowercase letters, digits and '-', at most 63 characters"
    ),
    FactoryStrategy.model_json_schema()["properties"]["factory"]["pattern"]: (
        "must be an import path and a function name, as in 'package.module:factory'"
    ),
}


def load_scenario(
    path: str | Path,
    *,
    known_strategies: Collection[str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Scenario:
    """Read, parse and validate. Raises ScenarioError (never anything else) for bad input."""
    name = str(path)
    text = _read(Path(path), name)
    return parse_scenario(text, name, known_strategies=known_strategies, overrides=overrides)


def parse_scenario(
    text: str,
    file: str = "<scenario>",
    *,
    known_strategies: Collection[str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Scenario:
    """Parse and validate scenario text. Raises ScenarioError listing every problem found."""
    if len(text) > MAX_BYTES:
        raise ScenarioError([Problem(file, None, "", f"larger than {MAX_BYTES} characters")])
    try:
        document = read_yaml(text)
    except YamlInputError as exc:
        raise ScenarioError(_dedupe([Problem(file, exc.line, "", exc.message)])) from None
    root, data = document.root, document.data

    problems = [
        Problem(file, line, path, "duplicate key") for line, path in document.duplicate_keys
    ]
    if data is None:
        raise ScenarioError([Problem(file, 1, "", "empty file: expected a scenario mapping")])
    if not isinstance(data, dict):
        line = root.start_mark.line + 1 if root is not None else 1
        kind = type(data).__name__
        raise ScenarioError(
            [Problem(file, line, "", f"expected a mapping at top level, got {kind}")]
        )
    overrides = dict(overrides or {})
    # A new duration scales the scenario's timeline to it (rescale.py), so it is applied after
    # the file, as written, has been validated.
    duration = overrides.pop("duration", None)
    data = _merged(data, overrides)
    if duration is not None and "duration" not in data:
        data["duration"] = duration  # no duration in the file: nothing to scale from

    try:
        scenario = Scenario.model_validate(data)
        if duration is not None:
            scenario = rescale(scenario, parse_duration(duration))
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, file, root, data))
        raise ScenarioError(_dedupe(problems)) from None

    for path, message in semantic_problems(scenario, known_strategies):
        line, shown = locate(root, data, path)
        problems.append(Problem(file, line, shown, message))
    if problems:
        raise ScenarioError(_dedupe(problems))
    return scenario


def _merged(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The document with command-line overrides applied; a mapping override (e.g.
    {"clients": {"hosts": 8}}) changes only the keys it names."""
    out = dict(data)
    for key, value in overrides.items():
        current = out.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            out[key] = _merged(current, value)
        else:
            out[key] = value
    return out


_FAULT = TypeAdapter[FaultSpec](FaultSpec)


def parse_fault(text: str, file: str, scenario: Scenario, *, at: float | None = 0.0) -> FaultSpec:
    """One fault given as a timeline entry (JSON or YAML text), validated exactly as the timeline
    is, against `scenario`'s world. `at` fills a missing `at` (None: it stays required).
    Raises ScenarioError with one FILE:LINE: field: message problem per defect."""
    if len(text) > MAX_BYTES:
        raise ScenarioError([Problem(file, None, "", f"larger than {MAX_BYTES} characters")])
    try:
        document = read_yaml(text)
    except YamlInputError as exc:
        raise ScenarioError(_dedupe([Problem(file, exc.line, "", exc.message)])) from None
    root, data = document.root, document.data
    problems = [
        Problem(file, line, path, "duplicate key") for line, path in document.duplicate_keys
    ]
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        raise ScenarioError(
            [Problem(file, 1, "", f"expected a fault entry (a mapping), got {kind}")]
        )
    if at is not None and "at" not in data:
        data = {**data, "at": at}
    try:
        fault = _FAULT.validate_python(data)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, file, root, data))
        raise ScenarioError(_dedupe(problems)) from None
    for path, message in fault_problems(scenario, fault):
        line, shown = locate(root, data, list(path))
        problems.append(Problem(file, line, shown, message))
    if problems:
        raise ScenarioError(_dedupe(problems))
    return fault


def problem_at(path: str | Path, field: tuple[str | int, ...], message: str) -> Problem:
    """A Problem for a field of a scenario file that loaded, located on its line."""
    name = str(path)
    document = read_yaml(_read(Path(path), name))
    line, shown = locate(document.root, document.data, field)
    return Problem(name, line, shown, message)


def _read(path: Path, name: str) -> str:
    try:
        if path.is_dir():
            raise ScenarioError([Problem(name, None, "", "is a directory, not a scenario file")])
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError([Problem(name, None, "", "no such file")]) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ScenarioError([Problem(name, None, "", f"cannot read: {reason}")]) from None
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise ScenarioError([Problem(name, None, "", f"cannot read: {exc}")]) from None
    if len(raw) > MAX_BYTES:
        raise ScenarioError([Problem(name, None, "", f"larger than {MAX_BYTES} bytes")])
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ScenarioError([Problem(name, line, "", "binary file (contains NUL bytes)")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(name, line, "", "not UTF-8 text")]) from None


def _validation_problems(
    exc: ValidationError, file: str, root: Any, data: dict[str, Any]
) -> list[Problem]:
    errors = exc.errors(include_url=False)
    locs = [tuple(error["loc"]) for error in errors]
    problems: list[Problem] = []
    for error, loc in zip(errors, locs, strict=True):
        # pydantic counts only the items that validated: one bad region also says "too short".
        if error["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in locs
        ):
            continue
        problems.append(_problem(file, root, data, error))
    return problems


def _problem(file: str, root: Any, data: dict[str, Any], error: Any) -> Problem:
    loc = list(error["loc"])
    kind = error["type"]
    message = _message(error)
    if loc and loc[-1] == "[key]":  # a dict key (e.g. an slo name) is itself invalid
        loc.pop()
        message = f"invalid key: {message}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        # point at the `fault:` / `kind:` that says what this entry is, even when it is missing
        discriminator = str((error.get("ctx") or {}).get("discriminator", "kind")).strip("'")
        if kind == "union_tag_invalid":
            line, shown = locate(root, data, [*loc, discriminator])
        else:
            line, shown = locate(root, data, loc, keep_missing_last=False)
            shown = f"{shown}.{discriminator}" if shown else discriminator
        return Problem(file, line, shown, message)
    line, shown = locate(root, data, loc, keep_missing_last=kind == "missing")
    return Problem(file, line, shown, message)


def _message(error: Any) -> str:
    message = str(error["msg"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    # pydantic prefixes errors raised by our validators; the user does not need to know.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "union_tag_invalid":
        discriminator = str(ctx.get("discriminator", "kind")).strip("'")
        expected = ctx.get("expected_tags")
        tag = str(ctx.get("tag"))
        tag = tag if len(tag) <= 40 else f"{tag[:37]}..."  # it echoes input, which may be huge
        return f"unknown {discriminator} {tag!r} (expected one of {expected})"
    if kind == "union_tag_not_found":
        return "Field required (it says what kind of entry this is)"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_MESSAGES:
        return _PATTERN_MESSAGES[ctx["pattern"]]
    if kind == "literal_error" and ctx.get("expected") == "'all'":  # `strategies: some-name`
        return "expected 'all' or a list of strategies"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"needs at least {least} item{'' if least == 1 else 's'}"
    return message


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """Drop repeats, and keep every problem on one printed line whatever the input held."""
    seen: set[tuple[object, ...]] = set()
    out: list[Problem] = []
    for problem in problems:
        problem = replace(
            problem, field=_one_line(problem.field), message=_one_line(problem.message)
        )
        key = (problem.line, problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out


def _one_line(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
