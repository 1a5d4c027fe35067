"""Credentials: every request first needs a token from an auth service (STS/IAM's pattern).

A strategy with `tokens:` wraps its pipeline in a `TokenGate`. The token comes from the auth service
over the same DNS and HTTP as everything else (harness.client.service_transport), through a
pipeline of the strategy's own blocks (its failover and hedging left out: they choose among data
regions), with a failover block of its own for `endpoint: failover` (global name first, then the
home region's).

- `cache: true` keeps the token until it expires (`ttl` of the auth service) and refreshes it
  early, from 80 % of its life on, at most once a second, keeping the old one while a refresh
  fails (botocore's advisory refresh): an auth outage shorter than the token's remaining life is
  invisible — static stability.
- `cache: false` fetches a token for every request: the request fails whenever auth does, even
  when the data plane is healthy.
Concurrent requests that find no valid token wait for one fetch (a lock, as botocore's credential
refresh takes) instead of stampeding the auth service.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from harness.client.api import AttemptResult, ClientEnv, Request
from harness.client.pipeline import Executor, RequestOutcome, build_pipeline
from harness.client.service_transport import ServiceTransport
from harness.clock import Clock
from harness.events import EventBus
from harness.outcomes import RETRYABLE, Outcome
from harness.scenario.service_spec import GLOBAL, TokenSettings
from harness.scenario.strategy_spec import FailoverBlock, StrategySpec

ADVISORY = 0.8  # refresh from this share of the token's life on
REFRESH_EVERY = 1.0  # seconds between advisory refresh tries
TOKEN_FAILOVER_ON = tuple(sorted(RETRYABLE | {Outcome.CIRCUIT_OPEN}))


@dataclass(frozen=True, slots=True)
class TokenResult:
    result: AttemptResult
    attempts: int


class TokenGate:
    """An Executor: a token first (cached or fetched), then the strategy's own pipeline."""

    def __init__(
        self, inner: Executor, fetch: Executor, settings: TokenSettings, *, ttl: float, clock: Clock
    ) -> None:
        self._inner = inner
        self._fetch = fetch
        self._settings = settings
        self._ttl = ttl
        self._clock = clock
        self._lock = asyncio.Lock()
        self._expires = -1.0
        self._refresh_from = -1.0
        self.fetched_total = 0
        self.failed_total = 0

    async def execute(self, request: Request) -> RequestOutcome:
        token = await self._token(request)
        if token.result.outcome is not Outcome.OK:
            return RequestOutcome(token.result, token.attempts, (), None)
        return await self._inner.execute(request)

    def valid(self) -> bool:
        return self._clock.now() < self._expires

    async def _token(self, request: Request) -> TokenResult:
        if not self._settings.cache:
            return await self._get(request)
        now = self._clock.now()
        if now < self._expires:
            if now >= self._refresh_from and not self._lock.locked():
                async with self._lock:
                    self._refresh_from = now + REFRESH_EVERY  # one try a second at most
                    await self._get(request)  # a failure keeps the token still held
            return TokenResult(AttemptResult(Outcome.OK, GLOBAL), 0)
        async with self._lock:
            if self._clock.now() < self._expires:  # fetched while we waited
                return TokenResult(AttemptResult(Outcome.OK, GLOBAL), 0)
            return await self._get(request)

    async def _get(self, request: Request) -> TokenResult:
        ask = Request(
            request.id, "token", "token", request.intended_start, request.deadline, value=""
        )
        done = await self._fetch.execute(ask)
        if done.result.outcome is Outcome.OK:
            self.fetched_total += 1
            now = self._clock.now()
            self._expires = now + self._ttl
            self._refresh_from = now + ADVISORY * self._ttl
        else:
            self.failed_total += 1
        return TokenResult(done.result, done.attempts)


def token_routes(settings: TokenSettings, home: str, routes: dict[str, str]) -> tuple[str, ...]:
    """Route keys to try, in order: the global name, the home region's, or both (failover)."""
    wanted = {
        "global": (GLOBAL,),
        "regional": (home,),
        "failover": (GLOBAL, home),
    }[settings.endpoint]
    return tuple(key for key in wanted if key in routes)


def token_fetcher(
    strategy: StrategySpec, settings: TokenSettings, env: ClientEnv, routes: tuple[str, ...]
) -> Executor:
    """The pipeline that fetches tokens: the strategy's blocks without its region choosers, plus
    a failover block over `routes` when there is more than one."""
    blocks = tuple(b for b in strategy.blocks if b.kind not in ("failover", "hedge"))
    if len(routes) > 1:
        blocks = (FailoverBlock(regions=None, on=TOKEN_FAILOVER_ON), *blocks)
    spec = strategy.model_copy(update={"blocks": blocks, "name": strategy.name})
    token_env = ClientEnv(
        transport=env.transport,
        clock=env.clock,
        bus=EventBus(),  # token attempts are not data-plane attempts: the gate counts them
        rng=random.Random(env.rng.getrandbits(64)),
        home=routes[0],
        regions=routes,
        default_deadline=env.default_deadline,
    )
    return build_pipeline(spec, token_env)


__all__ = ["ServiceTransport", "TokenGate", "token_fetcher", "token_routes"]
