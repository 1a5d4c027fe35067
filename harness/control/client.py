"""A small synchronous client of the control API (standard library only: it runs in test
processes and in the CLI). Loopback only, like the server."""

from __future__ import annotations

import http.client
import json
import os
from typing import Any
from urllib.parse import urlsplit

from harness.errors import HarnessError
from harness.netguard import require_loopback

TOKEN_ENV = "HARNESS_CONTROL_TOKEN"


class ControlUnreachable(HarnessError):
    """Nothing answers at the control address (the world is not running there)."""


class ControlError(HarnessError):
    """The control API refused a request: `status`, the one-line `error`, and `problems` (each
    with line, field, message and the validate-style `text`) for a bad fault."""

    def __init__(self, status: int, message: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.status = status
        self.problems = problems


def parse_control_url(value: str) -> tuple[str, int]:
    """'127.0.0.1:8474' or 'http://127.0.0.1:8474' -> (host, port); loopback only."""
    text = value.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    if parts.scheme != "http":
        raise HarnessError(f"--control: expected http://HOST:PORT, got {value!r}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise HarnessError(f"--control: expected HOST:PORT, got {value!r}")
    require_loopback(host, "--control host")
    return host, port


class ControlClient:
    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.host, self.port = parse_control_url(url)
        self.url = (
            f"http://[{self.host}]:{self.port}"
            if ":" in self.host
            else (f"http://{self.host}:{self.port}")
        )
        self._token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        self._timeout = timeout

    # ---- the API -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def world(self) -> dict[str, Any]:
        return self._call("GET", "/world")

    def catalog(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/catalog")["faults"])

    def faults(self, *, include_reverted: bool = False) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults?all=1" if include_reverted else "/faults")["faults"])

    def get(self, fault_id: int) -> dict[str, Any]:
        return self._call("GET", f"/faults/{fault_id}")

    def apply(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Apply a fault given as a timeline entry; returns it (with its `id`)."""
        return self._call("POST", "/faults", entry)

    def revert(self, fault_id: int) -> dict[str, Any]:
        return self._call("DELETE", f"/faults/{fault_id}")

    def revert_all(self) -> list[dict[str, Any]]:
        return list(self._call("DELETE", "/faults")["reverted"])

    def run_timeline(self) -> list[dict[str, Any]]:
        return list(self._call("POST", "/timeline")["faults"])

    def journal(self) -> dict[str, Any]:
        return self._call("GET", "/journal")

    def shutdown(self) -> None:
        self._call("POST", "/shutdown")

    # ---- transport ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self._timeout)
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (TimeoutError, ConnectionError, OSError, http.client.HTTPException) as exc:
            reason = type(exc).__name__ if not str(exc) else str(exc)
            raise ControlUnreachable(f"no world answers at {self.url} ({reason})") from None
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            raise ControlUnreachable(
                f"{self.url} answered {response.status} without JSON: is it a harness world?"
            ) from None
        if response.status >= 400:
            message = str(data.get("error", f"HTTP {response.status}"))
            raise ControlError(response.status, message, list(data.get("problems") or []))
        if not isinstance(data, dict):
            raise ControlUnreachable(f"{self.url} answered unexpected JSON: is it a harness world?")
        return data
