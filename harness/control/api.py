"""The control API of a running world: JSON over HTTP on loopback (Toxiproxy's model).

    GET    /health                 liveness (no token needed)
    GET    /world                  where the DNS server and the regions listen
    GET    /catalog                every fault with its attributes, units and defaults
    GET    /faults[?all=1]         active (and scheduled) faults; all=1 adds reverted ones
    POST   /faults                 apply a fault given as a timeline entry (`at` defaults to 0)
    GET    /faults/{id}            one fault
    DELETE /faults/{id}            revert one
    DELETE /faults                 revert all
    POST   /timeline               run the scenario's timeline from now
    GET    /journal                every apply and revert, and a summary per fault
    GET    /metrics                the world's Prometheus metrics
    POST   /shutdown               revert everything and stop the world

Errors are JSON `{"error": "one line", "problems": [...]}`: 400 for a bad fault (the same
FILE:LINE: field: message lines `harness validate` prints, FILE being `body`), 401 without the
token, 404 for an unknown fault, 409 for a fault this world cannot take, 503 while stopping.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from harness.app_site import AppSite
from harness.control.live import ControlClosed, LiveFaults, UnknownFault
from harness.errors import ScenarioError
from harness.faults.base import FaultError
from harness.faults.table import fault_table
from harness.netguard import require_loopback
from harness.scenario.loader import parse_fault
from harness.scenario.model import Scenario

BODY_FILE = "body"  # how problems in a request body are located: body:LINE: field: message
MAX_BODY = 64 * 1024
TOKEN_HEADER = "Authorization"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data, indent=None) + "\n", status=status, content_type="application/json"
    )


def error(status: int, message: str, problems: list[dict[str, Any]] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if problems is not None:
        body["problems"] = problems
    return _json(body, status)


class ControlApi:
    """The handlers; `app()` builds the aiohttp application."""

    def __init__(
        self,
        faults: LiveFaults,
        scenario: Scenario,
        world_info: Callable[[], dict[str, Any]],
        registry: CollectorRegistry,
        *,
        token: str | None,
        stop: Callable[[str], None],
    ) -> None:
        self._faults = faults
        self._scenario = scenario
        self._world_info = world_info
        self._registry = registry
        self._token = token
        self._stop = stop

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        r = app.router
        r.add_get("/health", self.health)
        r.add_get("/world", self.world)
        r.add_get("/catalog", self.catalog)
        r.add_get("/faults", self.list_faults)
        r.add_post("/faults", self.apply)
        r.add_delete("/faults", self.revert_all)
        r.add_get("/faults/{id}", self.get_fault)
        r.add_delete("/faults/{id}", self.revert)
        r.add_post("/timeline", self.timeline)
        r.add_get("/journal", self.journal)
        r.add_get("/metrics", make_aiohttp_handler(self._registry))
        r.add_post("/shutdown", self.shutdown)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._token is not None and request.path != "/health":
            given = request.headers.get(TOKEN_HEADER, "")
            expected = f"Bearer {self._token}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                response = error(401, "missing or wrong bearer token (Authorization: Bearer …)")
                response.headers["WWW-Authenticate"] = 'Bearer realm="harness"'
                return response
        try:
            return await handler(request)
        except web.HTTPException as exc:  # aiohttp's own 404/405/413: JSON like the rest
            if exc.status < 400:
                raise
            return error(exc.status, exc.reason)

    # ---- handlers ----------------------------------------------------------------------------

    async def health(self, _: web.Request) -> web.Response:
        return _json(
            {
                "status": "stopping" if self._faults.closed else "ok",
                "uptime": round(self._faults.elapsed(), 3),
                "active": len(self._faults.faults()),
            }
        )

    async def world(self, _: web.Request) -> web.Response:
        return _json({"scenario": self._scenario.name, **self._world_info()})

    async def catalog(self, _: web.Request) -> web.Response:
        return _json({"faults": fault_table()})

    async def list_faults(self, request: web.Request) -> web.Response:
        everything = request.query.get("all", "") not in ("", "0", "false", "no")
        faults = self._faults.faults(include_reverted=everything)
        return _json({"faults": [self._faults.describe(f) for f in faults]})

    async def apply(self, request: web.Request) -> web.Response:
        try:
            text = await request.text()
        except UnicodeDecodeError:
            return error(400, f"{BODY_FILE}: not UTF-8 text")
        if not text.strip():
            return error(
                400,
                f"{BODY_FILE}: empty: expected a fault entry such as "
                '{"fault": "dns.nodata", "target": "us-east-1"}',
            )
        try:
            spec = parse_fault(text, BODY_FILE, self._scenario)
        except ScenarioError as exc:
            problems = [
                {"line": p.line, "field": p.field, "message": p.message, "text": str(p)}
                for p in exc.problems
            ]
            return error(400, str(exc.problems[0]), problems)
        try:
            fault = await self._faults.apply(spec)
        except ControlClosed as exc:
            return error(503, str(exc))
        if fault.state == "failed":
            return _json({"error": fault.error, "fault": self._faults.describe(fault)}, 409)
        return _json(self._faults.describe(fault), 201)

    async def get_fault(self, request: web.Request) -> web.Response:
        fault_id = _fault_id(request)
        if fault_id is None:
            return error(404, f"no fault with id {request.match_info['id']!r}")
        try:
            return _json(self._faults.describe(self._faults.get(fault_id)))
        except UnknownFault as exc:
            return error(404, str(exc))

    async def revert(self, request: web.Request) -> web.Response:
        fault_id = _fault_id(request)
        if fault_id is None:
            return error(404, f"no fault with id {request.match_info['id']!r}")
        try:
            fault = await self._faults.revert(fault_id)
        except UnknownFault as exc:
            return error(404, str(exc))
        return _json(self._faults.describe(fault))

    async def revert_all(self, _: web.Request) -> web.Response:
        reverted = await self._faults.revert_all()
        return _json({"reverted": [self._faults.describe(f) for f in reverted]})

    async def timeline(self, _: web.Request) -> web.Response:
        if not self._scenario.timeline:
            return error(409, f"scenario {self._scenario.name!r} has no timeline")
        try:
            started = await self._faults.run_timeline()
        except ControlClosed as exc:
            return error(503, str(exc))
        except FaultError as exc:
            return error(409, str(exc))
        return _json({"faults": [self._faults.describe(f) for f in started]}, 201)

    async def journal(self, _: web.Request) -> web.Response:
        journal = self._faults.journal
        return _json({"entries": journal.to_json(), "faults": journal.faults_summary()})

    async def shutdown(self, _: web.Request) -> web.Response:
        self._faults.refuse()
        self._stop("shutdown")
        return _json({"status": "stopping"}, 202)


def _fault_id(request: web.Request) -> int | None:
    raw = request.match_info["id"]
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


class ControlServer:
    """Serve a ControlApi on a loopback address; `stop()` is idempotent."""

    def __init__(self, api: ControlApi) -> None:
        self._api = api
        self._site = AppSite(
            "the control API",
            "the port is already in use; choose another, or 0 for any free one",
            shutdown_timeout=2.0,
        )

    @property
    def address(self) -> tuple[str, int] | None:
        return self._site.address

    @property
    def url(self) -> str:
        if self.address is None:
            raise RuntimeError("the control API is not running")
        return f"http://{self._site.hostport}"

    async def start(self, host: str, port: int) -> tuple[str, int]:
        require_loopback(host, "--control host")
        return await self._site.start(self._api.app(), host, port)

    async def stop(self) -> None:
        await self._site.stop()
