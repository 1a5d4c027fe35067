"""Reading one run directory (written by `harness run`) into typed, read-only views.

Every defect — a missing file, broken JSON, a truncated gzip stream, a field of the wrong type —
raises `RunFileError`: one line naming the file (and line or field), never a traceback.
Times are seconds from the start of the run on the loop clock.
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

log = logging.getLogger(__name__)

SUMMARY = "summary.json"
TIMESERIES = "timeseries.json"
REQUESTS = "requests.jsonl.gz"
JOURNAL = "journal.json"


def run_summaries(directory: Path) -> Iterator[dict[str, Any]]:
    """The summaries of a run directory, or of each run of a comparison directory, in order;
    missing or unreadable ones skipped (for optional report sections, which never fail a report)."""
    for path in [directory / SUMMARY, *sorted(directory.glob(f"runs/*/{SUMMARY}"))]:
        if not path.exists():
            continue
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(summary, dict):
            yield summary


class RunFileError(HarnessError):
    """A file of a run or comparison directory is missing or unreadable."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")

    def __reduce__(self) -> tuple[type[RunFileError], tuple[Path, str]]:
        return type(self), (self.path, self.message)  # raised in a helper process, re-raised here


@dataclass(frozen=True, slots=True)
class FaultRecord:
    fault: str
    target: str
    scheduled_start: float
    applied_at: float | None  # None: never applied (e.g. the run was aborted first)
    reverted_at: float | None  # None: still active when the run ended


@dataclass(frozen=True, slots=True)
class FleetSummary:
    """summary.json's `fleet` block of one strategy (harness.telemetry.fleet)."""

    hosts: int
    hosts_with_any_failure: int
    hosts_failing_in_fault: int
    availability_during_fault_min: float | None  # None: no request in any fault window
    availability_during_fault_median: float | None
    availability_during_fault_max: float | None
    onset_spread_s: float | None  # None: no host failed inside a fault window
    recovery_spread_s: float | None


@dataclass(frozen=True, slots=True)
class StrategySummary:
    name: str
    description: str
    stale_reads: int
    lost_writes: int
    cross_region_share: float
    send_lag_p99_ms: float | None
    saturated: bool
    outcomes: Mapping[str, int]
    regions_served: Mapping[str, int]
    deadline: str = ""  # the caller's deadline in force: "10 s", "none"; "" unknown (old run)
    fleet: FleetSummary | None = None  # None: a run from before fleets


@dataclass(frozen=True, slots=True)
class RunSummary:
    path: Path
    scenario: str
    seed: int
    clock: str
    duration: float
    elapsed: float
    wall_seconds: float
    saturated: bool
    saturation_reasons: tuple[str, ...]
    aborted: bool
    abort_reason: str | None
    home_region: str
    capacity_rps: Mapping[str, float | None]  # None: unknown (the runner could not derive it)
    faults: tuple[FaultRecord, ...]
    strategies: Mapping[str, StrategySummary]  # in the run's order

    @property
    def horizon(self) -> float:
        """End of the measured period: requests are intended in [0, duration), or until an abort.
        `elapsed` also counts the drain of requests in flight at the end."""
        return min(self.duration, self.elapsed) if self.duration > 0 else self.elapsed


