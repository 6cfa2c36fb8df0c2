"""The account (user_data) parsed defensively, read by the client, and the balance as a budget
with the API mocked (respx) on a fake loop clock."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import anyio
import httpx
import pytest

from conftest import LOGIN, PASSWORD, USER_DATA_URL, FakeAPI, backlinks_of, ok
from dataforseo_bulk import (
    Account,
    APIError,
    BalanceExhausted,
    BulkClient,
    ConfigurationError,
    FatalAnswer,
    FatalAPIError,
    RetryPolicy,
)
from dataforseo_bulk.account import parse_account, parse_user_data
from dataforseo_bulk.budget import Budget
from dataforseo_bulk.emulator import EmulatorConfig, asgi_transport, create_app
from dataforseo_bulk.emulator.user_data import user_data_result

EMULATED = user_data_result(
    login="me@example.com",
    balance_usd=20.0,
    charged_usd=2.5,
    minute_calls=2000.0,
    calls_today=7,
    today=dt.date(2026, 12, 1),
)


def test_the_vendors_layout_gives_login_balance_and_the_bulk_rate_limit() -> None:
    account = parse_account(EMULATED)
    assert account.login == "me@example.com"
    assert (account.balance_usd, account.deposited_usd, account.spent_today_usd) == (17.5, 20.0, 2.5)
    assert account.rate_limit_per_minute == 2000
    assert account.rate_limits["bulk_pages_summary"] == 2000 and len(account.rate_limits) == 7
    assert account.daily_cost_limit_usd is None  # 0 in the answer: no cap set
    assert account.timezone == "UTC"
    assert account.fits(17.5) and not account.fits(17.51)
    assert "$17.5000" in account.summary() and "2,000 calls/min" in account.summary()


def minute(**limits: Any) -> dict[str, Any]:
    return {"rates": {"limits": {"minute": limits}}}


@pytest.mark.parametrize(
    ("result", "rate", "balance"),
    [
        ({}, None, None),  # nothing reported: nothing guessed
        ({"money": None, "rates": None}, None, None),
        ({"money": {"balance": "12.5"}}, None, None),  # a string is not a number
        ({"money": {"balance": True}}, None, None),
        ({"money": {"balance": -1.0}}, None, None),
        ({"money": {"balance": 3}}, None, 3.0),  # an int is a number
        (minute(total=2000.0), 2000, None),  # the account total, as a last resort
        (minute(total=2000.0, total_backlinks=10000.0), 10000, None),
        (minute(backlinks={"bulk_backlinks": {"live": 1500.0}, "bulk_ranks": {"live": 900.0}}), 900, None),
        (minute(backlinks={"bulk_backlinks": {"live": None}}, total=2000.0), 2000, None),
        (minute(backlinks=[1, 2]), None, None),
    ],
)
def test_every_field_is_read_defensively(
    result: dict[str, Any], rate: int | None, balance: float | None
) -> None:
    account = parse_account(result)
    assert (account.rate_limit_per_minute, account.balance_usd) == (rate, balance)
    assert account.fits(1.0) is (None if balance is None else balance >= 1.0)


def body(envelope_code: int = 20000, task_code: int = 20000, result: Any = (EMULATED,)) -> bytes:
    task = {"status_code": task_code, "status_message": "Task message.", "result": list(result) or None}
    envelope = {"status_code": envelope_code, "status_message": "Envelope message.", "tasks": [task]}
    return json.dumps(envelope).encode()


def test_refusals_and_unreadable_answers_are_api_errors() -> None:
    assert parse_user_data(200, body()).balance_usd == 17.5
    with pytest.raises(FatalAPIError) as caught:
        parse_user_data(401, body(40100))
    assert caught.value.status_code == 40100
    with pytest.raises(APIError, match="Envelope message") as refused:
        parse_user_data(200, body(50000))
    assert refused.value.status_code == 50000
    with pytest.raises(APIError, match="Task message") as task_refused:
        parse_user_data(200, body(task_code=40204))
    assert task_refused.value.status_code == 40204
    with pytest.raises(APIError, match="holds no account"):
        parse_user_data(200, body(result=()))
    with pytest.raises(APIError, match="HTTP 502"):
        parse_user_data(502, b"<html>Bad Gateway</html>")


async def test_the_client_reads_the_emulators_account() -> None:
    app = create_app(EmulatorConfig(balance_usd=4.0, rate_limit=500, rate_period=60.0))
    async with BulkClient("emulator", "emulator-password", transport=asgi_transport(app)) as client:
        account = await client.account()
        await client.bulk_backlinks(["a.com"])
        after = await client.account()
    assert isinstance(account, Account)
    assert (account.login, account.balance_usd, account.rate_limit_per_minute) == ("emulator", 4.0, 500)
    assert after.balance_usd == pytest.approx(4.0 - 0.02003)


async def test_wrong_credentials_stop_a_job_at_the_free_account_read() -> None:
    app = create_app(EmulatorConfig())
    async with BulkClient("emulator", "wrong", transport=asgi_transport(app)) as client:
        with pytest.raises(FatalAnswer) as caught:
            await client.bulk_backlinks(["a.com"])
    assert caught.value.error.status_code == 40100
    assert caught.value.result is not None and caught.value.result.stats.calls == 0


def test_check_balance_must_be_a_bool() -> None:
    with pytest.raises(ConfigurationError, match="check_balance"):
        BulkClient(LOGIN, PASSWORD, check_balance="no")  # type: ignore[arg-type]


# --- the balance as a budget, mocked ------------------------------------------------------------

def client(**knobs: Any) -> BulkClient:
    policy = RetryPolicy.testing()
    return BulkClient(LOGIN, PASSWORD, retry_policy=policy, **knobs)


@pytest.mark.looptime
@pytest.mark.usefixtures("mocked")
async def test_a_sized_input_over_the_balance_is_refused_before_any_call(api: FakeAPI) -> None:
    api.balance = 0.07
    async with client() as c:
        with pytest.raises(BalanceExhausted, match=r"\$0\.07003.*\$0\.07000"):
            await c.bulk_backlinks([f"s{i}.com" for i in range(1001)])  # 2 calls: $0.04 + $0.03003
        assert api.calls == []
        # Without the check the same job runs (the API would be the judge).
        async with client(check_balance=False) as unchecked:
            assert len(await unchecked.bulk_backlinks(["a.com"])) == 1


@pytest.mark.looptime
@pytest.mark.usefixtures("mocked")
async def test_an_unreadable_balance_lets_the_job_go_on(api: FakeAPI, mocked: Any) -> None:
    mocked.get(USER_DATA_URL).mock(return_value=httpx.Response(500, text="oops"))
    async with client() as c:
        result = await c.bulk_backlinks(["a.com"])
    assert dict(result) == {"a.com": backlinks_of("a.com")}


@pytest.mark.looptime
@pytest.mark.usefixtures("mocked")
async def test_http_402_stops_dispatching_but_keeps_the_answers_in_flight(api: FakeAPI) -> None:
    async def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if targets[0] == "s10.com":  # the second chunk: refused quickly, while 1 and 3 are in flight
            await anyio.sleep(0.5)
            return httpx.Response(402, json={"status_code": 40200, "status_message": "Payment Required."})
        await anyio.sleep(1.0)
        return ok(targets)

    api.respond = respond
    targets = [f"s{i}.com" for i in range(40)]
    async with client(chunk_size=10, max_concurrency=3, check_balance=False) as c:
        with pytest.raises(FatalAnswer) as caught:
            await c.bulk_backlinks(targets)
    result = caught.value.result
    assert caught.value.error.http_status == 402
    # Calls 1 and 3 were in flight with the 402: both answers are kept; nothing was sent after.
    answered_calls = [call for index, call in enumerate(api.calls) if index != 1]
    assert len(api.calls) == 3
    assert dict(result) == {t: backlinks_of(t) for call in answered_calls for t in call.targets}


@pytest.mark.parametrize(
    ("max_cost", "balance", "spent", "reserved", "next_call", "fits", "passes_balance"),
    [
        (None, None, 100.0, 0.0, 0.05, True, False),  # no cap at all
        (None, 1.0, 0.9, 0.05, 0.05, True, False),  # exactly the balance
        (None, 1.0, 0.9, 0.05, 0.06, False, True),  # calls in flight count as spent
        (0.5, 1.0, 0.45, 0.0, 0.06, False, False),  # max_cost is the lower cap
        (2.0, 1.0, 0.98, 0.0, 0.05, False, True),  # the balance is the lower cap
    ],
)
def test_the_budget_keeps_under_both_caps(
    max_cost: float | None,
    balance: float | None,
    spent: float,
    reserved: float,
    next_call: float,
    fits: bool,
    passes_balance: bool,
) -> None:
    budget = Budget(max_cost, balance)
    budget.spent, budget.reserved = spent, reserved
    assert budget.would_pass(balance, next_call) is passes_balance
    assert budget.reserve(next_call) is fits
