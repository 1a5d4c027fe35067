"""harness.testing: a world in a background thread for an application's own tests, and the
getaddrinfo hook that makes this process resolve the world's zone through its DNS server."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

import harness.testing
from harness.control.client import ControlError
from harness.testing.resolver import EAI_NODATA

pytest_plugins = ["pytester"]

SCENARIO = """
name: app-test
duration: 60s
dns: {ttl: 0s, negative_ttl: 1s}
regions:
  - {name: us-east-1, endpoints: 2}
  - {name: us-west-2, endpoints: 1}
clients: {home_region: us-east-1}
strategies: [naive]
"""
NAME = "dynamodb.us-east-1.aws.test"


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "app-test.yaml"
    path.write_text(SCENARIO)
    return path


def addresses(name: str, port: int = 80) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)})


def gai_errno(name: str) -> int:
    with pytest.raises(socket.gaierror) as caught:
        socket.getaddrinfo(name, 80)
    return int(caught.value.errno or 0)


def test_zone_names_resolve_through_the_world_and_others_do_not(scenario_file: Path) -> None:
    original = socket.getaddrinfo
    with harness.testing.world(scenario_file) as w:
        assert socket.getaddrinfo is not original
        assert addresses(NAME) == ["127.0.10.1", "127.0.10.2"]
        assert addresses(NAME.upper() + ".") == ["127.0.10.1", "127.0.10.2"]
        assert w.addresses("us-west-2") == addresses("dynamodb.us-west-2.aws.test")
        assert addresses("127.0.0.1") == ["127.0.0.1"]  # not in the zone: the OS as before
        assert gai_errno("nothing.aws.test") == socket.EAI_NONAME  # NXDOMAIN from the world
        assert w.resolver is not None and w.resolver.queries == 4
        assert w.endpoint_url("us-east-1") == f"http://{NAME}:{w.port}"
        assert w.address_url("us-west-2") == f"http://127.0.11.1:{w.port}"
        assert w.dns_address[0] == "127.0.0.1" and w.zone == "aws.test"
    assert socket.getaddrinfo is original


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("dns.nodata", EAI_NODATA),
        ("dns.nxdomain", socket.EAI_NONAME),
        ("dns.servfail", socket.EAI_AGAIN),
    ],
)
def test_dns_faults_become_the_errors_the_os_resolver_raises(
    scenario_file: Path, fault: str, code: int
) -> None:
    with harness.testing.world(scenario_file, cache=False) as w, w.fault(fault, target="us-east-1"):
        assert gai_errno(NAME) == code
        assert addresses("dynamodb.us-west-2.aws.test") == ["127.0.11.1"]


def test_asyncio_resolution_goes_through_the_hook_too(scenario_file: Path) -> None:
    async def resolve() -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(NAME, 443)
        return sorted({info[4][0] for info in infos})

    with harness.testing.world(scenario_file):
        assert asyncio.run(resolve()) == ["127.0.10.1", "127.0.10.2"]


def test_negative_answers_are_cached_for_the_negative_ttl(scenario_file: Path) -> None:
    with harness.testing.world(scenario_file) as w:
        fault = w.fault("dns.nodata", target="us-east-1")
        cached_at = time.monotonic()  # just before the hook caches "no address" for 1 s
        assert gai_errno(NAME) == EAI_NODATA
        fault.revert()
        if time.monotonic() - cached_at < 0.9:  # (a very busy machine may take longer)
            assert gai_errno(NAME) == EAI_NODATA  # the host's cache still says "no address"
        while True:  # bounded by the negative TTL (1 s) plus a margin
            try:
                found = addresses(NAME)
                break
            except socket.gaierror:
                assert time.monotonic() - cached_at < 3.0, "not recovered in the negative TTL"
                time.sleep(0.02)
        recovered = time.monotonic() - cached_at
    assert found == ["127.0.10.1", "127.0.10.2"]
    assert 1.0 <= recovered < 1.6


def test_fault_handles_faults_list_and_journal(scenario_file: Path) -> None:
    with harness.testing.world(scenario_file) as w:
        with w.fault("endpoint.latency", target="us-west-2", delay="50ms") as slow:
            assert [f["id"] for f in w.faults()] == [slow.id]
            assert slow.state == "applied" and slow.applied_at is not None
        assert w.faults() == []
        w.fault("dns.nodata", target="us-east-1")
        w.fault("dns.nodata", target="us-west-2")
        w.revert()
        assert w.faults() == []
        with pytest.raises(ControlError) as bad:
            w.fault("dns.nodata", target="eu-west-9")
        assert bad.value.status == 400
        assert bad.value.problems[0]["text"].startswith("body:1: target: unknown region")
        left = w.fault("dns.servfail", target="us-east-1")
    assert w.final_journal is not None
    last = w.final_journal["entries"][-1]
    assert (last["index"], last["action"], last["reason"]) == (left.id, "revert", "end_of_run")


def test_the_pytest_plugin_provides_harness_world(
    pytester: pytest.Pytester, scenario_file: Path
) -> None:
    pytester.makeini(
        f"[pytest]\nharness_scenario = {scenario_file.name}\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    (pytester.path / scenario_file.name).write_text(SCENARIO)
    pytester.makepyfile(
        """
        import socket

        def test_world(harness_world):
            assert harness_world.regions == ("us-east-1", "us-west-2")
            harness_world.fault("dns.nxdomain", target="us-east-1")
            try:
                socket.getaddrinfo("dynamodb.us-east-1.aws.test", 80)
            except socket.gaierror as exc:
                assert exc.errno == socket.EAI_NONAME
            else:
                raise AssertionError("no error")

        def test_no_fault_leaks_into_the_next_test(harness_world):
            assert harness_world.faults() == []
            socket.getaddrinfo("dynamodb.us-east-1.aws.test", 80)
        """
    )
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
