"""Each fault kind does what it says (in-process); drop and slow also over a real socket."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest

from dataforseo_bulk.emulator import (
    FAULT_KINDS,
    ConnectionDropped,
    EmulatorConfig,
    Ledger,
    create_app,
    expected_backlinks,
    serve,
)
from dataforseo_bulk.emulator.faults import FaultInjector

from .helpers import AUTH, BACKLINKS, emulator_client

TARGETS = [f"site{i}.com" for i in range(20)]
FULL_COST = round(0.02 + 20 * 0.00003, 8)


def only(kind: str, **overrides: float) -> EmulatorConfig:
    return EmulatorConfig(fault_rate=1.0, faults=frozenset({kind}), seed=7, **overrides)  # type: ignore[arg-type]


async def call(kind: str, ledger: Ledger) -> httpx.Response:
    async with emulator_client(only(kind, slow_seconds=0.01), ledger=ledger) as client:
        return await client.post(BACKLINKS, json=[{"targets": TARGETS, "tag": "t"}])


def last_call_cost(ledger: Ledger) -> float:
    return ledger.calls()[-1].cost


async def test_http500_is_an_error_and_free(ledger: Ledger) -> None:
    response = await call("http500", ledger)
    assert response.status_code == 500
    assert response.json()["status_code"] == 50000
    assert response.json()["tasks"] == []
    assert last_call_cost(ledger) == 0 and ledger.charged_counts() == {}
    assert ledger.calls()[-1].fault == "http500"


async def test_http500_ok_is_a_complete_answer_and_charged(ledger: Ledger) -> None:
    response = await call("http500_ok", ledger)
    assert response.status_code == 500
    answer = response.json()
    assert answer["status_code"] == 20000 and answer["cost"] == FULL_COST
    assert len(answer["tasks"][0]["result"][0]["items"]) == 20
    assert last_call_cost(ledger) == FULL_COST
    assert ledger.charged_counts() == dict.fromkeys(TARGETS, 1)


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_errors_are_short_html_and_free(status: int, ledger: Ledger) -> None:
    response = await call(f"http{status}", ledger)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert str(status) in response.text and len(response.text) < 300
    record = ledger.calls()[-1]
    assert (record.http_status, record.envelope_code, record.cost) == (status, None, 0)


async def test_envelope_50000(ledger: Ledger) -> None:
    response = await call("envelope_50000", ledger)
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status_code"], answer["status_message"], answer["tasks"]) == (
        50000,
        "Internal Error.",
        [],
    )
    assert last_call_cost(ledger) == 0


@pytest.mark.parametrize(
    ("kind", "code", "message"),
    [
        ("task_50000", 50000, "Internal Error."),
        ("task_50301", 50301, "3rd Party API Service Unavailable."),
        ("task_50401", 50401, "Internal Error - Timeout."),
        ("task_40202", 40202, "The rate-limit per minute has been exceeded."),
    ],
)
async def test_task_level_faults(kind: str, code: int, message: str, ledger: Ledger) -> None:
    response = await call(kind, ledger)
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status_code"], answer["tasks_error"], answer["cost"]) == (20000, 1, 0)
    task = answer["tasks"][0]
    assert (task["status_code"], task["status_message"]) == (code, message)
    assert task["cost"] == 0 and task["result"] is None and task["data"]["tag"] == "t"
    assert ledger.calls()[-1].task_codes == (code,)
    assert ledger.charged_counts() == {}


async def test_drop_in_process_is_a_protocol_error_and_charged(ledger: Ledger) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="connection drop"):
        await call("drop", ledger)
    assert last_call_cost(ledger) == FULL_COST
    assert ledger.charged_counts() == dict.fromkeys(TARGETS, 1)


async def test_drop_through_plain_asgi_transport_raises_connection_dropped() -> None:
    transport = httpx.ASGITransport(app=create_app(only("drop")))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator", auth=AUTH) as client:
        with pytest.raises(ConnectionDropped):
            await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])


async def test_slow_in_process_answers_late_and_is_charged(ledger: Ledger) -> None:
    response = await call("slow", ledger)
    assert response.json()["status_code"] == 20000
    assert ledger.calls()[-1].fault == "slow" and last_call_cost(ledger) == FULL_COST


async def test_malformed_is_truncated_json_and_charged(ledger: Ledger) -> None:
    response = await call("malformed", ledger)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert response.content.startswith(b'{"version":')
    assert last_call_cost(ledger) == FULL_COST


async def test_missing_items_charges_only_what_is_returned(ledger: Ledger) -> None:
    response = await call("missing_items", ledger)
    answer = response.json()
    task = answer["tasks"][0]
    items = task["result"][0]["items"]
    returned = {item["target"] for item in items}
    assert 1 <= len(TARGETS) - len(returned) <= 2
    assert task["result"][0]["items_count"] == len(items)
    assert task["cost"] == answer["cost"] == round(0.02 + 0.00003 * len(items), 8)
    assert last_call_cost(ledger) == task["cost"]
    assert ledger.charged_counts() == dict.fromkeys(returned, 1)
    assert all(item["backlinks"] == expected_backlinks(item["target"]) for item in items)


async def test_missing_items_with_a_single_target_leaves_it_out() -> None:
    async with emulator_client(only("missing_items")) as client:
        answer = (await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])).json()
    assert answer["tasks"][0]["result"][0] == {"items_count": 0, "items": []}
    assert answer["cost"] == 0.02


async def test_faults_hit_only_valid_calls(ledger: Ledger) -> None:
    async with emulator_client(EmulatorConfig(fault_rate=1.0), ledger=ledger) as client:
        answer = (await client.post(BACKLINKS, json=[{"targets": []}])).json()
    assert answer["tasks"][0]["status_code"] == 40501
    assert ledger.calls()[-1].fault is None


def test_fault_draws_are_seeded_uniform_and_at_the_configured_rate() -> None:
    def sequence() -> list[str | None]:
        injector = FaultInjector(0.3, FAULT_KINDS, seed=42)
        return [injector.draw() for _ in range(5000)]

    first = sequence()
    assert first == sequence()
    counts = Counter(first)
    assert 0.27 < 1 - counts[None] / 5000 < 0.33
    assert set(counts) - {None} == FAULT_KINDS
    assert FaultInjector(0.0, FAULT_KINDS, seed=1).draw() is None


def test_kind_order_does_not_depend_on_set_iteration() -> None:
    a = FaultInjector(1.0, ["drop", "slow", "http500"], seed=3)
    b = FaultInjector(1.0, ["http500", "slow", "drop"], seed=3)
    assert [a.draw() for _ in range(50)] == [b.draw() for _ in range(50)]


# --- over a real loopback socket ------------------------------------------------------------


@pytest.mark.loopback
async def test_drop_over_a_socket_cuts_the_body(ledger: Ledger) -> None:
    async with (
        serve(only("drop"), ledger=ledger) as url,
        httpx.AsyncClient(base_url=url, auth=AUTH) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(BACKLINKS, json=[{"targets": TARGETS}])
    assert ledger.charged_counts() == dict.fromkeys(TARGETS, 1)


@pytest.mark.loopback
async def test_slow_over_a_socket_outlasts_the_client_timeout(ledger: Ledger) -> None:
    config = only("slow", slow_seconds=30.0)
    async with serve(config, ledger=ledger) as url:
        async with httpx.AsyncClient(base_url=url, auth=AUTH, timeout=0.3) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.post(BACKLINKS, json=[{"targets": TARGETS}])
        record = ledger.calls()[-1]
        assert (record.fault, record.cost) == ("slow", FULL_COST)
    # That the abandoned slow answer stops waiting (and frees its slot) is asserted in
    # test_server.py::test_a_client_that_gives_up_on_a_slow_answer_frees_its_slot; leaving
    # serve() proves nothing here, as uvicorn's graceful shutdown is bounded anyway.
