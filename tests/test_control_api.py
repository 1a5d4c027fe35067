"""The control API of a running world, over real HTTP on loopback: faults applied and reverted
through it change what a real DNS query sees; bad bodies get validate's one-line problems."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import dns.asyncquery
import dns.message
import dns.rcode
import pytest
from prometheus_client import CollectorRegistry

from harness.control.api import ControlApi, ControlServer
from harness.control.host import HostedWorld, hosted_world
from harness.errors import AddressError
from harness.faults.registry import FAULTS
from harness.scenario import parse_scenario
from harness.scenario.model import Scenario

SCENARIO = """
name: control
seed: 3
duration: 30s
dns: {ttl: 1s, negative_ttl: 2s}
regions:
  - {name: us-east-1, endpoints: 2, azs: [use1-az1, use1-az2]}
  - {name: us-west-2, endpoints: 1}
clients: {home_region: us-east-1}
strategies: [naive]
timeline:
  - {fault: dns.nxdomain, target: us-west-2, at: 2s, duration: 3s}
  - {fault: endpoint.latency, target: us-east-1, at: 1s}
"""
NAME = "dynamodb.us-east-1.aws.test"


def scenario() -> Scenario:
    return parse_scenario(SCENARIO, "control.yaml")


@asynccontextmanager
async def running(
    token: str | None = None,
) -> AsyncIterator[tuple[HostedWorld, aiohttp.ClientSession, str]]:
    async with (
        hosted_world(scenario(), control=("127.0.0.1", 0), token=token) as hosted,
        aiohttp.ClientSession() as http,
    ):
        assert hosted.control is not None
        yield hosted, http, hosted.control.url


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None, **kw: Any
) -> tuple[int, Any]:
    data = body if isinstance(body, str | bytes) or body is None else None
    json_body = None if data is not None or body is None else body
    async with http.request(method, url, data=data, json=json_body, **kw) as response:
        return response.status, await response.json(content_type=None)


async def rcode_and_addresses(hosted: HostedWorld, name: str = NAME) -> tuple[str, list[str]]:
    query = dns.message.make_query(name, "A")
    answer = await dns.asyncquery.udp(query, "127.0.0.1", port=hosted.world.dns.port, timeout=2)
    addresses = [r.address for rrset in answer.answer for r in rrset]
    return dns.rcode.to_text(answer.rcode()), addresses


async def test_catalog_lists_every_fault_with_its_attributes() -> None:
    async with running() as (_, http, url):
        status, body = await call(http, "GET", f"{url}/catalog")
    assert status == 200
    rows = {row["fault"]: row for row in body["faults"]}
    assert list(rows) == list(FAULTS)
    slow = {a["name"]: a for a in rows["dns.slow"]["attributes"]}
    assert slow["delay"]["default"] == "500ms" and slow["delay"]["unit"] == "duration"
    assert slow["target"]["required"] is True and slow["at"]["common"] is True


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"fault": "dns.nodata", "target": "us-east-9"}', "body:1: target: unknown region"),
        ('{"fault": "dns.nodata"}', "body:1: target: Field required"),
        ('{"fault": "dns.bogus", "target": "us-east-1"}', "body:1: fault: unknown fault"),
        (
            '{"fault": "dns.slow",\n "target": "us-east-1",\n "delay": "soon"}',
            "body:3: delay: 'soon' is not a duration",
        ),
        ('{"fault": "dns.nodata", "target": "us-east-1", "colour": 1}', "colour: unknown field"),
        (
            '{"fault": "dns.nodata", "target": {"region": "us-east-1", "endpoints": [7]}}',
            "target.endpoints[0]: endpoint 7 does not exist",
        ),
        ('{"fault": "dns.nodata", "target": "us-east-1", "rate": 2}', "rate: Input should be"),
        ('{"fault": "dns.nodata", ', "body:1:"),
        ("[1, 2]", "expected a fault entry (a mapping), got list"),
        ("", "body: empty"),
    ],
)
async def test_a_bad_fault_is_400_with_the_lines_validate_prints(body: str, expected: str) -> None:
    async with running() as (hosted, http, url):
        status, answer = await call(http, "POST", f"{url}/faults", body)
        assert hosted.faults.faults(include_reverted=True) == []
    assert status == 400
    assert expected in answer["error"], answer
    assert "\n" not in answer["error"]
    for problem in answer.get("problems", []):
        assert problem["text"].startswith("body:")


async def test_apply_is_seen_by_a_real_dns_query_and_revert_restores_the_record() -> None:
    async with running() as (hosted, http, url):
        assert await rcode_and_addresses(hosted) == ("NOERROR", ["127.0.10.1", "127.0.10.2"])
        status, fault = await call(
            http, "POST", f"{url}/faults", {"fault": "dns.nodata", "target": "us-east-1"}
        )
        assert status == 201 and fault["state"] == "applied" and fault["id"] == 1
        assert await rcode_and_addresses(hosted) == ("NOERROR", [])
        assert await rcode_and_addresses(hosted, "dynamodb.us-west-2.aws.test") == (
            "NOERROR",
            ["127.0.11.1"],
        )
        _, listed = await call(http, "GET", f"{url}/faults")
        assert [f["id"] for f in listed["faults"]] == [1]
        assert listed["faults"][0]["applied_at"] >= 0 and listed["faults"][0]["applied_wall"]
        status, reverted = await call(http, "DELETE", f"{url}/faults/1")
        assert status == 200 and reverted["state"] == "reverted"
        assert reverted["revert_reason"] == "control"
        assert await rcode_and_addresses(hosted) == ("NOERROR", ["127.0.10.1", "127.0.10.2"])
        _, listed = await call(http, "GET", f"{url}/faults")
        _, everything = await call(http, "GET", f"{url}/faults?all=1")
        status, missing = await call(http, "DELETE", f"{url}/faults/42")
        _, journal = await call(http, "GET", f"{url}/journal")
    assert listed["faults"] == [] and len(everything["faults"]) == 1
    assert status == 404 and missing["error"] == "no fault with id 42"
    actions = [(e["index"], e["action"], e["reason"]) for e in journal["entries"]]
    assert actions == [(1, "apply", None), (1, "revert", "control")]


@pytest.mark.looptime
async def test_duration_reverts_on_schedule_and_at_delays_the_apply() -> None:
    async with running() as (hosted, http, url):
        _, timed = await call(
            http,
            "POST",
            f"{url}/faults",
            {"fault": "dns.servfail", "target": "us-east-1", "duration": "5s"},
        )
        _, later = await call(
            http,
            "POST",
            f"{url}/faults",
            {"fault": "dns.nxdomain", "target": "us-west-2", "at": "10s", "duration": "1s"},
        )
        assert later["state"] == "scheduled" and timed["state"] == "applied"
        assert (await rcode_and_addresses(hosted))[0] == "SERVFAIL"
        await _sleep(6)
        assert (await rcode_and_addresses(hosted))[0] == "NOERROR"
        assert (await rcode_and_addresses(hosted, "dynamodb.us-west-2.aws.test"))[0] == "NOERROR"
        await _sleep(4.5)
        assert (await rcode_and_addresses(hosted, "dynamodb.us-west-2.aws.test"))[0] == "NXDOMAIN"
        await _sleep(1)
        _, journal = await call(http, "GET", f"{url}/journal")
    entries = [(e["index"], e["action"], e["reason"]) for e in journal["entries"]]
    assert entries == [
        (1, "apply", None),
        (1, "revert", "scheduled"),
        (2, "apply", None),
        (2, "revert", "scheduled"),
    ]
    revert = journal["entries"][1]
    assert revert["actual"] - journal["entries"][0]["actual"] == pytest.approx(5.0, abs=0.01)


@pytest.mark.looptime
async def test_timeline_runs_from_now_and_revert_all_cancels_what_is_left() -> None:
    async with running() as (hosted, http, url):
        await _sleep(100)  # "from now": long after the world started
        status, started = await call(http, "POST", f"{url}/timeline")
        assert status == 201
        assert [(f["fault"], f["state"], f["source"]) for f in started["faults"]] == [
            ("dns.nxdomain", "scheduled", "timeline"),
            ("endpoint.latency", "scheduled", "timeline"),
        ]
        await _sleep(2.5)
        assert (await rcode_and_addresses(hosted, "dynamodb.us-west-2.aws.test"))[0] == "NXDOMAIN"
        _, active = await call(http, "GET", f"{url}/faults")
        assert {f["state"] for f in active["faults"]} == {"applied"}
        # without a duration an entry lasts the scenario's (30 s), as in a run
        assert active["faults"][1]["reverts_at"] - active["faults"][1]["due_at"] == 29.0
        _, reverted = await call(http, "DELETE", f"{url}/faults")
        assert (await rcode_and_addresses(hosted, "dynamodb.us-west-2.aws.test"))[0] == "NOERROR"
    assert [f["revert_reason"] for f in reverted["reverted"]] == ["control", "control"]


async def test_a_fault_this_world_cannot_take_is_409_and_journaled() -> None:
    async with running() as (_, http, url):
        status, body = await call(
            http, "POST", f"{url}/faults", {"fault": "dns.automation_race", "target": "us-east-1"}
        )
        _, journal = await call(http, "GET", f"{url}/journal")
    assert status == 409
    assert body["error"] == "dns.automation_race needs dns.automation.enabled: true"
    assert body["fault"]["state"] == "failed"
    assert journal["entries"][0]["error"] == body["error"]


async def test_shutdown_reverts_every_fault_and_the_journal_says_so() -> None:
    async with running() as (hosted, http, url):
        await call(http, "POST", f"{url}/faults", {"fault": "dns.nodata", "target": "us-east-1"})
        await call(http, "POST", f"{url}/faults", {"fault": "endpoint.down", "target": "us-west-2"})
        status, _ = await call(http, "POST", f"{url}/shutdown")
        assert status == 202
        assert hosted.stopped.is_set()
        refused, body = await call(
            http, "POST", f"{url}/faults", {"fault": "dns.nodata", "target": "us-east-1"}
        )
        assert (await rcode_and_addresses(hosted))[1] == []  # still in place until the stop
    assert refused == 503 and "stopping" in body["error"]
    assert hosted.stop_reason == "shutdown"
    entries = hosted.faults.journal.to_json()
    assert [(e["index"], e["action"], e["reason"]) for e in entries[-2:]] == [
        (2, "revert", "shutdown"),
        (1, "revert", "shutdown"),
    ]
    assert hosted.faults.faults() == []


async def test_leaving_the_block_with_an_error_reverts_with_reason_error() -> None:
    with pytest.raises(RuntimeError):
        async with running() as (hosted, http, url):
            await call(
                http, "POST", f"{url}/faults", {"fault": "dns.nodata", "target": "us-east-1"}
            )
            raise RuntimeError("the test failed")
    assert hosted.faults.journal.to_json()[-1]["reason"] == "error"


async def test_token_is_required_everywhere_but_health() -> None:
    async with running(token="s3cret") as (_, http, url):
        health, _ = await call(http, "GET", f"{url}/health")
        denied, body = await call(http, "GET", f"{url}/faults")
        wrong, _ = await call(http, "GET", f"{url}/faults", headers={"Authorization": "Bearer x"})
        allowed, _ = await call(
            http, "GET", f"{url}/faults", headers={"Authorization": "Bearer s3cret"}
        )
        metrics, _ = await call(http, "GET", f"{url}/journal")
    assert (health, denied, wrong, allowed, metrics) == (200, 401, 401, 200, 401)
    assert "bearer token" in body["error"]


async def test_world_metrics_are_served_while_it_runs() -> None:
    async with running() as (hosted, http, url):
        await rcode_and_addresses(hosted)
        await call(http, "POST", f"{url}/faults", {"fault": "dns.nodata", "target": "us-east-1"})
        await rcode_and_addresses(hosted)
        async with http.get(f"{url}/metrics") as response:
            text = await response.text()
    assert 'harness_fault_active{fault="dns.nodata",target="us-east-1"} 1.0' in text
    assert (
        'harness_dns_queries_total{name="dynamodb.us-east-1.aws.test",qtype="A",rcode="NOERROR",'
        'strategy="world"} 2.0'
    ) in text
    assert 'harness_endpoint_capacity{region="us-west-2",strategy="world"}' in text


async def test_unknown_paths_and_methods_answer_json() -> None:
    async with running() as (_, http, url):
        missing, body = await call(http, "GET", f"{url}/nothing")
        method, _ = await call(http, "PUT", f"{url}/faults")
        bad_id, _ = await call(http, "GET", f"{url}/faults/abc")
    assert (missing, method, bad_id) == (404, 405, 404)
    assert body["error"] == "Not Found"


async def test_the_control_api_refuses_a_non_loopback_address() -> None:
    hosted_scenario = scenario()
    async with hosted_world(hosted_scenario, control=None) as hosted:
        api = ControlApi(
            hosted.faults,
            hosted_scenario,
            hosted.world.info,
            CollectorRegistry(),
            token=None,
            stop=hosted.stop,
        )
        with pytest.raises(AddressError, match=r"'0\.0\.0\.0' is not a loopback address"):
            await ControlServer(api).start("0.0.0.0", 0)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
