"""Resolving a scenario's strategies, user factories (`package.module:factory`) included."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest
from policy_fakes import FakeTransport, make_env, make_request

from harness.client import catalog
from harness.client.factory import UserStrategy, build_executor, resolve_strategies
from harness.client.pipeline import Pipeline
from harness.errors import StrategyError
from harness.outcomes import Outcome
from harness.scenario.model import RegionSpec, Scenario
from harness.scenario.strategy_spec import FactoryStrategy, RetryBlock, StrategySpec

SCENARIO = Scenario(
    name="factory-test", duration=60, regions=(RegionSpec(name="r1"), RegionSpec(name="r2"))
)
_serial = itertools.count()

SPEC_FACTORY = """
from harness.client.factory import strategy_factory
from harness.scenario.strategy_spec import RetryBlock, StrategySpec

@strategy_factory
def make(name, scenario):
    return StrategySpec(name="ignored", blocks=(RetryBlock(max_attempts=2),),
                        description=f"for {scenario.name}")
"""

BUILDER_FACTORY = """
from pathlib import Path

from harness.client.api import AttemptResult
from harness.client.factory import strategy_factory
from harness.client.pipeline import RequestOutcome
from harness.outcomes import Outcome

class Always:
    def __init__(self, home):
        self.home = home
    async def execute(self, request):
        return RequestOutcome(AttemptResult(Outcome.OK, self.home), 0, (), self.home)

class Builder:
    def build(self, env):
        return Always(env.home)

class SyncBuilder:
    def build(self, env):
        return object()

@strategy_factory
def make(name, scenario):
    return Builder()

@strategy_factory
def make_sync(name, scenario):
    return SyncBuilder()

@strategy_factory
def wrong(name, scenario):
    return 42

@strategy_factory
def boom(name, scenario):
    raise RuntimeError("no config for " + name + "\\nsecond line")

def unmarked(name, scenario):  # would leave a trace if it were ever called
    Path(name).write_text("called")
    return Builder()

@strategy_factory
def one_argument(path):
    return Builder()

not_callable = 3
"""


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    name = f"user_strategies_{next(_serial)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_all_means_the_catalog_in_order() -> None:
    resolved = resolve_strategies("all", SCENARIO)
    assert [s.name for s in resolved] == list(catalog.names())


def test_names_and_inline_specs_in_the_order_given() -> None:
    inline = StrategySpec(name="mine", blocks=(RetryBlock(),))
    resolved = resolve_strategies(("naive", inline, "aws-standard-2026"), SCENARIO)
    assert [s.name for s in resolved] == ["naive", "mine", "aws-standard-2026"]
    assert resolved[1] is inline
    with pytest.raises(StrategyError, match="did you mean 'naive'"):
        resolve_strategies(("naiv",), SCENARIO)


def test_a_factory_returning_a_spec_is_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _module(tmp_path, monkeypatch, SPEC_FACTORY)
    [spec] = resolve_strategies(
        (FactoryStrategy(name="custom", factory=f"{module}:make"),), SCENARIO
    )
    assert isinstance(spec, StrategySpec)
    assert spec.name == "custom" and spec.description == "for factory-test"
    assert isinstance(spec.blocks[0], RetryBlock) and spec.blocks[0].max_attempts == 2


@pytest.mark.looptime
async def test_a_factory_returning_a_builder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _module(tmp_path, monkeypatch, BUILDER_FACTORY)
    refs = (FactoryStrategy(name="user", factory=f"{module}:make"), "naive")
    user, naive = resolve_strategies(refs, SCENARIO)
    assert isinstance(user, UserStrategy) and user.factory == f"{module}:make"
    env = make_env(FakeTransport(), regions=("r1", "r2"), seed=1)
    executor = build_executor(user, env)
    outcome = await executor.execute(make_request())
    assert outcome.result.outcome is Outcome.OK and outcome.region_served == "r1"
    assert isinstance(build_executor(naive, env), Pipeline)

    [sync] = resolve_strategies(
        (FactoryStrategy(name="s", factory=f"{module}:make_sync"),), SCENARIO
    )
    with pytest.raises(StrategyError, match=r"strategy 's' .*async execute"):
        build_executor(sync, env)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module_xyz:make", r"strategy 'bad' \(no_such_module_xyz:make\): cannot import"),
        ("{module}:missing", r"has no callable 'missing'"),
        ("{module}:not_callable", r"has no callable 'not_callable'"),
        ("{module}:wrong", r"returned int, expected a StrategySpec or an object with build"),
        ("{module}:boom", r"the factory raised RuntimeError: no config for bad$"),
        ("{module}:unmarked", r"not a strategy factory, so it was not called: mark it with"),
        ("{module}:one_argument", r"a factory must accept \(name, scenario\)"),
        ("shutil:rmtree", r"\(shutil:rmtree\): not a strategy factory, so it was not called"),
    ],
)
def test_bad_factories_give_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    module = _module(tmp_path, monkeypatch, BUILDER_FACTORY)
    monkeypatch.chdir(tmp_path)
    ref = FactoryStrategy(name="bad", factory=target.format(module=module))
    with pytest.raises(StrategyError, match=message) as info:
        resolve_strategies((ref,), SCENARIO)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "bad").exists()  # nothing unmarked was ever called


def test_a_module_that_fails_to_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _module(tmp_path, monkeypatch, "raise ImportError('needs a missing package')\n")
    ref = FactoryStrategy(name="broken", factory=f"{module}:make")
    with pytest.raises(
        StrategyError, match=r"cannot import .*ImportError: needs a missing package"
    ):
        resolve_strategies((ref,), SCENARIO)
