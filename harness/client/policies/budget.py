"""Finagle RetryBudget (com.twitter.finagle.service.RetryBudget), on the loop clock.

Defaults (Finagle `RetryBudget()`): ttl 10 s, minRetriesPerSec 10, percentCanRetry 0.2 —
"about 20 % of requests may be retried, on top of 10 retries per second". Integer arithmetic
exactly as Finagle's TokenRetryBudget: with scale 1000, a request deposits 1000, a retry
withdraws int(1000 / percent) = 5000, and the reserve is minRetriesPerSec x ttl x withdrawal
(= 500,000, i.e. 100 retries). A retry is allowed while deposits-minus-withdrawals of the
last ttl plus the reserve cover one withdrawal. Deposits *and* withdrawals expire after ttl
(Finagle's leaky bucket over a WindowedAdder of 10 slices; here the slices are aligned to a
grid of ttl/10 on the loop clock rather than to the last expiry, a sub-slice difference).
percent 0 and reserve 0 is Finagle's `RetryBudget.Empty`: no retry, ever.
"""

from __future__ import annotations

from harness.client.api import AttemptResult, Context, Next
from harness.client.policies.base import BlockEnv, SlidingSum
from harness.errors import StrategyError
from harness.events import TokensChanged
from harness.scenario.strategy_spec import BudgetBlock

_SCALE = 1000
_SLICES = 10
_DEPOSITED = "budget.deposited"


class RetryBudgetPolicy:
    name = "budget"

    def __init__(self, options: BudgetBlock, env: BlockEnv) -> None:
        if options.ttl <= 0:
            raise StrategyError(f"strategy {env.strategy!r}: budget ttl must be > 0")
        self.options = options
        self.env = env
        percent = options.percent_can_retry
        self.deposit_amount = 0 if percent == 0 else _SCALE
        self.withdrawal_amount = 1 if percent == 0 else int(_SCALE / percent)
        self.reserve = int(options.min_retries_per_sec * options.ttl * self.withdrawal_amount)
        self._empty = percent == 0 and options.min_retries_per_sec == 0
        self._window = SlidingSum(options.ttl, _SLICES, env.clock.now())

    def balance(self) -> int:
        """Retries that could be made now (Finagle's `balance`)."""
        if self._empty:
            return 0
        return self._count() // self.withdrawal_amount

    def _count(self) -> int:
        return self._window.total(self.env.clock.now()) + self.reserve

    def allow_retry(self, ctx: Context, last: AttemptResult) -> bool:
        if self._empty or self._count() < self.withdrawal_amount:
            return False
        self._window.add(self.env.clock.now(), -self.withdrawal_amount)
        self._changed()
        return True

    async def execute(self, ctx: Context, next: Next) -> AttemptResult:
        if _DEPOSITED not in ctx.extras:  # one deposit per request, not per attempt
            ctx.extras[_DEPOSITED] = True
            if self.deposit_amount:
                self._window.add(self.env.clock.now(), self.deposit_amount)
                self._changed()
        return await next(ctx)

    def _changed(self) -> None:
        bus = self.env.bus
        if bus.wants(TokensChanged):
            bus.emit(TokensChanged(self.env.strategy, self.name, float(self.balance())))
