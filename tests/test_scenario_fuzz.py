"""Property-based fuzzing: whatever the input, the loader returns a Scenario or a ScenarioError."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ScenarioError
from harness.scenario import Scenario, load_scenario, parse_scenario
from harness.scenario.yamlmap import read_yaml

FULL_TEXT = (Path(__file__).parent / "data" / "scenario_full.yaml").read_text()
FULL: dict[str, Any] = read_yaml(FULL_TEXT).data  # YAML 1.2 booleans: `on:` stays a key
KNOWN = ("naive", "aws-standard")

# PyYAML's pure-Python loader (kept for its depth guard) takes ~30 ms for the full scenario:
# these budgets keep the whole module well under 20 s.
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Characters that make YAML interesting: indicators, anchors, tags, quotes, breaks, a tab.
YAML_ALPHABET = st.sampled_from([*":-[]{},&*!|>'\"#%@`? \n\t.0123456789abcnsmxyz\\~<", "µ"])


def _check(text: str, known: tuple[str, ...] | None = KNOWN) -> Scenario | None:
    """Parse; only ScenarioError may escape, and its problems must be well formed."""
    try:
        return parse_scenario(text, "fuzz.yaml", known_strategies=known)
    except ScenarioError as exc:
        _check_problems(exc, text)
        return None


def _check_problems(exc: ScenarioError, text: str) -> None:
    assert exc.problems
    # YAML also breaks lines at \r, \x85, \u2028 and \u2029; splitlines() knows all of them.
    last_line = len(text.splitlines()) + 1
    for problem in exc.problems:
        assert problem.message.strip(), problem
        assert problem.line is None or 1 <= problem.line <= last_line, (problem, last_line)
        assert "\n" not in problem.field and "\n" not in problem.message
        assert str(problem).startswith(problem.file)


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    _check(text)


@FUZZ
@given(st.text(YAML_ALPHABET, max_size=200))
def test_yaml_looking_text(text: str) -> None:
    _check(text)


@FUZZ
@given(st.text(YAML_ALPHABET, max_size=120))
def test_yaml_looking_text_after_a_valid_prefix(tail: str) -> None:
    _check("name: fuzz\nduration: 60s\nregions:\n  - name: us-east-1\n" + tail)


# Whole YAML tokens, explicit tags and scenario words: reaches constructors and the schema.
YAML_TOKENS = st.sampled_from(
    [
        *("\n", "\n  ", "\n    ", "- ", ": ", ", ", "[", "]", "{", "}", "? ", "# c", "'", '"'),
        *("&a ", "*a ", "&b ", "*b ", "<<: ", "--- ", "...", "|\n  ", ">-\n  ", "\t"),
        *("!!binary ", "!!timestamp ", "!!bool ", "!!int ", "!!float ", "!!set ", "!!omap "),
        *("!!str ", "!!map ", "!!seq ", "!!null ", "!!python/name:os.system ", "!local "),
        *("name", "duration", "regions", "timeline", "strategies", "fault", "kind", "target"),
        *("us-east-1", "dns.nodata", "retry", "60s", "250ms", "500/s", "0", "-1", "1e999", "~"),
        *("true", "no", "on", ".nan", ".inf", "0x1F", "2001-12-14", "AAAA", "\\x00", "é"),
    ]
)


@FUZZ
@given(st.lists(YAML_TOKENS, max_size=40).map("".join))
def test_yaml_token_soup(text: str) -> None:
    _check(text)
    _check("name: fuzz\nduration: 60s\nregions:\n  - name: us-east-1\n" + text)


_SCRATCH = Path(tempfile.mkdtemp(prefix="scenario-fuzz-"))


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_from_a_file(raw: bytes) -> None:
    path = _SCRATCH / "fuzz.yaml"
    path.write_bytes(raw)
    try:
        load_scenario(path, known_strategies=KNOWN)
    except ScenarioError as exc:
        _check_problems(exc, raw.decode("utf-8", errors="replace"))


# JSON-ish values, plus the YAML-only ones a user can type: huge ints, non-finite floats.
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(
        ["250ms", "-1s", "5 parsecs", "500/s", "1e999", "us-east-1", "all", "127.0.0.1"]
    )
)


def _leaves(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)
    else:
        yield node


# Values taken from elsewhere in the scenario are plausible, so they reach the semantic checks.
PLAUSIBLE = st.sampled_from(sorted({repr(v): v for v in _leaves(FULL)}.values(), key=repr))
VALUES = PLAUSIBLE | st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in the document a value could be replaced, the root included."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


ALL_PATHS = list(_paths(FULL))


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return document


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> str:
    document = copy.deepcopy(FULL)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(ALL_PATHS))
        try:
            document = _replace(document, path, draw(VALUES))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed that place
    if draw(st.booleans()) and isinstance(document, dict):  # and sometimes an unknown key
        document[draw(st.text(min_size=1, max_size=8))] = draw(VALUES)
    unicode = draw(st.booleans())
    return yaml.dump(document, Dumper=DUMPER, allow_unicode=unicode, sort_keys=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_scenarios(), st.sampled_from([KNOWN, None]))
def test_mutated_full_scenario(text: str, known: tuple[str, ...] | None) -> None:
    _check(text, known)


def test_the_fuzz_seed_is_itself_valid() -> None:
    assert isinstance(_check(FULL_TEXT, known=("naive",)), Scenario)
