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


class _Killing:
    def build(self, env: ClientEnv) -> _Raising:
        # What a crash in native code or the OOM killer does to the process running the unit.
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


def killing(name: str, scenario: object) -> _Killing:
    return _Killing()
