"""A service instance's own client: servers are also clients. It resolves through the world's DNS
server with a cache of its own and connects over its own pools, and every call goes through a
pipeline built from the service's catalog strategy (harness.client.pipeline), exactly like a
client strategy's requests.

One pipeline per dependency target: DynamoDB (home: the instance's region, the others by name) and
each called service (home: the instance's region, or "global" for `endpoint: global`).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass

from harness.client import catalog
from harness.client.api import AttemptResult, ClientEnv, Request, Transport
from harness.client.pipeline import Pipeline, build_pipeline
from harness.client.resolver import DnsResolver
from harness.client.service_transport import ServiceTransport
from harness.client.transport import HttpTransport
from harness.clock import Clock
from harness.events import EventBus
from harness.scenario.service_spec import DYNAMODB, CallSpec, ServiceSpec


@dataclass(frozen=True, slots=True)
class Directory:
    """Where everything is: the DNS server, DynamoDB's names and port, services' names and port."""

    dns: tuple[str, int]
    dynamo: Mapping[str, str]  # region -> name
    dynamo_port: int
    services: Mapping[str, Mapping[str, str]]  # service -> route ("global" or region) -> name
    services_port: int


@dataclass(frozen=True, slots=True)
class CallResult:
    target: str  # "dynamodb" or a service name
    result: AttemptResult
    attempts: int


class Caller:
    def __init__(
        self,
        spec: ServiceSpec,
        region: str,
        directory: Directory,
        *,
        clock: Clock,
        bus: EventBus,
        rng: random.Random,
    ) -> None:
        self._spec = spec
        self._region = region
        self._directory = directory
        self._clock = clock
        self._bus = bus
        self._rng = rng
        self._strategy = catalog.get(spec.strategy)
        self._owner = f"{spec.name}@{region}"
        self._resolver: DnsResolver | None = None
        self._transports: list[Transport] = []
        self._pipelines: dict[tuple[str, str], Pipeline] = {}
        self._ids = itertools.count(1)

    async def start(self, calls: tuple[CallSpec, ...]) -> None:
        directory = self._directory
        self._resolver = DnsResolver(
            directory.dns,
            self._strategy.dns,
            clock=self._clock,
            bus=self._bus,
            strategy=self._owner,
        )
        for call in calls:
            key = (call.to, call.endpoint)
            if key in self._pipelines:
                continue
            transport: HttpTransport | ServiceTransport
            if call.to == DYNAMODB:
                routes = dict(directory.dynamo)
                transport = HttpTransport(
                    strategy=self._owner,
                    endpoints=routes,
                    port=directory.dynamo_port,
                    resolver=self._resolver,
                    pool=self._strategy.pool,
                    clock=self._clock,
                    bus=self._bus,
                    caller_region=self._region,
                )
                home = self._region
            else:
                routes = dict(directory.services[call.to])
                transport = ServiceTransport(
                    service=call.to,
                    endpoints=routes,
                    port=directory.services_port,
                    resolver=self._resolver,
                    pool=self._strategy.pool,
                    caller_region=self._region,
                )
                home = "global" if call.endpoint == "global" else self._region
            await transport.start()
            self._transports.append(transport)
            if home not in routes:  # checked at load; a wrong route would fail every call
                home = next(iter(routes))
            env = ClientEnv(
                transport=transport,
                clock=self._clock,
                bus=self._bus,
                rng=random.Random(self._rng.getrandbits(64)),
                home=home,
                regions=(home, *(r for r in routes if r != home)),
                default_deadline=self._spec.deadline,
            )
            self._pipelines[key] = build_pipeline(self._strategy, env)

    async def call(self, call: CallSpec, key: str) -> CallResult:
        pipeline = self._pipelines[(call.to, call.endpoint)]
        now = self._clock.now()
        op = call.op if call.to == DYNAMODB else "call"
        request = Request(next(self._ids), op, key, now, now + self._spec.deadline, value="x")
        done = await pipeline.execute(request)
        return CallResult(call.to, done.result, done.attempts)

    async def close(self) -> None:
        transports, self._transports = self._transports, []
        for transport in transports:
            await transport.close()
        if self._resolver is not None:
            await self._resolver.close()
