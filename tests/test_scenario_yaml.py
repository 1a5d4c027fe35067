"""The YAML layer: explicit tags, aliases, limits, and turning pydantic locations into lines."""

from __future__ import annotations

import pytest

from harness.errors import ScenarioError
from harness.scenario import parse_scenario
from harness.scenario.yamlmap import MAX_DEPTH, YamlInputError, locate, read_yaml

HEAD = "name: yaml\nduration: 60s\nregions:\n  - name: us-east-1\n"


def _problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "y.yaml")
    return [(p.line, p.field, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("!!timestamp nope", "'nope' is not a valid YAML timestamp"),
        ("!!timestamp 2001-13-45", "month must be in 1..12"),
        ("!!bool maybe", "'maybe' is not a valid YAML bool"),
        ("!!int 0x", "not a valid YAML int"),
        ("!!float abc", "not a valid YAML float"),
        ("1" * 5000, "Exceeds the limit"),
        ("!!binary A", "failed to decode base64"),
        ("!!python/name:os.system ''", "could not determine a constructor"),
        ("!local thing", "could not determine a constructor for the tag '!local'"),
        ("*nowhere", "undefined alias"),
        ("{<<: 5}", "merging"),
    ],
)
def test_explicit_tags_and_odd_scalars_are_yaml_problems(value: str, fragment: str) -> None:
    [(line, field, message)] = _problems(HEAD + f"description: {value}\n")
    assert (line, field) == (5, "")
    assert fragment in message


def test_values_of_the_wrong_yaml_type_are_schema_problems() -> None:
    problems = _problems(HEAD + "description: !!set {a, b}\nseed: 2001-12-14\n")
    assert [(line, field) for line, field, _ in problems] == [(5, "description"), (6, "seed")]


def test_moderate_aliasing_is_fine_but_a_bomb_is_not() -> None:
    fine = HEAD + "description: &d text\nslo: {}\nphases: []\n"
    assert parse_scenario(fine).description == "text"
    laughs = ["description:", "  a: &a [x, x, x, x, x, x, x, x, x, x]"]
    laughs += [
        f"  {chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(9)
    ]
    [(line, field, message)] = _problems(HEAD + "\n".join(laughs) + "\n")
    assert field == "" and "expands to more than" in message and line is not None


def test_an_alias_chain_deeper_than_the_limit_is_refused() -> None:
    """Each anchor is shallow, but following the aliases nests without end."""
    chain = ["description:", "  a0: &a0 [x]"]
    chain += [f"  a{i}: &a{i} [*a{i - 1}]" for i in range(1, MAX_DEPTH + 5)]
    [(_, _, message)] = _problems(HEAD + "\n".join(chain) + "\n")
    assert f"nested more than {MAX_DEPTH} levels deep" in message


@pytest.mark.parametrize("depth", [MAX_DEPTH - 2, MAX_DEPTH + 1, 5000])
def test_nesting_limit(depth: int) -> None:
    text = HEAD + "description: " + "[" * depth + "]" * depth + "\n"
    problems = _problems(text)
    if depth < MAX_DEPTH:  # parsed; then the schema says a description is a string
        assert problems == [(5, "description", "Input should be a valid string")]
    else:
        assert problems == [(5, "", f"nested more than {MAX_DEPTH} levels deep")]


def test_read_yaml_raises_only_its_own_error() -> None:
    with pytest.raises(YamlInputError) as caught:
        read_yaml("a: [1, 2\nb: 3\n")
    assert caught.value.line == 2
    assert "from line 1" in caught.value.message
    assert read_yaml("").data is None and read_yaml("# only\n").root is None


def test_duplicate_keys_are_found_at_any_depth_and_once_through_aliases() -> None:
    text = "a: &m {x: 1, x: 2}\nb: *m\nc:\n  - {y: 1}\n  - {y: 1, y: 2}\n"
    assert read_yaml(text).duplicate_keys == [(1, "a.x"), (5, "c[1].y")]


def test_merge_keys_are_not_duplicates_and_overrides_win() -> None:
    document = read_yaml("base: &b {k: 1, v: 2}\nd: {<<: *b, v: 3}\n")
    assert document.duplicate_keys == []
    assert document.data["d"] == {"k": 1, "v": 3}


def test_locate_skips_union_tags_and_keeps_a_missing_field() -> None:
    document = read_yaml("timeline:\n  - fault: dns.nodata\n    at: 5s\n    target: r\n")
    root, data = document.root, document.data
    assert locate(root, data, ("timeline", 0, "dns.nodata", "at")) == (3, "timeline[0].at")
    assert locate(root, data, ("timeline", 0, "dns.nodata", "duration")) == (
        2,
        "timeline[0].duration",
    )
    assert locate(root, data, ("timeline", 0, "function-after[x]"), keep_missing_last=False) == (
        2,
        "timeline[0]",
    )
    assert locate(root, data, ("timeline", 7)) == (1, "timeline")


def test_locate_names_the_line_of_the_key_for_a_block_value() -> None:
    document = read_yaml("regions:\n  - name: a\n    service_time:\n      median: 1\n")
    line, shown = locate(document.root, document.data, ("regions", 0, "service_time"))
    assert (line, shown) == (3, "regions[0].service_time")


def test_odd_keys_are_quoted_so_a_problem_stays_on_one_line() -> None:
    [(line, field, message)] = _problems(HEAD + '"two\\nlines\\u2028": 1\n')
    assert (line, field) == (5, "'two\\nlines\\u2028'")
    assert message == "unknown field"


def test_non_string_keys_are_named_with_their_line() -> None:
    problems = _problems(HEAD + "2020-01-01: x\n7: y\n")
    assert [(line, field) for line, field, _ in problems] == [(5, "2020-01-01"), (6, "7")]
    assert all("Keys should be strings" in message for _, _, message in problems)


def test_a_reader_error_names_its_line() -> None:
    [(line, field, message)] = _problems(HEAD + "description: bell\x07\n")
    assert (line, field) == (5, "") and "unacceptable character" in message
