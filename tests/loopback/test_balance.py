"""The balance as a budget, over loopback: a job never spends past the account's balance, and
what it paid for is kept however it stops. Also nulls and empty results end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dataforseo_bulk import BalanceExhausted, FailureKind, FatalAnswer
from dataforseo_bulk.emulator import (
    EmulatorConfig,
    Ledger,
    answers_null,
    expected_backlinks,
    serve,
    task_cost,
)

from . import client

pytestmark = pytest.mark.loopback

FULL_CALL = task_cost(1000)  # $0.05


def domains(n: int) -> list[str]:
    return [f"site{i}.example.com" for i in range(n)]


def lazily(targets: list[str]) -> Iterator[str]:
    yield from targets  # a generator: its size is unknown until it is read


async def test_a_list_the_balance_cannot_pay_for_is_refused_before_any_paid_call(ledger: Ledger) -> None:
    async with serve(EmulatorConfig(balance_usd=0.12), ledger=ledger) as url, client(url) as bulk:
        assert (await bulk.account()).balance_usd == 0.12
        with pytest.raises(BalanceExhausted) as caught:
            await bulk.bulk_backlinks(domains(5000))
    error = caught.value
    assert "$0.25000" in str(error) and "$0.12000" in str(error)  # the estimate and the balance
    assert (error.estimate, error.balance) == (0.25, 0.12)
    assert ledger.calls() == []


async def test_a_list_that_fits_runs_to_the_end(ledger: Ledger) -> None:
    async with serve(EmulatorConfig(balance_usd=0.25), ledger=ledger) as url, client(url) as bulk:
        result = await bulk.bulk_backlinks(domains(5000))
    assert len(result) == 5000 and not result.failed


async def test_lazy_input_stops_at_the_balance_with_every_paid_answer_kept(ledger: Ledger) -> None:
    # $0.17 pays for three calls of 1000 targets; the fourth could pass it and is never sent.
    targets = domains(10_000)
    config = EmulatorConfig(balance_usd=0.17, latency_ms=20)
    async with serve(config, ledger=ledger) as url, client(url, max_concurrency=4) as bulk:
        with pytest.raises(BalanceExhausted) as caught:
            await bulk.bulk_backlinks(lazily(targets))
    error = caught.value
    assert error.estimate is None and error.balance == 0.17 and "balance reached" in str(error)
    assert {c.envelope_code for c in ledger.calls()} == {20000}  # no 40210: the client stopped first
    result = error.result
    charged = ledger.charged_counts()
    assert len(charged) == 3000 and set(charged.values()) == {1}
    assert dict(result) == {t: expected_backlinks(t) for t in charged}
    assert {f.kind for f in result.failed.values()} == {FailureKind.ABORTED}
    assert result.stats.cost_usd == pytest.approx(ledger.total_cost()) == pytest.approx(3 * FULL_CALL)


async def test_a_40210_mid_job_lets_the_calls_in_flight_finish_and_keeps_their_answers(
    ledger: Ledger,
) -> None:
    # Money spent elsewhere: the client does not know (no balance check). The emulator holds the
    # price of a call while it answers, so with 3.5 calls' worth three calls are in flight when
    # the fourth is refused at once with 40210: their answers were billed and must be kept.
    config = EmulatorConfig(balance_usd=round(3.5 * FULL_CALL, 8), latency_ms=300)
    unchecked = {"max_concurrency": 4, "check_balance": False}
    async with serve(config, ledger=ledger) as url, client(url, **unchecked) as bulk:
        with pytest.raises(FatalAnswer) as caught:
            await bulk.bulk_backlinks(domains(10_000))
    error = caught.value
    assert error.error.status_code == 40210
    codes = [c.envelope_code for c in ledger.calls()]
    assert codes.count(20000) == 3 and 40210 in codes
    charged = ledger.charged_counts()
    assert len(charged) == 3000
    assert dict(error.result) == {t: expected_backlinks(t) for t in charged}  # nothing paid is lost
    assert error.result.stats.cost_usd == pytest.approx(ledger.total_cost())


async def test_null_values_are_answers_and_are_paid_once(ledger: Ledger) -> None:
    targets = domains(3000)
    nulls = {t for t in targets if answers_null(t, 0.1)}
    async with serve(EmulatorConfig(null_rate=0.1), ledger=ledger) as url, client(url) as bulk:
        result = await bulk.bulk_backlinks(targets)
    assert not result.failed and len(result) == 3000
    assert {t for t, value in result.items() if value is None} == nulls and nulls
    assert set(ledger.charged_counts().values()) == {1}  # nobody bought twice
    assert len(ledger.calls()) == 3


async def test_empty_results_are_asked_once_more_then_reported_without_data(ledger: Ledger) -> None:
    config = EmulatorConfig(empty_result_rate=1.0, seed=5)
    async with serve(config, ledger=ledger) as url, client(url) as bulk:
        result = await bulk.bulk_backlinks(domains(1500))
    assert len(result) == 0
    assert {f.kind for f in result.failed.values()} == {FailureKind.NO_DATA} and len(result.failed) == 1500
    assert len(ledger.calls()) == 4  # two chunks, each asked twice; not max_retries + 1 times