@dataclass(frozen=True, slots=True)
class StrategySeries:
    requests: tuple[int, ...]
    ok: tuple[int, ...]
    attempts: tuple[int, ...]
    latency_p99_ms: tuple[float | None, ...]  # every request, failed ones included
    latency_ok_p99_ms: tuple[float | None, ...] | None  # successes only; None: an older run
    region_attempts: Mapping[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Timeseries:
    bucket: float  # seconds per bucket; bucket i covers [i*bucket, (i+1)*bucket) by intended start
    strategies: Mapping[str, StrategySeries]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """The fields of one request line that the comparison needs."""

    strategy: str
    intended: float
    end: float
    ok: bool
    attempts: int


def read_json(path: Path) -> Any:
    """Parse a JSON file, turning every failure into one line naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFileError(path, "missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFileError(path, f"cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunFileError(path, f"not valid JSON (line {exc.lineno} column {exc.colno})") from None


class _Fields:
    """Typed access to a JSON object; a wrong or missing field names its path in the file."""

    def __init__(self, path: Path, obj: Any, where: str = "") -> None:
        if not isinstance(obj, dict):
            raise RunFileError(path, f"{where or 'top level'}: expected an object")
        self.path, self.obj, self.where = path, obj, where

    def _fail(self, key: str, expected: str) -> RunFileError:
        field = f"{self.where}.{key}" if self.where else key
        if key not in self.obj:
            return RunFileError(path=self.path, message=f"{field}: missing")
        return RunFileError(self.path, f"{field}: expected {expected}, got {self.obj[key]!r:.60}")

    def num(self, key: str) -> float:
        value = self.obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number")
        return float(value)

    def opt_num(self, key: str) -> float | None:
        return None if self.obj.get(key) is None else self.num(key)

    def int_(self, key: str) -> int:
        value = self.obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer")
        return value

    def str_(self, key: str) -> str:
        value = self.obj.get(key)
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def opt_str(self, key: str) -> str | None:
        return None if self.obj.get(key) is None else self.str_(key)

    def bool_(self, key: str, default: bool = False) -> bool:
        value = self.obj.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def list_(self, key: str) -> list[Any]:
        value = self.obj.get(key)
        if not isinstance(value, list):
            raise self._fail(key, "a list")
        return value

    def sub(self, key: str) -> _Fields:
        if not isinstance(self.obj.get(key), dict):
            raise self._fail(key, "an object")
        return _Fields(self.path, self.obj[key], f"{self.where}.{key}" if self.where else key)

    def counts(self, key: str) -> dict[str, int]:
        sub = self.sub(key) if key in self.obj else _Fields(self.path, {}, key)
        return {name: sub.int_(name) for name in sub.obj}

    def ints(self, key: str) -> tuple[int, ...]:
        items = self.list_(key)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in items):
            raise self._fail(key, "a list of integers")
        return tuple(items)

    def opt_nums(self, key: str) -> tuple[float | None, ...]:
        items = self.list_(key)
        if any(v is not None and not _is_number(v) for v in items):
            raise self._fail(key, "a list of numbers or nulls")
        return tuple(None if v is None else float(v) for v in items)


def _deadline_text(value: object) -> str:
    """summary.json's per-strategy `deadline` (seconds, or "none") as scoreboards show it."""
    if value == "none":
        return "none"
    if _is_number(value):
        return f"{float(value):g} s"  # type: ignore[arg-type]
    return ""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_summary(run_dir: Path) -> RunSummary:
    path = run_dir / SUMMARY
    top = _Fields(path, read_json(path))
    regions = top.sub("regions")
    capacity = {name: regions.sub(name).opt_num("capacity_rps") for name in regions.obj}
    faults = []
    for index, raw in enumerate(top.list_("faults")):
        f = _Fields(path, raw, f"faults[{index}]")
        faults.append(
            FaultRecord(
                f.str_("fault"), f.str_("target"), f.num("scheduled_start"),
                f.opt_num("applied_at"), f.opt_num("reverted_at"),
            )
        )  # fmt: skip
    strategies = {}
    all_strategies = top.sub("strategies")
    for name in all_strategies.obj:
        s = all_strategies.sub(name)
        lag = s.sub("send_lag_ms").opt_num("p99") if "send_lag_ms" in s.obj else None
        strategies[name] = StrategySummary(
            name=name,
            description=s.opt_str("description") or "",
            # null in a shared world, where counters cannot tell strategies apart
            stale_reads=s.int_("stale_reads") if s.obj.get("stale_reads") is not None else 0,
            lost_writes=s.int_("lost_writes") if s.obj.get("lost_writes") is not None else 0,
            cross_region_share=s.num("cross_region_share"),
            send_lag_p99_ms=lag,
            saturated=s.bool_("saturated"),
            outcomes=s.counts("outcomes"),
            regions_served=s.counts("regions_served"),
            deadline=_deadline_text(s.obj.get("deadline")),
            fleet=_fleet(s.sub("fleet")) if "fleet" in s.obj else None,
        )
    if not strategies:
        raise RunFileError(path, "strategies: empty (the run measured nothing)")
    elapsed = top.num("elapsed")
    if elapsed <= 0:
        raise RunFileError(path, f"elapsed: must be > 0, got {elapsed:g}")
    return RunSummary(
        path=run_dir,
        scenario=top.str_("scenario"),
        seed=top.int_("seed"),
        clock=top.str_("clock"),
        duration=top.num("duration"),
        elapsed=elapsed,
        wall_seconds=top.num("wall_seconds"),
        saturated=top.bool_("saturated"),
        saturation_reasons=tuple(str(r) for r in top.obj.get("saturation_reasons") or ()),
        aborted=top.bool_("aborted"),
        abort_reason=top.opt_str("abort_reason"),
        home_region=_homes(top),
        capacity_rps=capacity,
        faults=tuple(faults),
        strategies=strategies,
    )


def _fleet(f: _Fields) -> FleetSummary:
    during = f.sub("availability_during_fault") if f.obj.get("availability_during_fault") else None
    return FleetSummary(
        hosts=f.int_("hosts"),
        hosts_with_any_failure=f.int_("hosts_with_any_failure"),
        hosts_failing_in_fault=f.int_("hosts_failing_in_fault"),
        availability_during_fault_min=during.num("min") if during else None,
        availability_during_fault_median=during.num("median") if during else None,
        availability_during_fault_max=during.num("max") if during else None,
        onset_spread_s=f.opt_num("onset_spread_s"),
        recovery_spread_s=f.opt_num("recovery_spread_s"),
    )


def load_timeseries(run_dir: Path) -> Timeseries:
    path = run_dir / TIMESERIES
    top = _Fields(path, read_json(path))
    bucket = top.num("bucket")
    if bucket <= 0:
        raise RunFileError(path, f"bucket: must be > 0, got {bucket:g}")
    series = {}
    all_strategies = top.sub("strategies")
    for name in all_strategies.obj:
        s = all_strategies.sub(name)
        regions = s.sub("region_attempts")
        series[name] = StrategySeries(
            requests=s.ints("requests"),
            ok=s.ints("ok"),
            attempts=s.ints("attempts"),
            latency_p99_ms=s.opt_nums("latency_p99_ms"),
            latency_ok_p99_ms=s.opt_nums("latency_ok_p99_ms")
            if "latency_ok_p99_ms" in s.obj
            else None,
            region_attempts={r: regions.ints(r) for r in regions.obj},
        )
    return Timeseries(bucket=bucket, strategies=series)


def iter_requests(run_dir: Path) -> Iterator[RequestRecord]:
    """Stream the request records (the file can hold millions of lines).

    A run killed mid-write leaves a last gzip member cut short: every complete line before the
    cut is kept, and a warning says how much was dropped (the run's last moments)."""
    path = run_dir / REQUESTS
    line_no = 0
    try:
        for line_no, line in enumerate(_member_lines(path), start=1):
            if line.strip():
                yield _request(path, line_no, line)
    except FileNotFoundError:
        raise RunFileError(path, "missing") from None
    except (OSError, zlib.error, UnicodeDecodeError) as exc:
        where = f"after line {line_no}: " if line_no else ""
        raise RunFileError(path, f"{where}corrupt gzip ({exc})") from None


_CHUNK = 1 << 16


def _member_lines(path: Path) -> Iterator[str]:
    """Lines of a file of concatenated gzip members, tolerating a truncated last member."""
    with path.open("rb") as raw:
        inflate = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer
        pos = member_start = 0
        in_member = False
        partial = b""
        while chunk := raw.read(_CHUNK):
            pos += len(chunk)
            data = chunk
            while data:
                in_member = True
                partial += inflate.decompress(data)
                *lines, partial = partial.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8")
                if not inflate.eof:
                    break
                data = inflate.unused_data
                member_start = pos - len(data)
                inflate = zlib.decompressobj(wbits=31)
                in_member = False
        if in_member:
            log.warning(
                "%s: truncated (was the run killed?): the last gzip member (%d bytes from "
                "offset %d) has no end; kept every complete line, dropped %d bytes of a "
                "partial one",
                path,
                pos - member_start,
                member_start,
                len(partial),
            )
        elif partial.strip():
            yield partial.decode("utf-8")  # a last line without its newline


def _request(path: Path, line_no: int, line: str) -> RequestRecord:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        raise RunFileError(path, f"line {line_no}: not valid JSON") from None
    try:  # fast path: millions of lines; the checked path below only names what is wrong
        strategy, outcome, attempts = obj["strategy"], obj["outcome"], obj["attempts"]
        intended, end = obj["intended"], obj["end"]
        if (
            type(strategy) is str
            and type(outcome) is str
            and type(attempts) is int
            and type(intended) in _NUMBER
            and type(end) in _NUMBER
        ):
            return RequestRecord(strategy, float(intended), float(end), outcome == "ok", attempts)
    except (KeyError, TypeError):
        pass
    f = _Fields(path, obj, f"line {line_no}")
    return RequestRecord(
        f.str_("strategy"), f.num("intended"), f.num("end"), f.str_("outcome") == "ok",
        f.int_("attempts"),
    )  # fmt: skip


_NUMBER = (int, float)
_REPEAT = re.compile(r"^(\d+)")


def find_run_dirs(directory: Path) -> list[Path]:
    """The runs of a comparison directory (DIR/runs/<repeat>-seed<seed>/, in repeat order), or
    the directory itself when it is a single run directory."""
    if not directory.is_dir():
        raise RunFileError(directory, "not a directory")
    runs_dir = directory / "runs"
    if runs_dir.is_dir():
        runs = [p for p in runs_dir.iterdir() if p.is_dir()]
        if not runs:
            raise RunFileError(runs_dir, "holds no run directories")

        def order(p: Path) -> tuple[int, str]:
            match = _REPEAT.match(p.name)
            return (int(match.group(1)) if match else 1 << 30, p.name)

        return sorted(runs, key=order)
    if (directory / SUMMARY).exists():
        return [directory]
    raise RunFileError(directory, f"no runs/ directory and no {SUMMARY}: not a run or comparison")


def _homes(top: _Fields) -> str:
    """The clients' home region, or their home regions ("us-west-2, eu-west-1") when they live
    in several (summary.json's `populations`)."""
    populations = top.obj.get("populations")
    homes = [str(p.get("home")) for p in populations or () if isinstance(p, dict)]
    return ", ".join(homes) if len(homes) > 1 else top.str_("home_region")
