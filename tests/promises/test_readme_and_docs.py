"""Promises of README.md and docs/*.md that no other test held (see docs/testing.md's table).

Through the public client only, with the API mocked by respx on looptime's fake clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from conftest import (
    LOGIN,
    PASSWORD,
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
    SANDBOX_URL,
    BudgetExceeded,
    BulkClient,
    ConfigurationError,
    FailureKind,
    JobAborted,
    RetryDetails,
    estimate_cost,
)

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]


def domains(n: int) -> list[str]:
    return [f"site{i}.example.com" for i in range(n)]


# README: "result is a read-only Mapping[str, int]"
async def test_the_result_is_a_read_only_mapping(api: FakeAPI) -> None:
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "not a target"])
    assert isinstance(result, Mapping) and dict(result) == {"a.com": backlinks_of("a.com")}
    with pytest.raises(TypeError):
        result["a.com"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        result.failed["b.com"] = result.failed["not a target"]  # type: ignore[index]
    assert "a.com" in result and result.get("b.com") is None and list(result.keys()) == ["a.com"]


# README: "Typed (mypy --strict, py.typed)"
def test_the_package_ships_py_typed() -> None:
    assert resources.files("dataforseo_bulk").joinpath("py.typed").is_file()


# README: "Knobs (keyword-only, validated before any call)"; per-job ones too.
@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda c: c.bulk_backlinks(["a.com"], max_cost=0), "max_cost"),
        (lambda c: c.bulk_backlinks(["a.com"], max_cost=-1.0), "max_cost"),
        (lambda c: c.run(BULK_BACKLINKS, ["a.com"], params={"targets": ["x.com"]}), "targets"),
        (lambda c: c.bulk_ranks(["a.com"], rank_scale="one_million"), "rank_scale"),
        (lambda c: c.bulk_new_lost_backlinks(["a.com"], date_from="1999-01-01"), "date_from"),
    ],
    ids=["max_cost 0", "max_cost negative", "params targets", "rank_scale", "date_from"],
)
async def test_bad_per_job_arguments_fail_before_any_call(api: FakeAPI, call, named: str) -> None:  # type: ignore[no-untyped-def]
    async with client() as c:
        with pytest.raises(ConfigurationError, match=named):
            await call(c)
    assert api.calls == []  # the same client would have called for a good job


def test_knobs_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        BulkClient(LOGIN, PASSWORD, "https://api.dataforseo.com")  # type: ignore[misc]


# README: "base_url (SANDBOX_URL for the free sandbox)"
async def test_the_sandbox_url_sends_calls_to_the_sandbox(api: FakeAPI) -> None:
    with respx.mock() as sandbox:
        route = sandbox.post(f"{SANDBOX_URL}/v3/backlinks/bulk_backlinks/live").mock(side_effect=api)
        async with client(base_url=SANDBOX_URL) as c:
            result = await c.bulk_backlinks(["a.com"])
    assert SANDBOX_URL == "https://sandbox.dataforseo.com"
    assert route.call_count == 1 and result["a.com"] == backlinks_of("a.com")


# docs/jobs.md: "the calls already in flight finish (they are paid for), nothing new is sent"
async def test_a_budget_stop_keeps_the_answers_of_calls_in_flight(api: FakeAPI) -> None:
    api.latency = 1.0
    per_call = estimate_cost(100, chunk_size=100)
    async with client(chunk_size=100, max_concurrency=5, max_cost=3.5 * per_call) as c:
        with pytest.raises(BudgetExceeded) as caught:
            await c.bulk_backlinks(domains(1000))
    partial = caught.value.result
    assert len(api.calls) == 3 and api.peak_in_flight == 3  # three fit, went out together
    assert len(partial) == 300  # and their answers were kept, not cancelled
    assert all(partial[t] == backlinks_of(t) for call in api.calls for t in call.targets)
    assert partial.stats.cost_usd == pytest.approx(3 * per_call)
    assert caught.value.max_cost == pytest.approx(3.5 * per_call)
    assert caught.value.spent == pytest.approx(3 * per_call)  # spent, or held by calls in flight
    assert caught.value.next_call == pytest.approx(per_call)
    aborted = {t for t, f in partial.failed.items() if f.kind is FailureKind.ABORTED}
    assert aborted and not aborted & set(partial)


# docs/jobs.md: "The cap is per run: a rerun with a checkpoint starts from zero"
async def test_max_cost_is_per_run_with_a_checkpoint(api: FakeAPI, tmp_path: Path) -> None:
    checkpoint = tmp_path / "job.sqlite"
    max_cost = 2.5 * estimate_cost(1000)
    targets = domains(5000)
    async with client(max_concurrency=1) as c:
        with pytest.raises(BudgetExceeded):
            await c.bulk_backlinks(targets, checkpoint=checkpoint, max_cost=max_cost)
        assert len(api.calls) == 2
        with pytest.raises(BudgetExceeded) as caught:
            await c.bulk_backlinks(targets, checkpoint=checkpoint, max_cost=max_cost)
    assert len(api.calls) == 4  # two more calls: the rerun's own budget
    assert caught.value.result.stats.resumed == 2000 and len(caught.value.result) == 4000


# docs/jobs.md: "Backpressure: at most max_concurrency outcomes wait for you; a slow consumer
# holds the workers back instead of piling answers up."
async def test_a_slow_stream_consumer_holds_the_workers_back(api: FakeAPI) -> None:
    async with client(chunk_size=10, max_concurrency=3) as c, c.stream(domains(1000)) as outcomes:
        async for _ in outcomes:
            await anyio.sleep(3600)  # a consumer stalled for an hour (of fake time)
            break
    # Three outcomes wait in the buffer, three workers hold one each, and one is being
    # handed over: nothing like the 100 calls of the whole input.
    assert len(api.calls) <= 3 + 3 + 2


# docs/jobs.md: "outcomes.stats() at any time, inside the block or after it"; each distinct input
# string in exactly one outcome; a stopped stream's JobAborted has no result.
async def test_stream_stats_inside_and_after_the_block(api: FakeAPI) -> None:
    seen: dict[str, object] = {}
    inside = []
    async with client(chunk_size=10) as c, c.stream([*domains(35), "x", "CNN.com", "cnn.com"]) as outcomes:
        async for outcome in outcomes:
            assert not seen.keys() & (outcome.values.keys() | outcome.failed.keys())
            seen.update(outcome.values)
            seen.update(outcome.failed)
            inside.append(outcomes.stats().ok + outcomes.stats().failed)
    after = outcomes.stats()
    assert len(seen) == after.targets == 38 and after.ok == 37 and after.invalid == 1
    assert inside == sorted(inside) and inside[-1] == 38  # it grew as outcomes came
    assert after.calls == len(api.calls) == 4


async def test_a_stopped_stream_raises_without_a_result(api: FakeAPI) -> None:
    received = 0
    max_cost = 2.5 * estimate_cost(100, chunk_size=100)
    async with client(chunk_size=100, max_concurrency=1, max_cost=max_cost) as c:
        with pytest.raises(JobAborted) as caught:
            async with c.stream(domains(1000)) as outcomes:
                async for outcome in outcomes:
                    received += len(outcome.values)
    assert isinstance(caught.value, BudgetExceeded) and caught.value.result is None
    assert received == 200  # the outcomes received are the result


# docs/jobs.md: "Cancelling the awaiting task ... sends nothing more"
async def test_cancelling_a_job_sends_nothing_more(api: FakeAPI) -> None:
    api.latency = 1.0
    async with client(chunk_size=10, max_concurrency=2) as c:
        with anyio.move_on_after(2.5) as scope:
            await c.bulk_backlinks(domains(1000))
        assert scope.cancelled_caught
        sent = len(api.calls)
        await anyio.sleep(60)  # a minute later (fake time), nothing more went out
    assert 0 < sent <= 6 and len(api.calls) == sent


# errors.md: "no answer (connect error, timeout, cut) ... booked at its worst case by the budget"
async def test_a_lost_answer_is_booked_at_its_worst_case(mocked: respx.MockRouter, api: FakeAPI) -> None:
    mocked.routes[0].side_effect = [httpx.ReadError("cut"), api, api]
    per_call = estimate_cost(1000)
    async with client(max_concurrency=1, max_cost=2.5 * per_call) as c:
        with pytest.raises(BudgetExceeded) as caught:
            await c.bulk_backlinks(domains(3000))
    stats = caught.value.result.stats
    # The lost call held $0.05 (it may have been billed), so only one more call fit.
    assert stats.calls == 2 and stats.unknown_cost_calls == 1
    assert len(caught.value.result) == 1000


# errors.md: "a 429 or 503 with Retry-After is waited out as it asks" (a 429's wait holds every call)
async def test_http_429_with_retry_after_holds_every_call_that_long(api: FakeAPI) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if len(api.calls) == 2:
            return httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "20"})
        return ok(targets)

    api.respond = respond
    async with client(chunk_size=1, rate_limit=600, rate_period=60.0, max_concurrency=2) as c:
        result = await c.bulk_backlinks(domains(4))
    assert len(result) == 4 and result.stats.retries == 1
    refused_at = api.calls[1].at
    later = [call.at - refused_at for call in api.calls[2:]]
    assert later and min(later) >= 20.0  # no call at all, the refused one's retry included, before 20 s


# design.md: "Items are matched to targets by the echoed target field (never by position; a
# loose match on case and trailing slash is the fallback)."
async def test_an_item_echoed_in_another_spelling_is_matched_loosely(api: FakeAPI) -> None:
    page = "https://example.com/Path/"

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        echoed = {page: "https://EXAMPLE.com/Path", "b.com": "B.COM"}
        items = [{"target": echoed.get(t, t), "backlinks": backlinks_of(t)} for t in targets]
        return httpx.Response(200, json=envelope(items=items))

    api.respond = respond
    async with client() as c:
        result = await c.bulk_backlinks([page, "b.com", "c.com"])
    assert dict(result) == {t: backlinks_of(t) for t in [page, "b.com", "c.com"]}
    assert len(api.calls) == 1  # nothing taken as missing and asked again


# README: "max_retries (4)" by default
async def test_by_default_a_call_is_retried_four_times(api: FakeAPI) -> None:
    api.respond = lambda api, targets: task_error(50000, "Internal Error.")
    async with client() as c:
        result = await c.bulk_backlinks(["a.com"])
    assert len(api.calls) == 5 and result.failed["a.com"].kind is FailureKind.RETRIES_EXHAUSTED
    # ... after capped exponential backoff with jitter: 1, 2, 4, 8 s, each at least half of it.
    gaps = [b.at - a.at for a, b in zip(api.calls, api.calls[1:], strict=False)]
    assert all(base / 2 - 0.01 <= gap <= base + 0.01 for gap, base in zip(gaps, [1, 2, 4, 8], strict=True))


# errors.md: "permanent: the chunk's targets fail with the code and the API's own message" — and
# when the API sends no message (null, or not a string), the reason says so in words.
@pytest.mark.parametrize("message", [None, 12345, ["x"]], ids=["null", "number", "list"])
async def test_a_failure_without_an_api_message_still_has_a_plain_reason(
    api: FakeAPI, message: object
) -> None:
    body = envelope(task_code=40506)
    body["tasks"][0]["status_message"] = message
    api.respond = lambda api, targets: httpx.Response(200, json=body)
    async with client() as c:
        result = await c.bulk_backlinks(["a.com"])
    failure = result.failed["a.com"]
    assert failure.kind is FailureKind.PERMANENT and failure.code == 40506
    assert failure.reason == "no message"


# errors.md: "200 with malformed JSON ... transient; retry"; the failure keeps the HTTP status.
@pytest.mark.parametrize(
    ("body", "says"),
    [(b'{"version": "0.1", "status_co', "malformed JSON"), (b"[1, 2]", "answer is not an envelope")],
    ids=["cut JSON", "not an envelope"],
)
async def test_malformed_json_keeps_its_http_status(api: FakeAPI, body: bytes, says: str) -> None:
    api.respond = lambda api, targets: httpx.Response(200, content=body)
    seen: list[RetryDetails] = []
    async with client(max_retries=1, on_retry=seen.append) as c:
        result = await c.bulk_backlinks(["a.com"])
    failure = result.failed["a.com"]
    assert failure.kind is FailureKind.RETRIES_EXHAUSTED and failure.http_status == 200
    assert failure.reason.startswith(f"gave up after 2 attempts: {says}")
    assert [(d.http_status, d.code) for d in seen] == [(200, None)]


# design.md: "Targets missing from a successful answer are asked for once more in a smaller call,
# then reported as MISSING"; the call's tag names its chunk (".m1": the first retry of missing ones).
async def test_missing_targets_are_asked_once_more_under_their_chunks_tag(api: FakeAPI) -> None:
    api.respond = lambda api, targets: ok(targets, leave_out={"b.com"})
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "b.com", "c.com"])
    assert [call.targets for call in api.calls] == [["a.com", "b.com", "c.com"], ["b.com"]]
    assert api.calls[1].tag == api.calls[0].tag + ".m1"
    failure = result.failed["b.com"]
    assert failure.kind is FailureKind.MISSING
    assert failure.reason == "absent from the API's answer, also when asked again (2 calls)"
    assert failure.chunk is not None and failure.chunk.tag == api.calls[1].tag


# README: "fatal ones (credentials, money, access) stop the job at once and hand back what was
# already paid for"; errors.md: "calls in flight are cancelled, FatalAnswer ... exc.error.status_code";
# the exception carries its context (chunk, HTTP status, code, API message, attempt).
async def test_a_fatal_answer_stops_at_once_with_its_details(
    api: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if "site0.example.com" in targets:
            await anyio.sleep(1.5)  # by then the next call is out, and a third waits for t=2
            return envelope_error(40100, "You are not authorized.", http_status=401)
        await anyio.sleep(600)  # the others are slow: cancelled, not waited for
        return ok(targets)

    api.respond = respond
    # One call a second, three workers: two calls out, the third waiting for its rate slot.
    async with client(chunk_size=10, max_concurrency=3, rate_limit=1, rate_period=1.0) as c:
        with pytest.raises(JobAborted) as caught:
            await c.bulk_backlinks(domains(100))
    error = caught.value.error  # type: ignore[attr-defined]
    assert (error.status_code, error.http_status, error.attempt) == (40100, 401, 1)
    assert error.message == "You are not authorized." and error.chunk.index == 0
    assert "40100" in str(caught.value) and "chunk 0" in str(caught.value)
    partial = caught.value.result
    assert len(partial) == 0 and partial.stats.elapsed < 600  # the slow call was not waited for
    assert len(api.calls) == 2 and partial.stats.calls == 2  # the waiting one was never sent
    assert partial.stats.unknown_cost_calls == 1  # the cancelled one may have been billed
    assert {f.kind for f in partial.failed.values()} == {FailureKind.ABORTED}
    assert [r.levelname for r in caplog.records if "stopping the job" in r.getMessage()] == ["ERROR"]
    assert "You are not authorized." in caplog.text


async def test_a_fatal_answer_without_a_message_still_says_what_it_is(api: FakeAPI) -> None:
    api.respond = lambda api, targets: envelope_error(40100, "", http_status=401)
    async with client() as c:
        with pytest.raises(JobAborted) as caught:
            await c.bulk_backlinks(["a.com"])
    assert caught.value.error.message == "fatal answer"  # type: ignore[attr-defined]


# jobs.md: each outcome's "cost_usd and calls: what this chunk cost, retries included"
async def test_each_outcome_says_what_its_chunk_cost_retries_included(api: FakeAPI) -> None:
    failed_once: set[str] = set()

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if targets[0] == "site10.example.com" and targets[0] not in failed_once:
            failed_once.add(targets[0])
            return httpx.Response(200, json=envelope(task_code=50000, task_message="x", cost=0.001))
        return ok(targets)

    api.respond = respond
    by_chunk = {}
    async with client(chunk_size=10) as c, c.stream(domains(30)) as outcomes:
        async for outcome in outcomes:
            if outcome.chunk is not None:
                by_chunk[outcome.chunk.index] = (outcome.calls, outcome.cost_usd)
    one = estimate_cost(10, chunk_size=10)
    assert by_chunk[0] == (1, pytest.approx(one)) and by_chunk[2] == (1, pytest.approx(one))
    assert by_chunk[1] == (2, pytest.approx(one + 0.001))  # the retry is in its chunk's bill


# errors.md: on 40202 "the whole dispatcher pauses ¼ of the rate period (15 s), then retries"
async def test_a_40202_pauses_a_quarter_of_the_rate_period(api: FakeAPI) -> None:
    api.respond = scripted(lambda t: task_error(40202, "The rate-limit per minute has been exceeded."), ok)
    async with client(rate_limit=2000, rate_period=60.0) as c:
        await c.bulk_backlinks(["a.com"])
    assert api.calls[1].at - api.calls[0].at == pytest.approx(15.0, abs=0.01)
