"""Helpers for the region endpoint tests: a region on 127.0.77.x, and a tiny raw HTTP/1.1 client
whose connections we can watch (reused, closed by the server, refused)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from harness.scenario.model import RegionSpec
from harness.world.region import Region
from harness.world.replication import Replicator

TARGET = "DynamoDB_20120810."


def region_spec(name: str = "us-east-1", **fields: Any) -> RegionSpec:
    base: dict[str, Any] = {
        "name": name,
        "endpoints": 3,
        "rtt": 0.0,
        "service_time": 0.0,
        "connections": {"idle_timeout": 60, "max_age": None},
    }
    base.update(fields)
    return RegionSpec.model_validate(base)


def addresses(spec: RegionSpec, octet: int = 77) -> tuple[str, ...]:
    return tuple(f"127.0.{octet}.{i + 1}" for i in range(spec.endpoints))


@asynccontextmanager
async def running_region(
    spec: RegionSpec, *, octet: int = 77, replicator: Replicator | None = None, seed: int = 1
) -> AsyncIterator[Region]:
    region = Region(spec, addresses(spec, octet), rng=random.Random(seed), replicator=replicator)
    await region.start()
    try:
        yield region
    finally:
        await region.stop()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str:
        return str(self.json().get("__type", "")).rsplit("#", 1)[-1]


@dataclass
class RawConnection:
    """One HTTP/1.1 connection, request by request; `closed` once the server has closed it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    closed: bool = False
    replies: list[Reply] = field(default_factory=list)

    @classmethod
    async def open(cls, host: str, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def call(self, op: str, payload: dict[str, Any] | None = None) -> Reply:
        await self.send(op, payload)
        return await self.receive()

    async def send(self, op: str, payload: dict[str, Any] | None = None) -> None:
        body = json.dumps(payload or {}).encode()
        head = (
            f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}{op}\r\n"
            f"Content-Type: application/x-amz-json-1.0\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()

    async def receive(self) -> Reply:
        status_line = await self.reader.readline()
        if not status_line:
            self.closed = True
            raise ConnectionError("closed by the server before a response")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        reply = Reply(status, headers, body)
        self.replies.append(reply)
        return reply

    async def wait_closed_by_server(self) -> bool:
        """True if the server closes the connection (EOF) without sending anything more."""
        try:
            data = await self.reader.read(1)
        except ConnectionError:
            data = b""
        self.closed = not data
        return self.closed

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError):
            await self.writer.wait_closed()


def put(key: str, value: str = "v", table: str = "items") -> dict[str, Any]:
    return {"TableName": table, "Item": {"pk": {"S": key}, "val": {"S": value}}}


def get(key: str, table: str = "items") -> dict[str, Any]:
    return {"TableName": table, "Key": {"pk": {"S": key}}}
