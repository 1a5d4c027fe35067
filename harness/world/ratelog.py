"""Logging that hostile traffic cannot turn into a flood: one line per kind per interval.

The world answers whatever arrives from the network; a bad packet repeated 10,000 times a second
must cost 10,000 cheap answers, not 10,000 log lines (or tracebacks). `RateLimitedLog` writes the
first line of a kind, then at most one per `interval` seconds, each saying how many were
suppressed since the last one. Intervals are measured on `time.monotonic`: they bound the lines a
person reads, which a virtual clock (where seconds pass in microseconds) would not.

`quiet_accept_errors(loop)` routes asyncio's "socket.accept() out of system resource" reports
(one traceback per listener per retry when file descriptors run out) through such a log; asyncio
itself stops accepting on that listener and retries a second later, so the server survives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

DEFAULT_INTERVAL = 10.0


class RateLimitedLog:
    """`log(kind, message)`: the first message of `kind`, then one per `interval` at most."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = DEFAULT_INTERVAL,
        *,
        clock: Callable[[], float] = time.monotonic,
        level: int = logging.WARNING,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._level = level
        self._next: dict[str, float] = {}  # kind -> earliest time of its next line
        self._suppressed: dict[str, int] = {}

    def log(self, kind: str, message: str, *args: object) -> bool:
        """Log unless `kind` was logged less than `interval` ago. True if a line was written."""
        now = self._clock()
        if now < self._next.get(kind, float("-inf")):
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return False
        self._next[kind] = now + self._interval
        suppressed = self._suppressed.pop(kind, 0)
        if suppressed:
            message += f" ({suppressed} more like it suppressed)"
        self._logger.log(self._level, message, *args)
        return True

    def suppressed(self, kind: str) -> int:
        return self._suppressed.get(kind, 0)


_ACCEPT_EXHAUSTED = "socket.accept() out of system resource"
_accept_log = RateLimitedLog(logging.getLogger("harness.world.accept"))


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Make `loop` report running out of file descriptors on accept as one line per interval
    (naming the error), instead of a traceback per listener per retry. Other reports go to the
    handler that was there before. Idempotent."""
    previous = loop.get_exception_handler()
    if getattr(previous, "_quiets_accept_errors", False):
        return

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == _ACCEPT_EXHAUSTED:
            exc = context.get("exception")
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            _accept_log.log(
                "accept",
                "cannot accept connections: %s (listeners pause and retry every second; "
                "raise `ulimit -n` or hold fewer connections)",
                reason,
            )
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    handler._quiets_accept_errors = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)
