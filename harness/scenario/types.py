"""Shared field types for scenario specs: human durations and rates, latency distributions."""

from __future__ import annotations

import math
import random
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from harness.units import parse_duration, parse_rate

_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(us|µs|ms|s|m|h|d)?\s*$"},
        {"type": "number", "minimum": 0},
    ],
    "description": "A duration: 250ms, 1.5s, 90s, 2m, 1h, or a number of seconds.",
}
_RATE_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*/\s*(s|m|h)\s*$"},
        {"type": "number", "minimum": 0},
    ],
    "description": "A rate: 500/s, 30/m, or a number per second.",
}

Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]


def _duration_or_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        return None
    return parse_duration(value)


_DEADLINE_SCHEMA = {
    "anyOf": [*_DURATION_SCHEMA["anyOf"], {"const": "none"}, {"type": "null"}],
    "description": "A duration, or `none`: no deadline.",
}
# A caller's deadline: None (written `none`) means the caller waits as long as the strategy tries.
Deadline = Annotated[
    float | None, BeforeValidator(_duration_or_none), WithJsonSchema(_DEADLINE_SCHEMA)
]
Rate = Annotated[float, BeforeValidator(parse_rate), WithJsonSchema(_RATE_SCHEMA)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class Spec(BaseModel):
    """Base of every scenario section: immutable, unknown keys are errors, numbers are finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# z-score of the 99th percentile of a standard normal: ties median and p99 to a lognormal sigma.
_Z99 = 2.3263478740408408


class LatencySpec(Spec):
    """A latency distribution given by its median and p99 (a lognormal fitted to both).

    Written either as `{median: 4ms, p99: 25ms}` or as one duration for a constant.
    """

    median: Duration
    p99: Duration

    @model_validator(mode="before")
    @classmethod
    def _constant(cls, value: Any) -> Any:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return {"median": value, "p99": value}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> LatencySpec:
        if self.p99 < self.median:
            raise ValueError("p99 must be ≥ median")
        return self

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The shorthand `service_time: 10ms` (a constant) is valid YAML for editors too.
        return {"anyOf": [handler(schema), _DURATION_SCHEMA]}

    @property
    def sigma(self) -> float:
        if self.median <= 0 or self.p99 <= self.median:
            return 0.0
        return math.log(self.p99 / self.median) / _Z99

    def sample(self, rng: random.Random) -> float:
        """One draw in seconds; constant when p99 == median."""
        sigma = self.sigma
        if sigma == 0.0:
            return self.median
        return self.median * math.exp(rng.gauss(0.0, sigma))
