"""A small client for Prometheus's HTTP API (instant and range queries), loopback only."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from harness.errors import HarnessError
from harness.netguard import require_loopback

_TIMEOUT = aiohttp.ClientTimeout(total=10.0)


class PrometheusError(HarnessError):
    """Prometheus refused a query (bad PromQL, ...) or could not be reached."""


@dataclass(frozen=True, slots=True)
class Sample:
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Series:
    labels: Mapping[str, str]
    values: tuple[tuple[float, float], ...]  # (unix time, value)

    def has_number(self) -> bool:
        return any(not math.isnan(v) for _, v in self.values)


class PrometheusApi:
    """Queries a Prometheus at `base_url` (e.g. http://127.0.0.1:9090); call `close()` when done."""

    def __init__(self, base_url: str, *, allow_non_loopback: bool = False) -> None:
        host = urlsplit(base_url).hostname or ""
        if not allow_non_loopback:
            require_loopback(host, "Prometheus URL host")
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> PrometheusApi:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def ready(self, timeout: float = 2.0) -> bool:
        try:
            limit = aiohttp.ClientTimeout(total=timeout)
            async with self._client().get(f"{self.base_url}/-/ready", timeout=limit) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Instant query; a scalar answer comes back as one sample without labels."""
        params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
        data = await self._get("/api/v1/query", params)
        kind, result = data["resultType"], data["result"]
        if kind == "scalar":
            return [Sample({}, float(result[1]))]
        if kind == "matrix":  # a range selector: report the newest point
            return [Sample(r["metric"], float(r["values"][-1][1])) for r in result if r["values"]]
        return [Sample(r["metric"], float(r["value"][1])) for r in result]

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = await self._get("/api/v1/query_range", params)
        return [
            Series(r["metric"], tuple((float(t), float(v)) for t, v in r["values"]))
            for r in data["result"]
        ]

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            async with self._client().post(f"{self.base_url}{path}", data=params) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise PrometheusError(f"cannot query Prometheus at {self.base_url}: {exc}") from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", body) if isinstance(body, dict) else body
            raise PrometheusError(f"Prometheus refused {params['query']!r}: {error}")
        data = body["data"]
        assert isinstance(data, dict)
        return data
