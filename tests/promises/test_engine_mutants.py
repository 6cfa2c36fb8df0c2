"""Tests for mutants of ``engine.py`` that survived the suite (docs/testing.md, "Mutation
testing"): how items are matched to targets, what a bad item's failure says, and a fatal answer
cancelling the calls in flight. Through the public client, the API mocked by respx on looptime's
fake clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from conftest import (
    LOGIN,
    PASSWORD,
    USER_DATA_URL,
    FakeAPI,
    backlinks_of,
    client,
    envelope,
    envelope_error,
    ok,
    scripted,
    task_error,
)
from dataforseo_bulk import (
    BULK_BACKLINKS,
    AccountRefused,
    APIUnreachable,
    BalanceExhausted,
    BudgetExceeded,
    BulkClient,
    ChunkOutcome,
    FailureKind,
    JobAborted,
    Progress,
    RetryDetails,
    TargetFailure,
)
from dataforseo_bulk.cache_sqlite import SQLiteCache
from dataforseo_bulk.pacing import Clock

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]


# design.md: "items matched by the echoed target, never by position; loose match on case and
# trailing slash" — loose only for what the exact match left: pages whose paths differ only in
# case or a trailing slash are different targets, each gets its own item, in one call.
async def test_targets_that_differ_only_in_case_or_a_trailing_slash_each_get_their_own_item(
    api: FakeAPI,
) -> None:
    pages = ["https://example.com/A", "https://example.com/a", "https://example.com/a/"]

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        items = [{"target": t, "backlinks": backlinks_of(t)} for t in reversed(targets)]
        return httpx.Response(200, json=envelope(items=items))

    api.respond = respond
    async with client() as c:
        result = await c.bulk_backlinks(pages)
    assert dict(result) == {page: backlinks_of(page) for page in pages}
    assert len({result[page] for page in pages}) == 3
    assert len(api.calls) == 1  # nothing taken as missing and asked again


BAD = {"target": "bad.com", "backlinks": "lots"}  # not a count: a bad item


@pytest.mark.parametrize("echoed", ["bad.com", "BAD.COM"], ids=["echoed as sent", "echoed loosely"])
async def test_a_bad_item_fails_only_its_target_says_why_and_names_its_call(
    api: FakeAPI, echoed: str
) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        good = [{"target": t, "backlinks": backlinks_of(t)} for t in targets if t != "bad.com"]
        return httpx.Response(200, json=envelope(items=[{**BAD, "target": echoed}, *good]))

    api.respond = respond
    async with client() as c:
        result = await c.bulk_backlinks(["bad.com", "a.com", "b.com"])
    assert dict(result) == {"a.com": backlinks_of("a.com"), "b.com": backlinks_of("b.com")}
    assert len(api.calls) == 1  # the items after the bad one were read from the same answer
    failure = result.failed["bad.com"]
    assert failure.kind is FailureKind.BAD_ITEM
    assert "backlinks" in failure.reason and "None" not in failure.reason
    assert failure.chunk is not None and failure.chunk.tag == api.calls[0].tag  # the call it was in


async def test_an_item_matched_loosely_is_kept_by_the_checkpoint(api: FakeAPI, tmp_path: Path) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        items = [{"target": t.upper(), "backlinks": backlinks_of(t)} for t in targets]
        return httpx.Response(200, json=envelope(items=items))

    api.respond = respond
    checkpoint = str(tmp_path / "job.sqlite")
    async with client() as c:
        first = await c.bulk_backlinks(["a.com", "b.com"], checkpoint=checkpoint)
        again = await c.bulk_backlinks(["a.com", "b.com"], checkpoint=checkpoint)
    assert dict(first) == dict(again) == {"a.com": backlinks_of("a.com"), "b.com": backlinks_of("b.com")}
    assert len(api.calls) == 1  # the rerun is answered by the checkpoint
    assert not again.failed


# README: "fatal answers stop the job at once": the calls in flight are cancelled, not waited for.
async def test_a_fatal_answer_cancels_the_calls_in_flight_at_once(api: FakeAPI) -> None:
    async def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if "fatal.com" in targets:
            await anyio.sleep(1)
            return envelope_error(40100, "You are not authorized.", http_status=401)
        await anyio.sleep(100)  # the other calls are still in flight when the fatal answer comes
        return ok(targets)

    api.respond = respond
    targets = ["fatal.com", *(f"site{i}.example.com" for i in range(9))]
    started = anyio.current_time()
    async with client(chunk_size=1, max_concurrency=10, rate_limit=100_000, rate_period=1) as c:
        with pytest.raises(JobAborted) as caught:
            await c.bulk_backlinks(targets)
    assert anyio.current_time() - started < 50  # on the fake clock: it did not wait for them
    partial = caught.value.result
    assert partial is not None and not dict(partial)
    assert {f.kind for t, f in partial.failed.items() if t != "fatal.com"} == {FailureKind.ABORTED}


# jobs.md, "The balance": a lazy input stops at the balance like max_cost does, and the error says
# what was spent and what the next call could have cost (the CLI prints both).
async def test_a_stop_at_the_balance_says_what_was_spent_and_what_the_next_call_could_cost(
    api: FakeAPI,
) -> None:
    api.balance = 0.05  # two calls of one target ($0.02003 each) fit, a third could pass it

    def lazily() -> Iterator[str]:
        yield from (f"site{i}.example.com" for i in range(5))

    async with client(chunk_size=1, max_concurrency=1) as c:
        with pytest.raises(BalanceExhausted) as caught:
            await c.bulk_backlinks(lazily())
    error = caught.value
    assert len(api.calls) == 2
    assert error.balance == 0.05 and error.estimate is None
    assert error.spent == pytest.approx(2 * 0.02003) and error.next_call == pytest.approx(0.02003)
    assert "balance reached: $0.04006 spent or held by calls in flight" in str(error)


# README: "keys are the caller's strings": a lone target typed in another spelling too.
async def test_a_lone_target_in_another_spelling_is_keyed_as_typed(api: FakeAPI) -> None:
    async with client() as c:
        result = await c.bulk_backlinks(["CNN.com"])
    assert dict(result) == {"CNN.com": backlinks_of("cnn.com")}
    assert not result.failed


async def test_a_failed_target_in_another_spelling_has_no_value(api: FakeAPI) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        items = [{"target": t, "backlinks": "lots" if t == "cnn.com" else backlinks_of(t)} for t in targets]
        return httpx.Response(200, json=envelope(items=items))

    api.respond = respond
    async with client() as c:
        result = await c.bulk_backlinks(["CNN.com", "B.com"])
    assert dict(result) == {"B.com": backlinks_of("b.com")}
    assert list(result.failed) == ["CNN.com"] and result.failed["CNN.com"].kind is FailureKind.BAD_ITEM


# design.md: an item whose target is not a string, or names nothing asked, is set aside (the
# target it should have answered is asked again, then `missing`), never a crash.
async def test_items_without_a_usable_target_are_set_aside(api: FakeAPI) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        items = [{"target": None, "backlinks": 1}, {"target": "not-asked.com", "backlinks": 2}]
        items += [{"target": ["a.com"], "backlinks": 3}, {"target": {"a.com": 1}, "backlinks": 4}]
        items += [{"target": t, "backlinks": backlinks_of(t)} for t in targets if t != "a.com"]
        return httpx.Response(200, json=envelope(items=items))

    api.respond = respond
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert dict(result) == {"b.com": backlinks_of("b.com")}
    assert result.failed["a.com"].kind is FailureKind.MISSING
    assert [call.targets for call in api.calls] == [["a.com", "b.com"], ["a.com"]]


# jobs.md: `stats.elapsed` is the job's duration, `stats.saved_usd` what the cache saved.
async def test_stats_say_how_long_the_job_took_and_what_the_cache_saved(api: FakeAPI, tmp_path: Path) -> None:
    api.latency = 3.0
    await anyio.sleep(500)  # the job does not start at the clock's zero
    cache = {"cache": str(tmp_path / "cache.sqlite"), "max_age": 3600}
    async with client(**cache) as c:
        first = await c.bulk_backlinks(["a.com", "b.com"])
        again = await c.bulk_backlinks(["a.com", "b.com", "c.com"])
    assert first.stats.elapsed == pytest.approx(3.0, abs=0.5)  # one call's latency, on the fake clock
    assert first.stats.cached == 0 and first.stats.saved_usd == 0.0
    assert again.stats.cached == 2 and again.stats.calls == 1
    assert again.stats.saved_usd == pytest.approx(2 * (0.00003 + 0.02 / 1000))


# README: `len(result) + len(result.failed)` = distinct input strings; an exact repeat of an
# invalid string (or of another spelling) is a duplicate input, like a repeat of a valid one.
async def test_a_repeated_invalid_string_is_one_failure_and_one_duplicate(api: FakeAPI) -> None:
    async with client() as c:
        result = await c.bulk_backlinks(["not a target", "a.com", "not a target", "a.com", "B.com", "B.com"])
    assert len(result) + len(result.failed) == 3
    stats = result.stats
    assert (stats.targets, stats.ok, stats.failed, stats.invalid, stats.duplicate) == (3, 2, 1, 1, 3)


# README: "keys are the caller's strings" (a str subclass is kept as its text, a plain str), and
# "spellings of one target sent once, all get the answer", also when the normal form comes after
# another spelling was already answered.
async def test_a_str_subclass_is_keyed_by_its_text(api: FakeAPI) -> None:
    class Domain(str):
        pass

    async with client() as c:
        result = await c.bulk_backlinks([Domain("a.com"), Domain("B.com")])
    assert dict(result) == {"a.com": backlinks_of("a.com"), "B.com": backlinks_of("b.com")}
    assert {type(key) for key in result} == {str}


async def test_the_normal_form_read_after_another_spelling_was_answered_gets_the_answer(
    api: FakeAPI,
) -> None:
    async def slowly() -> AsyncIterator[str]:
        yield "CNN.com"
        await anyio.sleep(10)  # its call is answered meanwhile
        yield "cnn.com"

    values: dict[str, object] = {}
    async with client(chunk_size=1) as c, c.stream(slowly(), endpoint=BULK_BACKLINKS) as outcomes:
        async for outcome in outcomes:  # as the CLI writes its rows
            assert not outcome.failed and not values.keys() & outcome.values.keys()
            values.update(outcome.values)
    assert values == {"CNN.com": backlinks_of("cnn.com"), "cnn.com": backlinks_of("cnn.com")}
    assert len(api.calls) == 1


# README/jobs.md: a checkpoint keeps what a run finished, failures included: a rerun answers a
# target the API refused for good with the same failure (kind, code, reason, status, call)
# without a call.
async def test_a_failure_comes_back_from_the_checkpoint_as_it_was(api: FakeAPI, tmp_path: Path) -> None:
    api.respond = lambda api, targets: task_error(40102, "No Search Results.", http_status=200)
    checkpoint = str(tmp_path / "job.sqlite")
    async with client() as c:
        first = await c.bulk_backlinks(["a.com"], checkpoint=checkpoint)
        again = await c.bulk_backlinks(["a.com"], checkpoint=checkpoint)
    failure = first.failed["a.com"]
    assert failure.kind is FailureKind.PERMANENT and failure.code == 40102 and failure.http_status == 200
    assert failure.chunk is not None and failure.reason
    assert again.failed["a.com"] == failure
    assert len(api.calls) == 1


def bad_items_for_bad_targets(api: FakeAPI, targets: list[str]) -> httpx.Response:
    """Every target answered, those starting with ``bad`` or ``worse`` with a bad item."""
    items = [
        {"target": t, "backlinks": "lots" if t.startswith(("bad", "worse")) else backlinks_of(t)}
        for t in targets
    ]
    return httpx.Response(200, json=envelope(items=items))


#: Read two at a time (chunk_size=2), with a pause after the first four for their calls to be
#: answered: then the normal forms of the first two (answered under another spelling), third
#: spellings of them, exact repeats of targets answered in their normal form, repeats again, and
#: a new spelling of a target answered in its normal form read with that normal form.
GROUPS = [
    ["CNN.com", "BAD.com", "a.com", "worse.com"],
    ["cnn.com", "bad.com"],
    ["Cnn.com", "Bad.com"],
    ["a.com", "worse.com"],
    ["cnn.com", "CNN.com"],
    ["A.com", "a.com"],
]


async def groups_with_pauses() -> AsyncIterator[str]:
    for group in GROUPS:
        for target in group:
            yield target
        await anyio.sleep(10)  # the calls of what was read are answered meanwhile


# jobs.md, "stream()": each distinct input string appears in exactly one outcome, and
# "checkpoint=" point 7: the counts are those of the same input without a checkpoint (a target
# read earlier in the same run, in another spelling, is a duplicate input, not an answer from an
# earlier run). A streamed job with a checkpoint keeps its answers in the file only, so every
# repeat below is told apart by what the file says this run handed out.
async def test_a_streamed_job_with_a_checkpoint_counts_and_answers_repeats_as_without_one(
    api: FakeAPI, tmp_path: Path
) -> None:
    api.respond = bad_items_for_bad_targets
    seen: list[str] = []
    values: dict[str, object] = {}
    failed: dict[str, FailureKind] = {}
    async with client(chunk_size=2) as c:
        async with c.stream(groups_with_pauses(), checkpoint=str(tmp_path / "job.sqlite")) as outcomes:
            async for outcome in outcomes:
                seen += [*outcome.values, *outcome.failed]
                values.update(outcome.values)
                failed.update({t: f.kind for t, f in outcome.failed.items()})
        streamed = outcomes.stats()
        plain = await c.bulk_backlinks(groups_with_pauses())
    distinct = {t for group in GROUPS for t in group}
    assert len(distinct) == 9
    assert sorted(seen) == sorted(distinct)  # each distinct string once: no repeat answered again
    assert (
        values
        == dict(plain)
        == {
            "CNN.com": backlinks_of("cnn.com"),
            "cnn.com": backlinks_of("cnn.com"),
            "Cnn.com": backlinks_of("cnn.com"),
            "a.com": backlinks_of("a.com"),
            "A.com": backlinks_of("a.com"),
        }
    )
    assert failed == {t: FailureKind.BAD_ITEM for t in ("BAD.com", "bad.com", "Bad.com", "worse.com")}
    assert failed.keys() == plain.failed.keys()
    counts = ("targets", "ok", "failed", "duplicate", "invalid", "resumed", "calls")
    assert {k: getattr(streamed, k) for k in counts} == {k: getattr(plain.stats, k) for k in counts}
    assert (streamed.targets, streamed.duplicate, streamed.resumed, streamed.calls) == (9, 10, 0, 2)


# The same on a rerun: a target answered from the file, then read again in another spelling
# once its answer was handed out (and forgotten), is a duplicate input, not a second answer from
# the file; an exact repeat of it gets nothing more.
async def test_a_streamed_rerun_counts_another_spelling_of_a_resumed_target_as_a_duplicate(
    api: FakeAPI, tmp_path: Path
) -> None:
    checkpoint = str(tmp_path / "job.sqlite")
    async with client(chunk_size=1) as c:
        await c.bulk_backlinks(["a.com"], checkpoint=checkpoint)
        async with c.stream(["a.com", "A.com", "a.com"], checkpoint=checkpoint) as outcomes:
            got = [(t, v) for outcome in [o async for o in outcomes] for t, v in outcome.values.items()]
        again = await c.bulk_backlinks(["a.com", "A.com", "a.com"], checkpoint=checkpoint)
    assert got == [("a.com", backlinks_of("a.com")), ("A.com", backlinks_of("a.com"))]
    stats = outcomes.stats()
    assert (stats.targets, stats.resumed, stats.duplicate, stats.calls) == (2, 1, 2, 0)
    assert (again.stats.targets, again.stats.resumed, again.stats.duplicate) == (2, 1, 2)
    assert len(api.calls) == 1


# engine: "Every target read is, at the end, in an outcome". A job cancelled from outside (a
# deadline) still reports what it read and left unanswered, also to a consumer that takes its
# time over each outcome (the report is not cut by the same cancellation).
async def test_a_job_cancelled_from_outside_reports_what_it_left_unanswered_to_a_slow_consumer(
    api: FakeAPI,
) -> None:
    api.latency = 1000  # no call is answered before the deadline
    reported: dict[str, object] = {}

    async def slow_consumer(outcome: ChunkOutcome[int | None]) -> None:
        await anyio.sleep(1)  # e.g. writing to a slow disk before it is recorded
        reported.update(outcome.values)
        reported.update(outcome.failed)

    async with client(chunk_size=1) as c:
        job = c.job(BULK_BACKLINKS, slow_consumer)
        with anyio.move_on_after(30) as deadline:
            await job.run(["a.com", "b.com", "not a target"])
    assert deadline.cancelled_caught
    assert sorted(reported) == ["a.com", "b.com", "not a target"]
    aborted = [reported["a.com"], reported["b.com"]]
    assert all(isinstance(f, TargetFailure) and f.kind is FailureKind.ABORTED for f in aborted)
    reasons = {f.reason for f in aborted if isinstance(f, TargetFailure)}
    assert reasons == {"not answered: the job stopped first (cancelled)"}


# jobs.md, "The balance": a lazy input reads the balance just before its first call; credentials
# the API refuses there stop the job with AccountRefused (its code and status) before any paid
# call, every target read accounted for.
async def test_credentials_refused_at_the_balance_read_of_a_lazy_input_stop_the_job_before_any_call(
    api: FakeAPI, mocked: respx.MockRouter
) -> None:
    refused = envelope_error(40100, "You are not authorized.", http_status=401)
    mocked.get(USER_DATA_URL).mock(return_value=refused)

    def lazily() -> Iterator[str]:
        yield from ("a.com", "b.com")

    async with client() as c:
        with pytest.raises(AccountRefused) as caught:
            await c.bulk_backlinks(lazily())
    assert caught.value.error.status_code == 40100 and caught.value.error.http_status == 401
    assert api.calls == []
    partial = caught.value.result
    assert partial is not None and not dict(partial) and partial.stats.calls == 0
    assert {t: f.kind for t, f in partial.failed.items()} == {
        "a.com": FailureKind.ABORTED,
        "b.com": FailureKind.ABORTED,
    }


# README: the API's pushback slows the whole job (40202: a pause; 40209: fewer calls in flight),
# and the job says so on the `dataforseo_bulk` logger (docs/jobs.md), with the API's code and
# what it does about it.
async def test_the_apis_pushback_is_logged_with_its_code_and_what_the_job_does(
    api: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter(
        [
            envelope_error(40202, "The rate-limit per minute has been exceeded."),
            envelope_error(40209, "Too many simultaneous queries."),
        ]
    )
    api.respond = lambda api, targets: next(answers, None) or ok(targets)
    with caplog.at_level(logging.WARNING, logger="dataforseo_bulk"):
        async with client(rate_limit=2000, rate_period=60.0, max_concurrency=8) as c:
            result = await c.bulk_backlinks(["a.com"])
    assert dict(result) == {"a.com": backlinks_of("a.com")}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "rate limit answered (40202): pausing all calls for 15.0s",
        "too many simultaneous calls (40209): at most 4 in flight for a while",
    ]


# errors.md, "Unreachable": once any call of the job has connected, a connection failure later
# in the job is transient like the others (retried), not a stop.
async def test_after_a_call_has_connected_a_failure_to_connect_is_retried_not_a_stop(api: FakeAPI) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if len(api.calls) in (2, 3):  # the second chunk's first two attempts
            raise httpx.ConnectError("connection refused")
        return ok(targets)

    api.respond = respond
    # errors.md, "Network failures": a call that never left is not billed and frees its budget
    # reservation: the two refused attempts take nothing from a cap that fits two calls.
    async with client(chunk_size=1, max_concurrency=1, max_cost=0.05) as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert dict(result) == {"a.com": backlinks_of("a.com"), "b.com": backlinks_of("b.com")}
    assert result.stats.retries == 2 and result.stats.calls == 2  # the refused ones never went out
    assert result.stats.cost_usd == pytest.approx(2 * 0.02003)


# jobs.md, "How fresh": an answer is used while it is younger than `max_age`, whatever
# `max_age` is (here half a second, on the cache's own clock: `SQLiteCache(path, now=...)`);
# `max_age=0` buys every answer again.
async def test_a_cached_answer_younger_than_a_max_age_under_a_second_is_used(
    api: FakeAPI, tmp_path: Path
) -> None:
    now = [1_000_000.0]
    cache = SQLiteCache(tmp_path / "cache.sqlite", now=lambda: now[0])
    async with client(cache=cache, max_age=0.5) as c:
        await c.bulk_backlinks(["a.com"])
        now[0] += 0.4
        young = await c.bulk_backlinks(["a.com"])
        now[0] += 0.2
        old = await c.bulk_backlinks(["a.com"])
    cache.close()  # the caller's store is the caller's to close
    assert dict(young) == dict(old) == {"a.com": backlinks_of("a.com")}
    assert (young.stats.cached, young.stats.calls) == (1, 0)
    assert (old.stats.cached, old.stats.calls) == (0, 1)
    assert len(api.calls) == 2


# errors.md, "Unreachable": when no call of the job has connected and a chunk's retry fails to
# connect as well, the job stops with APIUnreachable (two attempts, however many retries are
# allowed; one when none is), nothing sent, every target aborted; an INFO line says why.
@pytest.mark.parametrize(("max_retries", "attempts"), [(4, 2), (1, 2), (0, 1)])
async def test_an_api_no_call_reaches_stops_the_job_after_the_first_retry(
    api: FakeAPI, caplog: pytest.LogCaptureFixture, max_retries: int, attempts: int
) -> None:
    def refuse(api: FakeAPI, targets: list[str]) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    api.respond = refuse
    with caplog.at_level(logging.INFO, logger="dataforseo_bulk"):
        async with client(max_retries=max_retries, max_concurrency=1) as c:
            with pytest.raises(APIUnreachable) as caught:
                await c.bulk_backlinks(["a.com", "b.com"])
    assert len(api.calls) == attempts
    partial = caught.value.result
    assert partial is not None and partial.stats.calls == 0 and partial.stats.unknown_cost_calls == 0
    assert {f.kind for f in partial.failed.values()} == {FailureKind.ABORTED} and len(partial.failed) == 2
    why = "could not send to api.dataforseo.com:443: ConnectError: connection refused"
    assert why in str(caught.value)  # the message names the host and the network error
    assert f"cannot reach the API ({why}); stopping the job" in [r.getMessage() for r in caplog.records]


# errors.md, "Unreachable": the calls in flight when the job stops are let finish: one that does
# connect is paid for as usual, and its answer is kept.
async def test_a_call_in_flight_when_the_api_is_found_unreachable_finishes_and_is_kept(api: FakeAPI) -> None:
    async def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if targets != ["a.com"]:
            raise httpx.ConnectError("connection refused")
        await anyio.sleep(5)  # a slow answer: still in flight when the job stops
        return ok(targets)

    api.respond = respond
    async with client(chunk_size=1, max_concurrency=2) as c:
        with pytest.raises(APIUnreachable) as caught:
            await c.bulk_backlinks(["a.com", "b.com"])
    partial = caught.value.result
    assert partial is not None and dict(partial) == {"a.com": backlinks_of("a.com")}
    assert partial.stats.calls == 1 and partial.failed["b.com"].kind is FailureKind.ABORTED


# README: fatal answers stop the job with their details (errors.md: `AccountRefused.error` has the
# chunk, status, code and the attempt it came on), logged at ERROR as the CLI prints it
# (cli.md: "...; stopping the job").
async def test_a_fatal_answer_after_a_retry_says_which_attempt_it_came_on(
    api: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([httpx.Response(500, text="Internal Server Error")])
    api.respond = lambda api, targets: (
        next(answers, None) or envelope_error(40100, "You are not authorized.", http_status=401)
    )
    with caplog.at_level(logging.ERROR, logger="dataforseo_bulk"):
        async with client() as c:
            with pytest.raises(AccountRefused) as caught:
                await c.bulk_backlinks(["a.com"])
    error = caught.value.error
    assert (error.attempt, error.status_code, error.http_status) == (2, 40100, 401)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"{error}; stopping the job"
    ]


# jobs.md / errors.md: HTTP 402 is out of money (as 40200) even without a DataForSEO answer: the
# calls already in flight were accepted and are billed, so their answers are awaited and kept.
async def test_http_402_without_an_envelope_keeps_the_answers_in_flight(api: FakeAPI) -> None:
    async def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if targets == ["b.com"]:
            return httpx.Response(402, text="Payment Required")
        await anyio.sleep(1.0)
        return ok(targets)

    api.respond = respond
    async with client(chunk_size=1, max_concurrency=2, check_balance=False) as c:
        with pytest.raises(AccountRefused) as caught:
            await c.bulk_backlinks(["a.com", "b.com", "c.com"])
    partial = caught.value.result
    assert caught.value.error.http_status == 402
    assert partial is not None and dict(partial) == {"a.com": backlinks_of("a.com")}
    assert len(api.calls) == 2  # nothing sent after the 402


# errors.md: `no_data` is an "Ok." answer with `result` null or [], "also when asked once more":
# one more call, whatever `max_retries` allows beyond it.
@pytest.mark.parametrize("max_retries", [1, 4])
async def test_no_data_is_asked_once_more_with_any_max_retries(api: FakeAPI, max_retries: int) -> None:
    def no_data(api: FakeAPI, targets: list[str]) -> httpx.Response:
        body = envelope(items=[], cost=0.02)
        body["tasks"][0]["result"] = None
        return httpx.Response(200, json=body)

    api.respond = no_data
    async with client(max_retries=max_retries) as c:
        result = await c.bulk_backlinks(["a.com"])
    assert result.failed["a.com"].kind is FailureKind.NO_DATA
    assert len(api.calls) == 2


# errors.md, "Waits": a 429's Retry-After holds every call that long, also a wait of one second,
# and the log says so.
async def test_a_429_asking_for_one_second_holds_every_call_and_says_so(
    api: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if len(api.calls) == 2:
            return httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "1"})
        return ok(targets)

    api.respond = respond
    with caplog.at_level(logging.WARNING, logger="dataforseo_bulk"):
        async with client(chunk_size=1, rate_limit=6000, rate_period=60.0, max_concurrency=2) as c:
            result = await c.bulk_backlinks([f"s{i}.com" for i in range(4)])
    assert len(result) == 4 and result.stats.retries == 1
    refused_at = api.calls[1].at
    assert min(call.at - refused_at for call in api.calls[2:]) >= 0.999  # none before the second is up
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "HTTP 429 asked for 1.0s: pausing all calls"
    ]


# errors.md, "Waits": 50303 waits minutes (`long_initial`, 60 s, jitter within the top eighth);
# a 503's Retry-After may be an HTTP date, waited until then. `RetryDetails.wait` says how long.
async def test_retry_waits_follow_the_answer_a_long_wait_and_an_http_date(api: FakeAPI) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if len(api.calls) == 1:
            return task_error(50303, "Service temporarily unavailable.")
        if len(api.calls) == 2:
            when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)  # the real clock, as the API's
            date = email.utils.format_datetime(when, usegmt=True)
            return httpx.Response(503, text="Service Unavailable", headers={"Retry-After": date})
        return ok(targets)

    waits: list[RetryDetails] = []
    api.respond = respond
    async with BulkClient(LOGIN, PASSWORD, on_retry=waits.append) as c:
        result = await c.bulk_backlinks(["a.com"])
    assert dict(result) == {"a.com": backlinks_of("a.com")}
    assert [(w.attempt, w.code, w.http_status) for w in waits] == [(1, 50303, 200), (2, None, 503)]
    assert 60 * 7 / 8 <= waits[0].wait <= 60
    assert 28 <= waits[1].wait <= 30  # the date has whole seconds


# errors.md, "Network failures": a call cut off after it may have reached the API is counted in
# `stats.calls` and `stats.unknown_cost_calls`, each one, and retried.
async def test_every_answer_lost_on_the_way_back_is_counted_as_of_unknown_cost(api: FakeAPI) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if len(api.calls) <= 2:
            raise httpx.ReadError("connection reset by peer")
        return ok(targets)

    api.respond = respond
    async with client() as c:
        result = await c.bulk_backlinks(["a.com"])
    assert dict(result) == {"a.com": backlinks_of("a.com")}
    assert (result.stats.calls, result.stats.unknown_cost_calls, result.stats.retries) == (3, 2, 2)


# jobs.md, "checkpoint=": the file records each chunk's `cost_usd` and `calls` (table `chunks`),
# so `SELECT SUM(cost_usd), SUM(calls) FROM chunks` is what all runs spent: also the call of a
# chunk the budget stopped before its retry, which left it without an answer.
async def test_the_checkpoint_records_the_calls_of_a_chunk_stopped_before_its_answer(
    api: FakeAPI, tmp_path: Path
) -> None:
    api.respond = lambda api, targets: httpx.Response(500, text="Internal Server Error")
    checkpoint = tmp_path / "job.sqlite"
    async with client(max_cost=0.03) as c:  # the first call fits; its retry could pass the cap
        with pytest.raises(BudgetExceeded) as caught:
            await c.bulk_backlinks(["a.com"], checkpoint=str(checkpoint))
    partial = caught.value.result
    assert partial is not None and partial.stats.calls == 1 and len(api.calls) == 1
    assert spent_by_the_checkpoint(checkpoint) == (0.0, 1)  # of unknown cost: none counted


def spent_by_the_checkpoint(path: Path) -> tuple[float, int]:
    """What jobs.md says to run to see what all runs on a checkpoint spent."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        cost, calls = conn.execute("SELECT SUM(cost_usd), SUM(calls) FROM chunks").fetchone()
    return cost, calls


