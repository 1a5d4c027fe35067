"""Differential tests against botocore as shipped until 2025 (1.42.80): `aws-standard-2025` and
`aws-legacy-dynamodb` vs the real thing, same world, same faults.

botocore 1.42.80 is installed by the test into a cached throwaway target directory (PyPI, once)
and runs in a child process against a real world on loopback; its sleeps between attempts are
recorded and skipped (tests/fidelity_botocore_driver.py). The harness's copy runs against its
own world under the virtual clock, so its waits of seconds cost nothing either. Compared: attempts
per call (identical under deterministic faults, including the call at which the quota runs dry)
and the waits (full jitter: each wait ÷ its ceiling is uniform on [0, 1), KS at alpha = 0.001;
legacy DynamoDB: exactly 50 ms doubling). Figures: docs/fidelity.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fidelity_support import (
    harness_attempts,
    normalized,
    quota_schedule,
    record_figures,
    same_distribution,
    scenario,
    summary,
)

from harness.client import catalog
from harness.events import EventBus
from harness.scenario.strategy_spec import TimeoutBlock
from harness.world.control import EndpointOverride
from harness.world.world import World

VERSION = "1.42.80"
HERE = Path(__file__).parent
READ_TIMEOUT = 2.0  # long enough that a loaded machine never turns an answer into a timeout
BLACKHOLE_TIMEOUT = 0.2  # the blackhole case: every attempt times out, so keep each short

# case -> (fault, calls, retry mode)
CASES: dict[str, tuple[dict[str, Any], int, str]] = {
    "500": ({"mode": "errors", "status": 500}, 53, "standard"),
    "throttling": ({"mode": "errors", "status": "throttling"}, 53, "standard"),
    "500-half": ({"mode": "errors", "status": 500, "rate": 0.5}, 80, "standard"),
    "down": ({"mode": "down"}, 53, "standard"),
    "blackhole": ({"mode": "blackhole"}, 3, "standard"),
    "nxdomain": ({}, 53, "standard"),
    "legacy-500": ({"mode": "errors", "status": 500}, 4, "legacy"),
}


REAL: dict[str, dict[str, Any]] = {}  # the module fixture's results, for the figures


def _read_timeout(case: str) -> float:
    return BLACKHOLE_TIMEOUT if case == "blackhole" else READ_TIMEOUT


def _target() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    target = cache / "dns-outage-harness" / f"botocore-{VERSION}"
    if (target / "botocore" / "__init__.py").exists():
        return target
    partial = target.with_name(target.name + ".partial")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
               str(partial), f"botocore=={VERSION}"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        pytest.skip(f"botocore {VERSION} could not be installed from PyPI: {done.stderr[-300:]}")
    partial.rename(target)
    return target


async def _botocore_case(target: Path, case: str) -> dict[str, Any]:
    fault, calls, mode = CASES[case]
    async with World(scenario(), bus=EventBus()) as world:
        name = world.dns_name("us-east-1")
        if fault:
            world.region("us-east-1").add_override(EndpointOverride(**fault))
        else:
            world.zone.delete(name)
        args = {
            "url": f"http://{name}:{world.http_port}",
            "dns": [world.dns.host, world.dns.port],
            "zone": world.scenario.dns.zone,
            "calls": calls,
            "config": {"retries": {"mode": mode}, "connect_timeout": 1,
                       "read_timeout": _read_timeout(case)},
        }  # fmt: skip
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(HERE)])}
        child = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "fidelity_botocore_driver.py"), json.dumps(args),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    assert child.returncode == 0, err.decode()[-2000:]
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.fixture(scope="module")
def real() -> dict[str, dict[str, Any]]:
    """What botocore 1.42.80 did, per case (real time: the world must answer the child)."""
    target = _target()

    async def run_all() -> dict[str, dict[str, Any]]:
        return {case: await _botocore_case(target, case) for case in CASES}

    results = asyncio.run(run_all())
    assert {r["version"] for r in results.values()} == {VERSION}
    REAL.update(results)
    return results


async def _ours(case: str, strategy: str) -> tuple[list[int], list[tuple[int, bool, float]]]:
    fault, calls, _ = CASES[case]
    spec = catalog.get(strategy)
    blocks = tuple(
        b.model_copy(update={"attempt": _read_timeout(case)}) if isinstance(b, TimeoutBlock) else b
        for b in spec.blocks
    )
    spec = spec.model_copy(update={"blocks": blocks})
    async with World(scenario(), bus=EventBus()) as world:
        if fault:
            world.region("us-east-1").add_override(EndpointOverride(**fault))
        else:
            world.zone.delete(world.dns_name("us-east-1"))
        result = await harness_attempts(world, spec, calls)
    record_figures(
        f"1.42.80 / {strategy}: {case}",
        botocore=summary(REAL[case]["attempts"], [w for ws in REAL[case]["waits"] for w in ws]),
        harness=summary(result.attempts, [d for _, _, d in result.delays]),
        botocore_attempts=REAL[case]["attempts"],
        harness_attempts=result.attempts,
    )
    return result.attempts, result.delays


def _ceiling_2025(n: int, throttled: bool) -> float:
    return min(2.0 ** (n - 1), 20.0)


def _their_delays(result: dict[str, Any]) -> list[tuple[int, bool, float]]:
    return [(n + 1, False, w) for waits in result["waits"] for n, w in enumerate(waits)]


@pytest.mark.looptime
@pytest.mark.parametrize("case", ["500", "throttling", "down", "nxdomain"])
async def test_standard_2025_attempts_and_quota_exhaustion(
    real: dict[str, dict[str, Any]], case: str
) -> None:
    calls = CASES[case][1]
    expected = quota_schedule(calls, 3, 5)  # 1.42.80: 3 attempts, 5 a retry, 500 in the bucket
    assert expected[49] == 3 and expected[50] == 1  # dry after 50 calls × 2 retries × 5
    assert real[case]["attempts"] == expected
    ours, delays = await _ours(case, "aws-standard-2025")
    assert ours == expected
    theirs_u = normalized(_their_delays(real[case]), _ceiling_2025)
    ours_u = normalized(delays, _ceiling_2025)
    assert all(0 <= u < 1 for u in theirs_u + ours_u)
    assert same_distribution(theirs_u, ours_u)


@pytest.mark.looptime
async def test_standard_2025_half_failing(real: dict[str, dict[str, Any]]) -> None:
    calls = CASES["500-half"][1]
    ours, delays = await _ours("500-half", "aws-standard-2025")
    for attempts in (real["500-half"]["attempts"], ours):
        assert set(attempts) <= {1, 2, 3}
        assert abs(sum(attempts) / calls - 1.75) < 0.4  # P(1..3) = .5, .25, .25
    theirs_u = normalized(_their_delays(real["500-half"]), _ceiling_2025)
    ours_u = normalized(delays, _ceiling_2025)
    assert same_distribution(theirs_u, ours_u)


@pytest.mark.looptime
async def test_standard_2025_read_timeouts(real: dict[str, dict[str, Any]]) -> None:
    assert real["blackhole"]["attempts"] == [3, 3, 3]  # a timeout costs 10: 470 left
    ours, _ = await _ours("blackhole", "aws-standard-2025")
    assert ours == [3, 3, 3]


@pytest.mark.looptime
async def test_legacy_dynamodb_ten_attempts_fifty_ms_doubling(
    real: dict[str, dict[str, Any]],
) -> None:
    schedule = [0.05 * 2**n for n in range(9)]
    assert real["legacy-500"]["attempts"] == [10] * 4
    assert all(waits == pytest.approx(schedule) for waits in real["legacy-500"]["waits"])
    ours, delays = await _ours("legacy-500", "aws-legacy-dynamodb")
    assert ours == [10] * 4
    assert [d for _, _, d in delays] == pytest.approx(schedule * 4)
