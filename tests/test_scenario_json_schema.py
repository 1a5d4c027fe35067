"""`harness schema` is what editors validate YAML with: it must accept what the loader accepts."""

from __future__ import annotations

from pathlib import Path

import jsonschema

from harness.scenario.model import json_schema
from harness.scenario.yamlmap import read_yaml

ROOT = Path(__file__).resolve().parent.parent


def test_every_shipped_scenario_and_the_full_example_validate_against_the_json_schema() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = [*sorted((ROOT / "scenarios").glob("*.yaml")), ROOT / "tests/data/scenario_full.yaml"]
    for path in files:
        # the harness's YAML reader (YAML 1.2 booleans, as editors read it: `on:` is a key)
        data = read_yaml(path.read_text()).data
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], (path.name, errors[:3])


def test_the_json_schema_still_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    bad = {"name": "x", "duration": "10s", "regions": [{"name": "a", "bogus": 1}]}
    assert any("bogus" in e.message for e in validator.iter_errors(bad))
    bad_target = {
        "name": "x",
        "duration": "10s",
        "regions": [{"name": "a"}],
        "timeline": [{"fault": "dns.nodata", "target": 5, "at": "1s"}],
    }
    assert list(validator.iter_errors(bad_target))
