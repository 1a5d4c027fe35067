import asyncio
import itertools
import statistics
from collections import Counter

import pytest

from harness.client.api import Request
from harness.client.workload import KeyChooser, OpenLoopGenerator, arrivals
from harness.clock import Clock
from harness.scenario.model import ClientsSpec, KeysSpec, OpsSpec, SaturationSpec


def test_constant_arrivals_are_evenly_spaced() -> None:
    spec = ClientsSpec(rate=10, arrival="constant")
    times = [a.intended for a in arrivals(spec, 2.0, seed=1)]
    assert len(times) == 19  # 0.1 .. 1.9
    assert all(b - a == pytest.approx(0.1) for a, b in itertools.pairwise(times))


def test_poisson_arrivals_have_the_right_rate_and_repeat_exactly() -> None:
    spec = ClientsSpec(rate=200, arrival="poisson")
    first = list(arrivals(spec, 50.0, seed=7))
    again = list(arrivals(spec, 50.0, seed=7))
    other = list(arrivals(spec, 50.0, seed=8))
    assert first == again
    assert first != other
    assert len(first) / 50.0 == pytest.approx(200, rel=0.05)
    gaps = [b.intended - a.intended for a, b in itertools.pairwise(first)]
    # exponential gaps: standard deviation equals the mean
    assert statistics.pstdev(gaps) == pytest.approx(statistics.mean(gaps), rel=0.1)


def test_op_mix_follows_weights() -> None:
    spec = ClientsSpec(rate=1000, ops=OpsSpec(get=0.5, put=0.25, update=0.25, delete=0))
    ops = Counter(a.op for a in arrivals(spec, 20.0, seed=3))
    total = sum(ops.values())
    assert ops["get"] / total == pytest.approx(0.5, abs=0.02)
    assert ops["put"] / total == pytest.approx(0.25, abs=0.02)
    assert "delete" not in ops


def test_zipf_keys_are_skewed_and_uniform_keys_are_not() -> None:
    import random

    zipf = KeyChooser(1000, "zipf", 1.1, random.Random(1))
    uniform = KeyChooser(1000, "uniform", 1.1, random.Random(1))
    z = Counter(zipf.next() for _ in range(20000))
    u = Counter(uniform.next() for _ in range(20000))
    assert z["k0"] > 20000 * 0.1  # the hottest key takes >10 % under zipf(1.1, 1000)
    assert max(u.values()) < 20000 * 0.005


@pytest.mark.looptime
async def test_generator_sends_on_schedule_and_measures_from_intended_start() -> None:
    loop = asyncio.get_running_loop()
    clock = Clock(loop, virtual=True)
    starts: list[tuple[float, float]] = []

    async def execute(request: Request) -> None:
        starts.append((request.intended_start, loop.time()))
        await asyncio.sleep(5.0)  # slow requests must not delay later arrivals (open loop)

    spec = ClientsSpec(rate=10, arrival="constant")
    gen = OpenLoopGenerator(
        spec=spec, duration=1.0, seed=1, clock=clock, execute=execute, on_shed=lambda r: None
    )
    origin = loop.time()
    await gen.run(origin)
    assert len(starts) == 9
    for intended, actual in starts:
        assert actual == pytest.approx(intended, abs=1e-6)
    assert gen.peak_in_flight == 9
    assert gen.saturation_reasons() == []
    assert loop.time() - origin == pytest.approx(0.9 + 5.0)


@pytest.mark.looptime
async def test_generator_sheds_beyond_in_flight_limit_and_flags_saturation() -> None:
    loop = asyncio.get_running_loop()
    clock = Clock(loop, virtual=True)
    shed: list[Request] = []

    async def execute(request: Request) -> None:
        await asyncio.sleep(10.0)

    spec = ClientsSpec(
        rate=100,
        arrival="constant",
        saturation=SaturationSpec(max_in_flight=5),
        keys=KeysSpec(count=10),
    )
    gen = OpenLoopGenerator(
        spec=spec, duration=1.0, seed=1, clock=clock, execute=execute, on_shed=shed.append
    )
    await gen.run(loop.time())
    assert gen.sent == 5
    assert len(shed) == 99 - 5
    assert any("in-flight limit" in r for r in gen.saturation_reasons())


@pytest.mark.looptime
async def test_generator_reraises_a_bug_in_execute() -> None:
    loop = asyncio.get_running_loop()

    async def execute(request: Request) -> None:
        raise RuntimeError("bug")

    gen = OpenLoopGenerator(
        spec=ClientsSpec(rate=10, arrival="constant"),
        duration=0.5,
        seed=1,
        clock=Clock(loop, virtual=True),
        execute=execute,
        on_shed=lambda r: None,
    )
    with pytest.raises(RuntimeError, match="bug"):
        await gen.run(loop.time())
