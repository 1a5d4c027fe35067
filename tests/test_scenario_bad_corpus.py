"""Each file in tests/data/bad_scenarios/ is rejected with the right line, field and message."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.errors import Problem, ScenarioError
from harness.scenario import load_scenario, parse_scenario

CORPUS = Path(__file__).parent / "data" / "bad_scenarios"
KNOWN = ("naive", "aws-standard", "hedged")

Expected = tuple[int, str, str]  # line, field path, a fragment of the message

# One entry per file: the problems it must produce, no more and no fewer.
EXPECTED: dict[str, list[Expected]] = {
    "empty.yaml": [(1, "", "empty file")],
    "only_comments.yaml": [(1, "", "empty file")],
    "unbalanced_brackets.yaml": [(4, "", "flow sequence (from line 3)")],
    "tab_indentation.yaml": [(4, "", "'\\t'")],
    "two_documents.yaml": [(4, "", "single document")],
    "top_level_list.yaml": [(1, "", "got list")],
    "top_level_scalar.yaml": [(1, "", "got str")],
    "string_for_int.yaml": [(5, "regions[0].endpoints", "valid integer")],
    "list_for_mapping.yaml": [(5, "dns", "valid dictionary")],
    "negative_duration.yaml": [(2, "duration", "≥ 0")],
    "bad_duration_unit.yaml": [(2, "duration", "'5 parsecs' is not a duration")],
    "bad_rate.yaml": [(6, "clients.rate", "'500/fortnight' is not a rate")],
    "ramp_not_at_zero.yaml": [(6, "clients.ramp", "the first point must be at 0s")],
    "burst_without_period.yaml": [(8, "clients.bursts[0]", "needs `every`")],
    "rate_above_one.yaml": [(9, "timeline[0].rate", "less than or equal to 1")],
    "probability_above_one.yaml": [(8, "slo.naive.availability", "less than or equal to 1")],
    "unknown_top_level_key.yaml": [(5, "regoins", "unknown field")],
    "unknown_nested_key.yaml": [(7, "regions[1].capacity.concurency", "unknown field")],
    "duplicate_key.yaml": [(5, "duration", "duplicate key")],
    "duplicate_region.yaml": [(5, "regions[1].name", "duplicate region name 'us-east-1'")],
    "zero_regions.yaml": [(3, "regions", "at least 1 item")],
    "missing_required.yaml": [(1, "name", "Field required"), (1, "duration", "Field required")],
    "bad_name.yaml": [(4, "regions[0].name", "lowercase letters")],
    "fault_unknown_region.yaml": [(8, "timeline[0].target", "unknown region 'eu-west-1'")],
    "unknown_fault_kind.yaml": [(6, "timeline[0].fault", "unknown fault 'dns.meteor'")],
    "fault_missing_kind.yaml": [(6, "timeline[0].fault", "Field required")],
    "fault_after_end.yaml": [(7, "timeline[0].at", "after the run ends")],
    "unknown_az.yaml": [(11, "timeline[0].target.az", "unknown AZ 'use1-az9'")],
    "endpoint_out_of_range.yaml": [
        (11, "timeline[0].target.endpoints[1]", "endpoint 3 does not exist")
    ],
    "dns_host_not_loopback.yaml": [(4, "dns.host", "not a loopback address")],
    "wrong_address_not_loopback.yaml": [(9, "timeline[0].address", "not an IPv4 loopback")],
    "strategies_not_a_list.yaml": [(5, "strategies", "expected 'all' or a list of strategies")],
    "unknown_strategy.yaml": [(7, "strategies[1]", "unknown strategy 'telepathy'")],
    "inline_unknown_block.yaml": [(9, "strategies[0].blocks[1].kind", "unknown kind 'prayer'")],
    "inline_duplicate_block.yaml": [(7, "strategies[0].blocks", "more than once: retry")],
    "failover_unknown_region.yaml": [
        (10, "strategies[0].blocks[0].regions[1]", "unknown region 'eu-central-1'")
    ],
    "service_cycle.yaml": [(7, "services[1].calls[1].to", "dependency cycle: a -> b -> a")],
    "service_unknown_call.yaml": [(8, "services[0].calls[0].to", "unknown service 'iam'")],
    "service_unknown_region.yaml": [(8, "services[0].regions[1]", "unknown region 'eu-west-1'")],
    "tokens_unknown_service.yaml": [
        (9, "strategies[0].tokens.service", "not a token service"),
        (11, "timeline[0].target.service", "unknown service 'sts'"),
    ],
    "population_unknown_home.yaml": [
        (8, "clients.populations[1].home", "unknown region 'eu-west-1'")
    ],
    "populations_and_home_region.yaml": [(6, "clients", "`home_region` or `populations`")],
    "population_duplicate_home.yaml": [(6, "clients.populations", "one per home region")],
    "rtt_from_unknown_region.yaml": [(6, "regions[0].rtt_from.eu-west-1", "unknown region")],
    "bad_factory_path.yaml": [(7, "strategies[0].factory", "package.module:factory")],
    "slo_unknown_strategy.yaml": [(9, "slo.hedged", "'hedged' is not in this scenario")],
    "stop_when_unknown_strategy.yaml": [
        (8, "stop_when[0].strategy", "'hedged' is not in this scenario")
    ],
    "phases_out_of_order.yaml": [(9, "phases[1].at", "time order")],
    "p99_below_median.yaml": [(5, "regions[0].service_time", "p99 must be ≥ median")],
    "nul_bytes.yaml": [(3, "", "NUL")],
    "not_utf8.yaml": [(3, "", "not UTF-8")],
    "huge_number.yaml": [(2, "duration", "too large")],
    "deep_nesting.yaml": [(5, "", "nested more than")],
    "billion_laughs.yaml": [(11, "", "expands to more than 100000 nodes")],
    "recursive_alias.yaml": [(3, "", "refers to itself")],
    # Several defects in one file: every one is reported, not just the first.
    "many_problems.yaml": [
        (3, "seed", "greater than or equal to 0"),
        (6, "regions[0].endpoints", "greater than or equal to 1"),
        (8, "regions[1].rtt", "'fast' is not a duration"),
        (10, "clients.rate", "is not a rate"),
        (11, "clients.deadline", "≥ 0"),
        (16, "timeline[0].rate", "less than or equal to 1"),
    ],
    "many_semantic_problems.yaml": [
        (7, "clients.home_region", "unknown region 'ap-south-1'"),
        (11, "timeline[0].target", "unknown region 'eu-west-1'"),
        (13, "timeline[1].at", "after the run ends"),
        (16, "timeline[1].target.endpoints[0]", "endpoint 7 does not exist"),
    ],
}


def _problems(path: Path) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, known_strategies=KNOWN)
    assert caught.value.problems, "a ScenarioError must carry at least one Problem"
    return caught.value.problems


def test_the_table_and_the_corpus_agree() -> None:
    on_disk = {p.name for p in CORPUS.glob("*.yaml")}
    assert on_disk == set(EXPECTED)
    assert len(on_disk) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_is_reported_precisely(name: str) -> None:
    problems = _problems(CORPUS / name)
    expected = EXPECTED[name]
    got = sorted((p.line or 0, p.field) for p in problems)
    assert got == sorted((line or 0, field) for line, field, _ in expected)
    for line, field, fragment in expected:
        match = [p for p in problems if p.field == field and p.line == line]
        assert any(fragment in p.message for p in match), (fragment, [str(p) for p in match])
    for problem in problems:
        assert problem.file == str(CORPUS / name)
        assert problem.message.strip()


def test_problem_prints_as_file_line_field_message() -> None:
    problems = _problems(CORPUS / "unknown_nested_key.yaml")
    assert str(problems[0]) == (
        f"{CORPUS / 'unknown_nested_key.yaml'}:7: regions[1].capacity.concurency: unknown field"
    )
    assert str(Problem("f.yaml", None, "", "no such file")) == "f.yaml: no such file"


def test_billion_laughs_fails_fast() -> None:
    started = time.perf_counter()
    problems = _problems(CORPUS / "billion_laughs.yaml")
    assert time.perf_counter() - started < 1.0  # 9**9 strings if expanded: it would never end
    assert len(problems) == 1


def test_a_directory_is_not_a_scenario(tmp_path: Path) -> None:
    problems = _problems(tmp_path)
    assert [(p.file, p.line, p.message) for p in problems] == [
        (str(tmp_path), None, "is a directory, not a scenario file")
    ]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert [str(p) for p in _problems(missing)] == [f"{missing}: no such file"]


def test_an_oversized_file_is_refused_without_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("description: '" + "x" * 1_100_000 + "'\n")
    assert "larger than" in _problems(big)[0].message


def test_semantic_problems_are_reported_with_schema_valid_duplicate_keys() -> None:
    text = "name: a\nname: b\nduration: 60s\nregions: [{name: r}]\nclients: {home_region: x}\n"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "dup.yaml")
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (2, "name"),
        (5, "clients.home_region"),
    ]
