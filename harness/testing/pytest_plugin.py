"""pytest plugin: the `harness_world` fixture (registered through the `pytest11` entry point).

Name the scenario with the `harness_scenario` ini option (a path relative to the rootdir), with
`@pytest.mark.harness_scenario("path.yaml")` on a test or module, or by overriding the
`harness_scenario` fixture. Each test gets its own world; faults are reverted and the resolver
hook removed when the test ends, whatever its outcome.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the world's modules load when a test asks for one, not with every pytest
    from harness.testing.world import TestWorld


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("harness_scenario", "Scenario file for the harness_world fixture.", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "harness_scenario(path): the scenario the harness_world fixture runs"
    )


@pytest.fixture
def harness_scenario(request: pytest.FixtureRequest) -> Path:
    """The scenario file of `harness_world`: the marker, else the ini option."""
    marker = request.node.get_closest_marker("harness_scenario")
    if marker is not None and marker.args:
        path = Path(marker.args[0])
        base = Path(str(request.node.path)).parent
        return path if path.is_absolute() else base / path
    configured = str(request.config.getini("harness_scenario"))
    if not configured:
        raise pytest.UsageError(
            "harness_world needs a scenario: set `harness_scenario` in the pytest ini options, "
            "mark the test with @pytest.mark.harness_scenario(PATH), or override the "
            "harness_scenario fixture"
        )
    return Path(str(request.config.rootpath)) / configured


@pytest.fixture
def harness_world(harness_scenario: Path) -> Iterator[TestWorld]:
    """A running world (real clock, background thread) with the resolver hook installed."""
    from harness.testing.world import world

    with world(harness_scenario) as running:
        yield running
