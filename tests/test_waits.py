"""Waiting as long as the answer asks: 50303/50304 in minutes, a proxy's Retry-After on 429/503,
and the generic backoff for the rest. The policy as a table, then through the engine on a fake clock."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from typing import Any

import anyio
import httpx
import pytest

from conftest import (
    LOGIN,
    PASSWORD,
    FakeAPI,
    backlinks_of,
    envelope_error,
    ok,
    task_error,
)
from dataforseo_bulk import BulkClient, FailureKind, FatalAnswer, RetryDetails, RetryPolicy
from dataforseo_bulk.backoff import Wait, parse_retry_after, wait_before_retry
from dataforseo_bulk.cli.waits import describe_wait
from dataforseo_bulk.errors import ConfigurationError

NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
POLICY = RetryPolicy(jitter=0.0)  # the un-jittered base: 1, 2, 4 ... s; 60, 120, 240, 300 s


def http_date(seconds: float) -> str:
    return format_datetime(NOW + dt.timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize(
    ("code", "http_status", "retry_after", "retry", "expected"),
    [
        (50303, 200, None, 1, Wait(60.0)),
        (50303, 200, None, 2, Wait(120.0)),
        (50304, 200, None, 3, Wait(240.0)),
        (50304, 200, None, 4, Wait(300.0)),  # capped at long_maximum
        (50304, 200, None, 60, Wait(300.0)),
        (None, 429, "3", 1, Wait(3.0, pause_all=3.0)),
        (None, 429, http_date(5), 1, Wait(5.0, pause_all=5.0)),
        (None, 429, http_date(-30), 1, Wait(0.0, pause_all=0.0)),  # a date past: no wait
        (None, 429, "999", 1, Wait(120.0, pause_all=120.0)),  # capped at retry_after_max
        (None, 503, "7", 2, Wait(7.0)),  # 503: only this chunk waits
        (None, 503, http_date(9), 1, Wait(9.0)),
        (None, 429, None, 2, Wait(2.0)),  # nothing asked: the generic backoff
        (None, 429, "soon", 3, Wait(4.0)),
        (None, 500, "5", 1, Wait(1.0)),  # Retry-After only on 429 and 503
        (40202, 200, None, 1, Wait(1.0)),  # 40202's pause is the engine's (its length unknown)
        (50401, 200, None, 2, Wait(2.0)),
        (None, None, None, 1, Wait(1.0)),  # no answer at all
    ],
)
def test_the_wait_is_what_the_answer_asks_for(
    code: int | None, http_status: int | None, retry_after: str | None, retry: int, expected: Wait
) -> None:
    got = wait_before_retry(
        POLICY, retry, code=code, http_status=http_status, retry_after=retry_after, now=NOW
    )
    assert got.seconds == pytest.approx(expected.seconds)
    assert got.pause_all == pytest.approx(expected.pause_all)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        (" 12 ", 12.0),
        (http_date(60), 60.0),
        ("Tue, 01 Dec 2026 12:00:10 -0000", 10.0),
        ("-5", None),
        ("1.5", None),
        ("", None),
        ("tomorrow", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_minute_waits_keep_their_jitter_small() -> None:
    low = RetryPolicy(random=lambda: 1.0)  # the bottom of the jitter range
    assert low.long_wait(1) == pytest.approx(52.5) and low.wait(1) == pytest.approx(0.5)
    assert RetryPolicy.testing().long_wait(3) == 0.0


@pytest.mark.parametrize(
    "knobs",
    [
        {"long_initial": -1.0},
        {"long_initial": 600.0},
        {"long_maximum": float("inf")},
        {"retry_after_max": -1.0},
    ],
)
def test_bad_long_wait_settings_are_refused(knobs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**knobs)  # type: ignore[arg-type]


def test_a_long_wait_is_described_in_one_line() -> None:
    details = RetryDetails(None, 1, 50303, 200, "Update in progress.", 60.0)  # type: ignore[arg-type]
    assert describe_wait(details) == (
        "dataforseo-bulk: waiting 60 s before retrying None (attempt 1 answered 50303: Update in progress.)"
    )


# --- through the engine, on looptime's fake clock ------------------------------------------------


def client(**knobs: Any) -> BulkClient:
    return BulkClient(LOGIN, PASSWORD, check_balance=False, **knobs)


def too_many(retry_after: str | None) -> Any:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return lambda targets: httpx.Response(429, headers=headers, text="slow down")


@pytest.mark.looptime
@pytest.mark.usefixtures("mocked")
async def test_a_429_with_retry_after_holds_every_call_that_long_and_no_longer(api: FakeAPI) -> None:
    answers = iter([too_many("1")])

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        return next(answers, ok)(targets)

    api.respond = respond
    # The account's period is a minute: 40202's pause would be 15 s; the proxy asked for 1 s.
    async with client(chunk_size=1, max_concurrency=1, rate_limit=1_000_000, rate_period=60.0) as c:
        result = await c.bulk_backlinks(["a.com", "b.com", "c.com"])
    assert dict(result) == {t: backlinks_of(t) for t in ("a.com", "b.com", "c.com")}
    _, retry, *rest = [call.at - api.calls[0].at for call in api.calls]
    assert 1.0 <= retry < 1.1  # the second attempt came when the proxy said, not 15 s later
    assert all(at < 1.2 for at in rest)


@pytest.mark.looptime
@pytest.mark.usefixtures("mocked")
async def test_50303_is_retried_after_minutes_and_the_hook_sees_the_wait(api: FakeAPI) -> None:
    steps = iter([lambda targets: task_error(50303, "Update in progress. Please try after a few minutes.")])

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        return next(steps, ok)(targets)

    api.respond = respond
    seen: list[RetryDetails] = []
    async with client(on_retry=seen.append) as c:
        result = await c.bulk_backlinks(["a.com"])
    assert result["a.com"] == backlinks_of("a.com")
    assert [d.code for d in seen] == [50303] and 52.5 <= seen[0].wait <= 60.0
    assert api.calls[1].at - api.calls[0].at >= 52.5


@pytest.mark.looptime
@pytest.mark.usefixtures("mocked")
async def test_a_stop_ends_a_long_wait_instead_of_sitting_it_out(api: FakeAPI) -> None:
    async def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if targets == ["a.com"]:
            return task_error(50303, "Update in progress. Please try after a few minutes.")
        await anyio.sleep(1.0)  # b.com: out of money, while a.com waits its minutes
        return envelope_error(40210, "Insufficient funds.")

    api.respond = respond
    async with client(chunk_size=1, max_concurrency=2) as c:
        with pytest.raises(FatalAnswer) as caught:
            await c.bulk_backlinks(["a.com", "b.com"])
    result = caught.value.result
    assert len(api.calls) == 2  # a.com was not asked again
    assert result.failed["a.com"].kind is FailureKind.ABORTED
    assert result.stats.elapsed < 5  # not the 52.5-60 s of a.com's wait
