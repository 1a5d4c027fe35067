from harness.docs import main


def test_readme_reference_tables_match_the_code() -> None:
    # Strategies, faults and metrics tables are generated: `python -m harness.docs` fixes drift.
    assert main(["--check"]) == 0
