"""``GET /v3/appendix/user_data``: the account's login, balance (going down as calls are charged),
its rate limit; free, and only for the right credentials. Null values and empty results."""

from __future__ import annotations

import pytest

from dataforseo_bulk.emulator import EmulatorConfig, Ledger, answers_null, expected_backlinks, task_cost

from .helpers import emulator_client, post_task

USER_DATA = "/v3/appendix/user_data"


async def test_the_balance_goes_down_by_what_each_call_was_charged(ledger: Ledger) -> None:
    config = EmulatorConfig(balance_usd=1.0, rate_limit=100, rate_period=6)
    async with emulator_client(config, ledger=ledger) as client:
        before = (await client.get(USER_DATA)).json()
        await post_task(client, {"targets": ["a.com", "b.com"]})
        after = (await client.get(USER_DATA)).json()
    assert before["cost"] == 0 and before["tasks"][0]["cost"] == 0  # free
    money = before["tasks"][0]["result"][0]["money"]
    assert (money["total"], money["balance"]) == (1.0, 1.0)
    assert after["tasks"][0]["result"][0]["money"]["balance"] == round(1.0 - task_cost(2), 8)
    minute = after["tasks"][0]["result"][0]["rates"]["limits"]["minute"]
    assert minute["backlinks"]["bulk_pages_summary"]["live"] == 1000.0  # 100 per 6 s
    assert len(ledger.calls()) == 1  # the ledger holds the paid calls only


async def test_user_data_needs_the_credentials_and_a_get() -> None:
    async with emulator_client(auth=("emulator", "wrong")) as client:
        refused = await client.get(USER_DATA)
    assert refused.status_code == 401 and refused.json()["status_code"] == 40100
    async with emulator_client() as client:
        assert (await client.post(USER_DATA, json=[{}])).status_code == 404


async def test_a_share_of_targets_is_answered_with_nulls_and_the_rest_with_values() -> None:
    targets = [f"site{i}.com" for i in range(200)]
    async with emulator_client(EmulatorConfig(null_rate=0.25)) as client:
        answer = await post_task(client, {"targets": targets})
    items = {item["target"]: item["backlinks"] for item in answer["tasks"][0]["result"][0]["items"]}
    nulls = {t for t in targets if answers_null(t, 0.25)}
    assert 20 < len(nulls) < 80
    assert {t for t, value in items.items() if value is None} == nulls
    assert all(items[t] == expected_backlinks(t) for t in targets if t not in nulls)
    assert answer["cost"] == task_cost(200)  # a row without data is still a row


@pytest.mark.parametrize("rate", [1.0])
async def test_an_empty_result_is_a_20000_task_with_result_null_or_empty(rate: float) -> None:
    async with emulator_client(EmulatorConfig(empty_result_rate=rate, seed=3)) as client:
        answers = [await post_task(client, {"targets": ["a.com"]}) for _ in range(8)]
    results = [a["tasks"][0]["result"] for a in answers]
    assert all(a["tasks"][0]["status_code"] == 20000 for a in answers)
    assert {repr(r) for r in results} == {"None", "[]"}
    assert all(a["cost"] == task_cost(0) for a in answers)


def test_null_and_empty_rates_are_shares() -> None:
    with pytest.raises(ValueError, match="null_rate"):
        EmulatorConfig(null_rate=1.5)
    with pytest.raises(ValueError, match="empty_result_rate"):
        EmulatorConfig(empty_result_rate=-0.1)
