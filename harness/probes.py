"""Hostile packets, and the event loop's worst stall while they are served (a 1 ms ticker's
largest gap): shared by the hardening tests and bench/hostile_probes.py (docs/hardening.md)."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def pointer_chain(size: int) -> bytes:
    """A "query" of many questions, each named by a pointer to the previous question's name:
    decoding question n follows n pointers (quadratic work for a parser that follows them)."""
    body = bytearray(b"\x00" + struct.pack("!HH", 1, 1))  # the root's question, at offset 12
    questions, previous = 1, 12
    while 12 + len(body) + 6 <= size:
        here = 12 + len(body)
        body += struct.pack("!HHH", 0xC000 | previous, 1, 1)
        questions, previous = questions + 1, here
    return struct.pack("!HHHHHH", 0x1234, 0, questions, 0, 0, 0) + bytes(body)


def query_wire(labels: list[bytes], *, ident: int = 0x4321, tail: bytes = b"") -> bytes:
    """A one-question A/IN query for `labels`, written by hand (dnspython refuses bad names)."""
    name = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    arcount = 1 if tail else 0
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, arcount)
    return header + name + struct.pack("!HH", 1, 1) + tail


async def worst_stall(run: Awaitable[T]) -> tuple[float, T]:
    """Run `run` next to a 1 ms ticker: (largest gap between ticks beyond the 1 ms, result).
    Real time: only for tests and probes that do not run under the virtual clock."""
    worst = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst = max(worst, now - last - 0.001)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)
    try:
        result = await run
    finally:
        stop.set()
        await tick
    return worst, result