# The same when a fatal answer stops the job while a chunk waits for its retry: the job cancels
# that chunk's work, and its call is recorded all the same (a bug this test found: the cancelled
# chunk was never recorded, so `SUM(calls)` fell short of `stats.calls`).
async def test_the_checkpoint_records_the_calls_of_a_chunk_a_fatal_answer_cancelled(
    api: FakeAPI, tmp_path: Path
) -> None:
    async def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if targets == ["a.com"]:  # retried after 10 s (not a jittered backoff) ...
            return httpx.Response(503, text="Service Unavailable", headers={"Retry-After": "10"})
        await anyio.sleep(0.5)  # ... during which the other chunk's answer stops the job
        return envelope_error(40100, "You are not authorized.", http_status=401)

    api.respond = respond
    checkpoint = tmp_path / "job.sqlite"
    async with client(chunk_size=1, max_concurrency=2) as c:
        with pytest.raises(AccountRefused) as caught:
            await c.bulk_backlinks(["a.com", "b.com"], checkpoint=str(checkpoint))
    partial = caught.value.result
    assert partial is not None and partial.stats.calls == 2
    assert spent_by_the_checkpoint(checkpoint) == (0.0, 2)


# jobs.md, "The results cache", with a checkpoint too: answers from the cache go into the
# checkpoint as well, so a resumed run (here without the cache) gives the same values, free.
async def test_answers_from_the_cache_are_kept_by_the_checkpoint(api: FakeAPI, tmp_path: Path) -> None:
    checkpoint = str(tmp_path / "job.sqlite")
    async with client(cache=str(tmp_path / "cache.sqlite"), max_age=3600) as c:
        await c.bulk_backlinks(["a.com"])
        cached = await c.bulk_backlinks(["a.com"], checkpoint=checkpoint)
    async with client() as c:
        resumed = await c.bulk_backlinks(["a.com"], checkpoint=checkpoint)
    assert dict(cached) == dict(resumed) == {"a.com": backlinks_of("a.com")}
    assert (cached.stats.cached, resumed.stats.resumed, resumed.stats.calls) == (1, 1, 0)
    assert len(api.calls) == 1


