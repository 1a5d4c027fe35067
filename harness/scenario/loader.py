"""Load and validate a scenario file: every problem reported as FILE:LINE: field.path: message."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.errors import Problem, ScenarioError
from harness.scenario.checks import semantic_problems
from harness.scenario.model import Scenario
from harness.scenario.yamlmap import compose, duplicate_keys, locate

MAX_BYTES = 5_000_000


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
    try:
        data = yaml.safe_load(text)
        root = compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError([Problem(file, line, "", f"not valid YAML: {problem}")]) from None
    except (ValueError, RecursionError) as exc:  # e.g. absurd numbers, deeply nested garbage
        raise ScenarioError([Problem(file, None, "", f"not valid YAML: {exc}")]) from None

    problems = [Problem(file, line, path, "duplicate key") for line, path in duplicate_keys(root)]
    if data is None:
        raise ScenarioError([Problem(file, 1, "", "empty file: expected a scenario mapping")])
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ScenarioError([Problem(file, 1, "", f"expected a mapping at top level, got {kind}")])
    if overrides:
        data = {**data, **overrides}

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            line, shown = locate(root, error["loc"])
            problems.append(Problem(file, line, shown, _message(error)))
        raise ScenarioError(_dedupe(problems)) from None
    except (RecursionError, OverflowError) as exc:
        raise ScenarioError([Problem(file, None, "", f"cannot validate: {exc}")]) from None

    for path, message in semantic_problems(scenario, known_strategies):
        line, shown = locate(root, path)
        problems.append(Problem(file, line, shown, message))
    if problems:
        raise ScenarioError(_dedupe(problems))
    return scenario


def _read(path: Path, name: str) -> str:
    try:
        if path.is_dir():
            raise ScenarioError([Problem(name, None, "", "is a directory, not a scenario file")])
        raw = path.read_bytes()[: MAX_BYTES + 1]
    except FileNotFoundError:
        raise ScenarioError([Problem(name, None, "", "no such file")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(name, None, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise ScenarioError([Problem(name, None, "", f"larger than {MAX_BYTES} bytes")])
    if b"\x00" in raw:
        raise ScenarioError([Problem(name, None, "", "binary file (contains NUL bytes)")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(name, line, "", "not UTF-8 text")]) from None


def _message(error: Any) -> str:
    message = str(error["msg"])
    # pydantic prefixes errors raised by our validators; the user does not need to know.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r} (expected one of {ctx.get('expected_tags')})"
    return message


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[object, ...]] = set()
    out: list[Problem] = []
    for problem in problems:
        key = (problem.line, problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out
