"""Human-friendly durations and rates: `250ms`, `90s`, `2m`, `1h`, `500/s`, `30/m`."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_RATE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*/\s*(s|m|h)\s*$")
_RATE_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object) -> float:
    """Seconds from `250ms`, `1.5s`, `2m`, `1h`, `3d`, or a bare number of seconds. Never < 0."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 250ms, 90s or 2m, got a boolean")
    if isinstance(value, int | float):
        seconds = _to_float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{_shown(value)} is not a duration (use e.g. 250ms, 90s, 2m, 1h)")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]
    else:
        raise ValueError(
            f"expected a duration such as 250ms, 90s or 2m, got {type(value).__name__}"
        )
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"duration must be a finite number ≥ 0, got {_shown(value)}")
    return seconds


def parse_rate(value: object) -> float:
    """Events per second from `500/s`, `30/m`, `3600/h`, or a bare number per second."""
    if isinstance(value, bool):
        raise ValueError("expected a rate such as 500/s, got a boolean")
    if isinstance(value, int | float):
        per_second = _to_float(value)
    elif isinstance(value, str):
        match = _RATE.match(value)
        if not match:
            raise ValueError(f"{_shown(value)} is not a rate (use e.g. 500/s, 30/m)")
        per_second = float(match.group(1)) / _RATE_UNITS[match.group(2)]
    else:
        raise ValueError(f"expected a rate such as 500/s, got {type(value).__name__}")
    if per_second < 0 or per_second != per_second or per_second == float("inf"):
        raise ValueError(f"rate must be a finite number ≥ 0, got {_shown(value)}")
    return per_second


def _to_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int beyond float range, e.g. 10**400
        raise ValueError(f"{_shown(value)} is too large") from None


def _shown(value: object) -> str:
    """repr() cut short: error messages echo user input, which may be enormous."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def format_duration(seconds: float) -> str:
    """Inverse of parse_duration for display: 0.25 -> '250ms', 90 -> '1m30s'."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:g}s" if rest else f"{int(minutes)}m"