# README: "every input is accounted for": an exact repeat of another spelling, read in the middle
# of a batch, is a duplicate, and the strings after it are read as usual.
async def test_the_strings_after_a_repeated_spelling_are_answered(api: FakeAPI) -> None:
    async with client() as c:
        result = await c.bulk_backlinks(["B.com", "B.com", "c.com", "D.com"])
    assert dict(result) == {
        "B.com": backlinks_of("b.com"),
        "c.com": backlinks_of("c.com"),
        "D.com": backlinks_of("d.com"),
    }
    assert (result.stats.targets, result.stats.duplicate) == (3, 1)


# README: `len(result) + len(result.failed)` = distinct input strings, and the stats say how many
# were duplicates and invalid: counted over the whole input, read a chunk at a time.
async def test_duplicates_and_invalid_strings_are_counted_over_every_batch(api: FakeAPI) -> None:
    targets = ["not a target", "a.com", "also not one", "a.com", "c.com", "d.com"]
    async with client(chunk_size=2) as c:  # the input is read two strings at a time
        result = await c.bulk_backlinks(targets)
    stats = result.stats
    assert (stats.targets, stats.ok, stats.failed, stats.invalid, stats.duplicate) == (5, 3, 2, 2, 1)


# jobs.md: `on_progress=` gets a `Progress` after each outcome: chunks done, targets done
# (answered or failed), calls, retries, cost so far.
async def test_progress_counts_failed_targets_as_done_and_every_retry(api: FakeAPI) -> None:
    api.respond = scripted(lambda t: httpx.Response(500, text="oops"), ok)
    seen: list[Progress] = []
    await anyio.sleep(500)  # the job does not start at the clock's zero
    async with client(chunk_size=2) as c:
        result = await c.bulk_backlinks(["a.com", "b.com", "not a target"], on_progress=seen.append)
    last = seen[-1]
    assert (last.chunks_done, last.targets_done, last.calls, last.retries) == (1, 3, 2, 1)
    assert last.cost_usd == result.stats.cost_usd and len(result.failed) == 1
    assert last.elapsed == pytest.approx(result.stats.elapsed) and last.elapsed < 100  # the job's time


