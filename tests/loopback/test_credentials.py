"""A wrong password, over loopback: the job stops at the first 401, and the password leaks nowhere.

Catches: a 401 treated as transient (retried, or the job carrying on with other chunks); chunks
dispatched after the fatal answer; a message that does not name 40100; the password (or the
Basic header made from it) in an exception, a traceback or a log record, httpx's included.
"""

from __future__ import annotations

import base64
import logging
import traceback

import anyio
import pytest

from dataforseo_bulk import BulkClient, FailureKind, FatalAnswer, JobAborted
from dataforseo_bulk.emulator import EmulatorConfig, Ledger, serve

from . import FAST_RETRY

pytestmark = pytest.mark.loopback

LOGIN = "owner@example.com"
RIGHT_PASSWORD = "the-Right-pa55word"
WRONG_PASSWORD = "wr0ng-S3cret-Pa55word-xyzzy"
MAX_CONCURRENCY = 4


def _all_text(error: BaseException) -> str:
    """Everything an exception shows: str, repr and the formatted traceback of the whole chain."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), *(repr(arg) for arg in current.args)]
        current = current.__cause__ or current.__context__
    parts += traceback.format_exception(error)
    return "\n".join(parts)


async def test_a_wrong_password_stops_the_job_at_once_and_leaks_nowhere(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    config = EmulatorConfig(login=LOGIN, password=RIGHT_PASSWORD, latency_ms=20)
    targets = [f"site{i}.com" for i in range(200)]
    async with serve(config, ledger=ledger) as url:
        bulk = BulkClient(
            LOGIN,
            WRONG_PASSWORD,
            base_url=url,
            chunk_size=10,
            max_concurrency=MAX_CONCURRENCY,
            rate_limit=100_000,
            rate_period=1.0,
            retry_policy=FAST_RETRY,
            check_balance=False,  # the engine's own 401 path (the free account read would stop it first)
        )
        async with bulk:
            with pytest.raises(FatalAnswer) as caught:
                await bulk.bulk_backlinks(targets)

    error = caught.value
    assert isinstance(error, JobAborted)
    assert error.error.status_code == 40100 and error.error.http_status == 401
    assert "40100" in str(error)

    # At most the calls already in flight went out, each one answered 401 / 40100, none retried.
    calls = ledger.calls()
    assert 1 <= len(calls) <= MAX_CONCURRENCY
    assert all((call.http_status, call.envelope_code) == (401, 40100) for call in calls)
    assert error.result is not None
    assert error.result.stats.retries == 0
    assert error.result.stats.calls <= MAX_CONCURRENCY
    # Nothing answered, nothing charged, every target read is accounted for as aborted.
    assert ledger.total_cost() == 0 and not ledger.charged_counts()
    assert len(error.result) == 0
    failed = error.result.failed
    assert failed and {failure.kind for failure in failed.values()} == {FailureKind.ABORTED}
    assert set(failed) <= set(targets)

    # The password is in no exception text and no log record, not even as the Basic header.
    secrets = [
        WRONG_PASSWORD,
        base64.b64encode(f"{LOGIN}:{WRONG_PASSWORD}".encode()).decode(),
    ]
    text = _all_text(error) + "\n".join(failure.reason for failure in failed.values())
    assert caplog.records, "nothing was logged: the log check would prove nothing"
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''} {logging.Formatter().format(record)}"
        for record in caplog.records
    )
    for secret in secrets:
        assert secret not in text
        assert secret not in logged
    assert repr(bulk).count(LOGIN) == 1 and WRONG_PASSWORD not in repr(bulk)


async def test_calls_still_waiting_for_their_rate_slot_are_not_counted_as_calls(ledger: Ledger) -> None:
    config = EmulatorConfig(login=LOGIN, password=RIGHT_PASSWORD)
    async with serve(config, ledger=ledger) as url:
        # One call per 5 s: the first goes out at once, the other workers wait for their slot
        # and are cancelled by the 401 long before it comes.
        bulk = BulkClient(
            LOGIN,
            WRONG_PASSWORD,
            base_url=url,
            chunk_size=10,
            max_concurrency=MAX_CONCURRENCY,
            rate_limit=1,
            rate_period=5.0,
            retry_policy=FAST_RETRY,
            check_balance=False,  # the engine's own 401 path (the free account read would stop it first)
        )
        # fail_after: a client that retried the 401 would wait 5 s a call, for minutes.
        async with bulk:
            with anyio.fail_after(10), pytest.raises(FatalAnswer) as caught:
                await bulk.bulk_backlinks([f"site{i}.com" for i in range(200)])
    assert len(ledger.calls()) == 1
    stats = caught.value.result.stats
    assert (stats.calls, stats.unknown_cost_calls) == (1, 0)
