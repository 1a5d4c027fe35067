"""Turn a scenario's `strategies` field into buildable strategies, user factories included.

A FactoryStrategy names `package.module:factory`; the factory is called as
`factory(name, scenario)` and returns either a StrategySpec (built like a catalog strategy,
under the name the scenario gave it) or an object with

    build(env: harness.client.api.ClientEnv) -> executor

where env (transport, clock, bus, rng, home, regions, default_deadline) is what every strategy
instance is built with, and the executor has `async def execute(request) -> RequestOutcome`.
Every failure to import, call or check it is a StrategyError with one line naming the strategy
and the import path.

A scenario's `factory:` runs code. So the harness only calls a function marked with
`@strategy_factory` that accepts (name, scenario): `factory: "shutil:rmtree"` is refused before
anything is called. Importing the module does run its top-level code (`harness validate` imports
it too, to check it; it never calls the factory).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from harness.client import catalog
from harness.client.api import ClientEnv
from harness.client.pipeline import Executor, build_pipeline
from harness.errors import StrategyError
from harness.scenario.model import Scenario
from harness.scenario.strategy_spec import FactoryStrategy, StrategySpec

FACTORY_MARK = "__harness_strategy_factory__"
F = TypeVar("F", bound=Callable[..., Any])


def strategy_factory(factory: F) -> F:
    """Mark `factory(name, scenario)` as a strategy factory a scenario may name (`factory:`)."""
    setattr(factory, FACTORY_MARK, True)
    return factory


class StrategyBuilder(Protocol):
    def build(self, env: ClientEnv) -> Executor: ...


@dataclass(frozen=True, slots=True)
class UserStrategy:
    """A strategy whose pipeline is user code (the factory returned a builder, not a spec)."""

    name: str
    description: str
    factory: str  # "package.module:factory"
    builder: StrategyBuilder


Resolved = StrategySpec | UserStrategy


def resolve_strategies(
    refs: Literal["all"] | Sequence[str | StrategySpec | FactoryStrategy], scenario: Scenario
) -> list[Resolved]:
    """Catalog names, inline specs and factories, in the order given ("all": the catalog)."""
    if refs == "all":
        return [catalog.get(name) for name in catalog.names()]
    resolved: list[Resolved] = []
    for ref in refs:
        if isinstance(ref, str):
            resolved.append(catalog.get(ref))
        elif isinstance(ref, StrategySpec):
            resolved.append(ref)
        else:
            resolved.append(load_factory(ref, scenario))
    return resolved


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check_factory(ref: FactoryStrategy) -> Callable[..., Any]:
    """Import the factory's module and check the factory, without calling it."""
    where = f"strategy {ref.name!r} ({ref.factory})"
    module_name, _, attr = ref.factory.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of user code is a bad strategy
        raise StrategyError(f"{where}: cannot import {module_name!r}: {_one_line(exc)}") from exc
    factory: Callable[..., Any] | None = getattr(module, attr, None)
    if not callable(factory):
        raise StrategyError(f"{where}: {module_name!r} has no callable {attr!r}")
    if getattr(factory, FACTORY_MARK, False) is not True:
        raise StrategyError(
            f"{where}: not a strategy factory, so it was not called: mark it with "
            "@harness.client.factory.strategy_factory"
        )
    try:
        inspect.signature(factory).bind("name", None)
    except TypeError:
        raise StrategyError(f"{where}: a factory must accept (name, scenario)") from None
    except ValueError:  # no signature to inspect (some builtins): calling it will tell
        pass
    return factory


def load_factory(ref: FactoryStrategy, scenario: Scenario) -> Resolved:
    where = f"strategy {ref.name!r} ({ref.factory})"
    factory = check_factory(ref)
    try:
        made: Any = factory(ref.name, scenario)
    except Exception as exc:
        raise StrategyError(f"{where}: the factory raised {_one_line(exc)}") from exc
    if isinstance(made, StrategySpec):
        description = made.description or ref.description
        return made.model_copy(update={"name": ref.name, "description": description})
    if callable(getattr(made, "build", None)):
        return UserStrategy(ref.name, ref.description, ref.factory, made)
    raise StrategyError(
        f"{where}: the factory returned {type(made).__name__}, "
        "expected a StrategySpec or an object with build(env)"
    )


def build_executor(strategy: Resolved, env: ClientEnv) -> Executor:
    """One strategy instance, whichever way it was defined."""
    if isinstance(strategy, StrategySpec):
        return build_pipeline(strategy, env)
    where = f"strategy {strategy.name!r} ({strategy.factory})"
    try:
        executor = strategy.builder.build(env)
    except Exception as exc:
        raise StrategyError(f"{where}: build() raised {_one_line(exc)}") from exc
    if not inspect.iscoroutinefunction(getattr(executor, "execute", None)):
        raise StrategyError(f"{where}: build() must return an object with async execute(request)")
    return executor