# BulkClient's docstring: "clock - the time source of pacing and backoff; tests pass a fake one":
# the pacing's waits go through the given clock, not the event loop's.
async def test_the_clock_hook_is_the_time_source_of_the_pacing(api: FakeAPI) -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += max(seconds, 0.0)

    async with client(clock=Clock(now=lambda: now[0], sleep=sleep), chunk_size=1, rate_limit=1) as c:
        result = await c.bulk_backlinks(["a.com", "b.com", "c.com"])  # one call a minute
    assert len(result) == 3
    assert now[0] >= 2 * 60 * 0.9  # two waits of about a minute, on the given clock ...
    assert {call.at for call in api.calls} == {api.calls[0].at}  # ... none on the event loop's


# README: a fatal answer stops the job "and hands back what was already paid for": also the half
# of a split chunk that was answered while the other half's call was still in flight.
async def test_a_fatal_answer_hands_back_what_a_split_chunk_had_already_bought(api: FakeAPI) -> None:
    async def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if targets == ["b.com"]:
            await anyio.sleep(1)
            return envelope_error(40100, "You are not authorized.", http_status=401)
        if len(targets) == 4:
            return task_error(40501, "Invalid Field: 'targets'.")  # split in two halves
        if "a3.com" in targets:
            await anyio.sleep(5)  # the second half: still in flight when the fatal answer comes
        return ok(targets)

    api.respond = respond
    targets = ["a1.com", "a2.com", "a3.com", "a4.com", "b.com"]
    bought = {"a1.com": backlinks_of("a1.com"), "a2.com": backlinks_of("a2.com")}
    async with client(chunk_size=4, max_concurrency=2) as c:
        with pytest.raises(AccountRefused) as caught:
            await c.bulk_backlinks(targets)
        partial = caught.value.result
        assert partial is not None and dict(partial) == bought
        assert {t: f.kind for t, f in partial.failed.items()} == dict.fromkeys(
            ["a3.com", "a4.com", "b.com"], FailureKind.ABORTED
        )
        # A stream hands it over too, in the outcome of the call that bought it (jobs.md).
        outcomes: list[ChunkOutcome[int | None]] = []
        with pytest.raises(AccountRefused):
            async with c.stream(targets) as stream:
                outcomes += [outcome async for outcome in stream]
    [paid] = [outcome for outcome in outcomes if outcome.values]
    assert paid.values == bought and paid.chunk is not None and paid.chunk.index == 0
