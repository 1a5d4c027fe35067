"""A world for an application's own tests: started in a background thread with its own event loop
(real clock), driven through its control API over HTTP, stopped (every fault reverted) on exit."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.control.client import ControlClient
from harness.control.host import HostedWorld, hosted_world
from harness.errors import HarnessError
from harness.scenario import load_scenario
from harness.scenario.model import Scenario
from harness.testing.resolver import ZoneResolver

START_TIMEOUT = 30.0  # seconds; a world starts in well under one
STOP_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault applied through `TestWorld.fault()`; `with w.fault(...):` reverts it on exit."""

    id: int
    fault: str
    target: str
    state: str
    applied_at: float | None  # seconds since the world started
    world: TestWorld

    def revert(self) -> None:
        self.world.revert(self.id)

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.revert()


class TestWorld:
    """The running world: its names, addresses, DNS server, faults and journal."""

    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(
        self,
        scenario: Scenario,
        *,
        token: str | None = None,
        resolve: bool = True,
        cache: bool = True,
    ) -> None:
        self.scenario = scenario
        self._token = token
        self._resolve = resolve
        self._cache = cache
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hosted: HostedWorld | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._info: dict[str, Any] = {}
        self.control: ControlClient | None = None
        self.resolver: ZoneResolver | None = None
        self.final_journal: dict[str, Any] | None = None  # the journal once the world stopped

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> TestWorld:
        self._thread = threading.Thread(target=self._run, name="harness-world", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise HarnessError(f"the world did not start within {START_TIMEOUT:g}s")
        if self._failure is not None:
            self._thread.join(STOP_TIMEOUT)
            raise self._failure
        self.control = ControlClient(self._info["control"], token=self._token)
        if self._resolve:
            dns = self._info["dns"]
            self.resolver = ZoneResolver(dns["zone"], dns["host"], dns["port"], cache=self._cache)
            self.resolver.install()
        return self

    def stop(self) -> None:
        """Revert every fault, close every socket, restore getaddrinfo (safe to call twice)."""
        if self.resolver is not None:
            self.resolver.uninstall()
        loop, hosted, thread = self._loop, self._hosted, self._thread
        if loop is not None and hosted is not None and not loop.is_closed():
            loop.call_soon_threadsafe(hosted.stop, "end_of_run")
        if thread is not None:
            thread.join(STOP_TIMEOUT)
            if thread.is_alive():
                raise HarnessError(f"the world did not stop within {STOP_TIMEOUT:g}s")
        self._thread = None

    def __enter__(self) -> TestWorld:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the starting thread (or lost after start)
            self._failure = exc
        finally:
            self._ready.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        async with hosted_world(
            self.scenario, control=("127.0.0.1", 0), token=self._token
        ) as hosted:
            self._hosted = hosted
            self._info = hosted.info()
            self._ready.set()
            await hosted.stopped.wait()
        journal = hosted.faults.journal
        self.final_journal = {"entries": journal.to_json(), "faults": journal.faults_summary()}

    # ---- where things are --------------------------------------------------------------------

    @property
    def info(self) -> dict[str, Any]:
        """What `harness world` prints: dns, regions, control, metrics."""
        return self._info

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(self._info["regions"])

    @property
    def dns_address(self) -> tuple[str, int]:
        """(host, port) of the world's DNS server."""
        return self._info["dns"]["host"], int(self._info["dns"]["port"])

    @property
    def zone(self) -> str:
        return str(self._info["dns"]["zone"])

    @property
    def port(self) -> int:
        """The HTTP port every region's endpoints listen on."""
        return int(next(iter(self._info["regions"].values()))["port"])

    def endpoint_name(self, region: str) -> str:
        return str(self._region(region)["name"])

    def endpoint_url(self, region: str) -> str:
        """http://dynamodb.REGION.ZONE:PORT — resolved through the world's DNS (needs the
        resolver hook, installed by default)."""
        return f"http://{self.endpoint_name(region)}:{self.port}"

    @property
    def endpoint_urls(self) -> dict[str, str]:
        return {region: self.endpoint_url(region) for region in self.regions}

    def addresses(self, region: str) -> list[str]:
        return list(self._region(region)["addresses"])

    def address_url(self, region: str, index: int = 0) -> str:
        """http://ADDRESS:PORT of one endpoint: a pinned endpoint that needs no DNS."""
        return f"http://{self.addresses(region)[index]}:{self.port}"

    @property
    def metrics_url(self) -> str:
        return str(self._info["metrics"])

    def _region(self, region: str) -> dict[str, Any]:
        try:
            return dict(self._info["regions"][region])
        except KeyError:
            known = ", ".join(self._info.get("regions", {}))
            raise HarnessError(f"unknown region {region!r} (regions: {known})") from None

    # ---- faults ------------------------------------------------------------------------------

    def fault(
        self, fault: str, target: str | dict[str, Any] | None = None, **attributes: Any
    ) -> Fault:
        """Apply a fault now, given as a timeline entry: `w.fault("dns.nodata",
        target="us-east-1", duration="60s")`. Bad attributes raise ControlError (status 400)
        with the same one-line problems `harness validate` prints."""
        entry: dict[str, Any] = {"fault": fault, **attributes}
        if target is not None:
            entry["target"] = target
        applied = self._client().apply(entry)
        return Fault(
            int(applied["id"]),
            applied["fault"],
            applied["target"],
            applied["state"],
            applied.get("applied_at"),
            self,
        )

    def revert(self, fault: int | Fault | None = None) -> None:
        """Revert one fault (by id or handle), or every fault when none is named."""
        client = self._client()
        if fault is None:
            client.revert_all()
        else:
            client.revert(fault.id if isinstance(fault, Fault) else fault)

    def faults(self, *, include_reverted: bool = False) -> list[dict[str, Any]]:
        return self._client().faults(include_reverted=include_reverted)

    def run_timeline(self) -> list[dict[str, Any]]:
        return self._client().run_timeline()

    def journal(self) -> dict[str, Any]:
        return self._client().journal()

    def _client(self) -> ControlClient:
        if self.control is None:
            raise HarnessError("the world is not running")
        return self.control


def world(
    scenario: str | Path | Scenario,
    *,
    token: str | None = None,
    resolve: bool = True,
    cache: bool = True,
) -> TestWorld:
    """`with harness.testing.world("scenario.yaml") as w:` — a running world for the block.

    resolve: route the zone's names (dynamodb.REGION.ZONE) in this process through the world's
    DNS server (socket.getaddrinfo hook, restored on exit). cache: the hook caches answers for
    their TTL and negative answers for the negative TTL, like a host's caching stub resolver.
    """
    loaded = scenario if isinstance(scenario, Scenario) else _load(Path(scenario))
    return TestWorld(loaded, token=token, resolve=resolve, cache=cache)


def _load(path: Path) -> Scenario:
    from harness.client import catalog

    return load_scenario(path, known_strategies=catalog.names())
