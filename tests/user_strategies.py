"""User strategy factories for tests (`user_strategies:raising`), as a user's package would be."""

from __future__ import annotations

from typing import Any

from harness.client.api import ClientEnv, Request
from harness.client.factory import strategy_factory


class _Raising:
    async def execute(self, request: Request) -> Any:
        raise RuntimeError("boom in user code")


class _Builder:
    def build(self, env: ClientEnv) -> _Raising:
        return _Raising()


@strategy_factory
def raising(name: str, scenario: object) -> _Builder:
    return _Builder()


class _Killing:
    def build(self, env: ClientEnv) -> _Raising:
        # What a crash in native code or the OOM killer does to the process running the unit.
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


@strategy_factory
def killing(name: str, scenario: object) -> _Killing:
    return _Killing()


class _WrongType:
    async def execute(self, request: Request) -> Any:
        return 42  # not a RequestOutcome


class _WrongTypeBuilder:
    def build(self, env: ClientEnv) -> _WrongType:
        return _WrongType()


@strategy_factory
def wrong_type(name: str, scenario: object) -> _WrongTypeBuilder:
    return _WrongTypeBuilder()
