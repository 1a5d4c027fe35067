"""User strategy factories for tests (`user_strategies:raising`), as a user's package would be."""

from __future__ import annotations

from typing import Any

from harness.client.api import ClientEnv, Request


class _Raising:
    async def execute(self, request: Request) -> Any:
        raise RuntimeError("boom in user code")


class _Builder:
    def build(self, env: ClientEnv) -> _Raising:
        return _Raising()


def raising(name: str, scenario: object) -> _Builder:
    return _Builder()
