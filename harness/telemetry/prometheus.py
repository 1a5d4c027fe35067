"""Run a private Prometheus on loopback and query it (used by `harness observe` and the tests).

`Prometheus(targets)` writes a generated config (scrape and evaluation every 1 s) into a temp dir,
starts the `prometheus` binary found on PATH with its TSDB in that dir on a free loopback port,
waits for /-/ready, and stops it (terminate, then kill) on the way out. Ready takes ~0.1 s, but
Prometheus's first scrape comes ~5 s after start: its discovery manager batches target updates
every 5 s (reference/libraries.md).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import yaml

from harness.errors import HarnessError
from harness.netguard import require_loopback
from harness.telemetry.prometheus_api import PrometheusApi, PrometheusError, Sample, Series

__all__ = ["Prometheus", "PrometheusApi", "PrometheusError", "Sample", "Series", "find_binary"]

_STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL


def find_binary(name: str = "prometheus") -> str:
    path = shutil.which(name)
    if path is None:
        raise HarnessError(
            f"{name!r} is not on PATH: install Prometheus (Debian/Ubuntu: apt-get install "
            "prometheus; or https://prometheus.io/download/), or use `docker compose up`"
        )
    return path


def scrape_config(targets: Sequence[str], interval: float = 1.0) -> str:
    """A Prometheus config scraping `targets` ("host:port") every `interval` seconds."""
    every = f"{round(interval * 1000)}ms"
    config = {
        "global": {"scrape_interval": every, "evaluation_interval": every, "scrape_timeout": every},
        "scrape_configs": [{"job_name": "harness", "static_configs": [{"targets": list(targets)}]}],
    }
    return yaml.safe_dump(config, sort_keys=False)


def _loopback_port(port: int) -> int:
    """`port` if we can bind it on 127.0.0.1 now (any free one for 0), else HarnessError: someone
    else's server there would answer our readiness probe."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise HarnessError(f"cannot run Prometheus on 127.0.0.1:{port}: {reason}") from exc
        return int(s.getsockname()[1])


def _check_targets(targets: Sequence[str], allow_non_loopback: bool) -> None:
    for target in targets:
        host, sep, port = target.rpartition(":")
        if not sep or not port.isdigit():
            raise HarnessError(f"scrape target {target!r} is not host:port")
        if not allow_non_loopback:
            require_loopback(host.strip("[]"), "scrape target")


class Prometheus:
    """A Prometheus process of our own; `async with Prometheus(["127.0.0.1:9464"]) as prom:`.

    It listens on 127.0.0.1:`port` (0: any free port; `url` tells which).
    """

    def __init__(
        self,
        targets: Sequence[str],
        *,
        port: int = 0,
        scrape_interval: float = 1.0,
        data_dir: Path | None = None,
        binary: str | None = None,
        ready_timeout: float = 15.0,
        allow_non_loopback: bool = False,
    ) -> None:
        _check_targets(targets, allow_non_loopback)
        self.targets = tuple(targets)
        self._port = port  # 0: a free loopback port
        self._interval = scrape_interval
        self._data_dir = data_dir
        self._binary = binary
        self._ready_timeout = ready_timeout
        self._proc: asyncio.subprocess.Process | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._api: PrometheusApi | None = None
        self.url = ""

    @property
    def api(self) -> PrometheusApi:
        if self._api is None:
            raise RuntimeError("Prometheus is not running")
        return self._api

    async def query(self, expr: str, at: float | None = None) -> list[Sample]:
        return await self.api.query(expr, at)

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        return await self.api.query_range(expr, start, end, step)

    async def start(self) -> str:
        """Start and wait until ready; returns the base URL (http://127.0.0.1:PORT)."""
        if self._proc is not None:
            raise RuntimeError("Prometheus is already running")
        binary = self._binary or find_binary()
        self._tmp = tempfile.TemporaryDirectory(prefix="harness-prometheus-")
        work = Path(self._tmp.name)
        config = work / "prometheus.yml"
        config.write_text(scrape_config(self.targets, self._interval))
        data = self._data_dir or work / "data"
        try:
            # A free port can be taken between our probe and Prometheus's bind: try again.
            for _ in range(3 if self._port == 0 else 1):
                port = _loopback_port(self._port)
                if await self._launch(binary, config, data, port, work / "prometheus.log"):
                    return self.url
                if "address already in use" not in self._log_tail(work):
                    break
            raise HarnessError(f"prometheus did not start: {self._log_tail(work)}")
        except BaseException:
            await self.stop()
            raise

    async def _launch(self, binary: str, config: Path, data: Path, port: int, log: Path) -> bool:
        """Start the process; True once /-/ready answers, False if it exited first."""
        args = [
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]
        try:
            with log.open("ab") as log_file:
                self._proc = await asyncio.create_subprocess_exec(
                    binary, *args, stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
                )  # fmt: skip
        except OSError as exc:
            raise HarnessError(f"cannot run {binary}: {exc.strerror or exc}") from exc
        self.url = f"http://127.0.0.1:{port}"
        self._api = PrometheusApi(self.url)
        try:
            async with asyncio.timeout(self._ready_timeout):
                while self._proc.returncode is None:
                    if await self._api.ready(timeout=0.5):
                        return True
                    await asyncio.sleep(0.05)
                await self._discard_process()
                return False
        except TimeoutError:
            raise HarnessError(
                f"prometheus was not ready after {self._ready_timeout:g} s at {self.url}"
            ) from None

    async def _discard_process(self) -> None:
        proc, self._proc = self._proc, None
        api, self._api = self._api, None
        if api is not None:
            await api.close()
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(_STOP_GRACE):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()

    def _log_tail(self, work: Path) -> str:
        try:
            lines = (work / "prometheus.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "no output"

    async def stop(self) -> None:
        """Stop the process (SIGTERM, SIGKILL after 5 s) and delete the temp dir. Idempotent."""
        try:
            await self._discard_process()
        finally:
            tmp, self._tmp = self._tmp, None
            if tmp is not None:
                tmp.cleanup()

    async def __aenter__(self) -> Prometheus:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
