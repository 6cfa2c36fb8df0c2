"""The account balance: a call that would take the charges past it is refused with 40210."""

from __future__ import annotations

import argparse

import anyio
import pytest

from dataforseo_bulk.emulator import EmulatorConfig, Ledger, build_parser, config_from_args, task_cost
from dataforseo_bulk.emulator.server import parse_balance

from .helpers import BACKLINKS, emulator_client, post_task

ONE = task_cost(1)  # $0.02003: one call with one target
FUNDS_MESSAGE = "Insufficient funds. Your account's balance is too low to complete this request."


async def test_the_call_that_would_pass_the_balance_is_refused_with_40210(ledger: Ledger) -> None:
    config = EmulatorConfig(balance_usd=round(2.5 * ONE, 8))
    async with emulator_client(config, ledger=ledger) as client:
        answers = [await post_task(client, {"targets": [f"t{i}.com"], "tag": f"c{i}"}) for i in range(4)]
    assert [a["status_code"] for a in answers] == [20000, 20000, 40210, 40210]
    refused = answers[2]
    assert refused["status_message"] == FUNDS_MESSAGE
    assert refused["cost"] == 0 and refused["tasks"] == [] and refused["tasks_count"] == 0
    # Every call is in the ledger; the refused ones cost nothing and charged no target.
    calls = ledger.calls()
    assert [(c.tag, c.envelope_code, c.http_status, c.cost) for c in calls] == [
        ("c0", 20000, 200, ONE),
        ("c1", 20000, 200, ONE),
        ("c2", 40210, 200, 0.0),
        ("c3", 40210, 200, 0.0),
    ]
    assert calls[2].targets == 1 and calls[2].task_codes == ()
    assert ledger.charged_counts() == {"t0.com": 1, "t1.com": 1}


async def test_a_balance_equal_to_the_price_pays_for_the_call_and_a_cheaper_call_still_fits() -> None:
    thousand = [f"site{i}.com" for i in range(1000)]
    config = EmulatorConfig(balance_usd=round(task_cost(1000) + ONE, 8))
    async with emulator_client(config) as client:
        assert (await post_task(client, {"targets": thousand}))["status_code"] == 20000
        # $0.02003 left: another 1000 targets ($0.05) is refused, one target is not.
        assert (await post_task(client, {"targets": thousand}))["status_code"] == 40210
        assert (await post_task(client, {"targets": ["a.com"]}))["status_code"] == 20000
        assert (await post_task(client, {"targets": ["a.com"]}))["status_code"] == 40210


async def test_the_price_counts_distinct_targets_like_the_bill() -> None:
    config = EmulatorConfig(balance_usd=task_cost(1))
    async with emulator_client(config) as client:
        answer = await post_task(client, {"targets": ["a.com", "a.com", "a.com"]})
    assert answer["status_code"] == 20000 and answer["cost"] == task_cost(1)


async def test_zero_balance_refuses_every_valid_call_but_still_validates_tasks() -> None:
    async with emulator_client(EmulatorConfig(balance_usd=0)) as client:
        assert (await post_task(client, {"targets": ["a.com"]}))["status_code"] == 40210
        # An invalid task would cost nothing: it gets its own answer, not 40210.
        bad = await post_task(client, {"targets": []})
    assert bad["status_code"] == 20000 and bad["tasks"][0]["status_code"] == 40501


async def test_concurrent_calls_are_never_charged_past_the_balance(ledger: Ledger) -> None:
    config = EmulatorConfig(balance_usd=round(3 * ONE, 8), latency_ms=50)
    codes: list[int] = []
    async with emulator_client(config, ledger=ledger) as client:

        async def call(i: int) -> None:
            codes.append((await post_task(client, {"targets": [f"t{i}.com"]}))["status_code"])

        async with anyio.create_task_group() as group:
            for i in range(8):
                group.start_soon(call, i)
    # All eight were checked before any was charged: the held prices stopped the other five.
    assert sorted(codes) == [20000] * 3 + [40210] * 5
    assert ledger.total_cost() == round(3 * ONE, 8)


async def test_uncharged_faults_and_cancelled_calls_give_their_hold_back() -> None:
    # Every call hit by an uncharged fault: the balance (one call) is never used up.
    faulty = EmulatorConfig(balance_usd=ONE, fault_rate=1.0, faults=frozenset({"task_50000"}))
    async with emulator_client(faulty) as client:
        for _ in range(3):
            answer = await post_task(client, {"targets": ["a.com"]})
            assert answer["status_code"] == 20000 and answer["tasks"][0]["status_code"] == 50000
    # A call abandoned during its latency is never charged, so the next call still fits.
    slow = EmulatorConfig(balance_usd=ONE, latency_ms=300)
    async with emulator_client(slow) as client:
        with anyio.move_on_after(0.05) as scope:
            await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])
        assert scope.cancelled_caught
        assert (await post_task(client, {"targets": ["a.com"]}))["status_code"] == 20000
        assert (await post_task(client, {"targets": ["a.com"]}))["status_code"] == 40210


async def test_missing_items_are_not_charged_so_their_price_is_released(ledger: Ledger) -> None:
    targets = [f"t{i}.com" for i in range(20)]
    # A cent-thousandth short of the 20-target call plus a one-target call.
    balance = round(task_cost(20) + ONE - 0.00001, 8)
    config = EmulatorConfig(balance_usd=balance, fault_rate=1.0, faults=frozenset({"missing_items"}), seed=3)
    async with emulator_client(config, ledger=ledger) as client:
        first = await post_task(client, {"targets": targets})
        returned = first["tasks"][0]["result"][0]["items_count"]
        assert returned < 20 and first["cost"] == task_cost(returned)
        # What the fault left out was not paid for: that money is still there for the next call.
        second = await post_task(client, {"targets": ["x.com"]})
    assert second["status_code"] == 20000
    assert ledger.total_cost() == round(first["cost"] + second["cost"], 8) <= balance


@pytest.mark.parametrize("bad", [-0.01, float("nan"), float("inf"), "5", True])
def test_invalid_balance_says_how_to_fix_it(bad: object) -> None:
    with pytest.raises(ValueError, match="balance_usd must be a number of USD >= 0"):
        EmulatorConfig(balance_usd=bad)  # type: ignore[arg-type]


def test_balance_flag() -> None:
    assert config_from_args(build_parser().parse_args([])).balance_usd is None
    assert config_from_args(build_parser().parse_args(["--balance", "0.25"])).balance_usd == 0.25
    assert parse_balance("none") is None
    assert parse_balance("0") == 0.0
    for bad in ("-1", "x", "nan", "inf"):
        with pytest.raises(argparse.ArgumentTypeError, match="USD >= 0"):
            parse_balance(bad)
