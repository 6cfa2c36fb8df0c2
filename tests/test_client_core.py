"""The core job through the public client, with the API mocked by respx (on a fake loop clock).

Each test is a situation a user meets — a clean run, each class of answer, duplicates and
invalid targets, the budget, pacing — and checks what the user would check: the counts,
what landed in ``failed`` and why, how many calls were made (and paid for).
"""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
import respx

from conftest import (
    LOGIN,
    PASSWORD,
    URL,
    FakeAPI,
    backlinks_of,
    envelope,
    envelope_error,
    ok,
    scripted,
    task_error,
)
from dataforseo_bulk import (
    BudgetExceeded,
    BulkClient,
    ConfigurationError,
    FailureKind,
    FatalAnswer,
    JobAborted,
    RetryPolicy,
    estimate_cost,
)

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]


def client(**knobs: object) -> BulkClient:
    knobs.setdefault("retry_policy", RetryPolicy.testing())
    return BulkClient(LOGIN, PASSWORD, **knobs)  # type: ignore[arg-type]


def domains(n: int, prefix: str = "site") -> list[str]:
    return [f"{prefix}{i}.example.com" for i in range(n)]


# --- the happy path ----------------------------------------------------------------------
async def test_any_number_of_targets_one_map_out(api: FakeAPI) -> None:
    targets = domains(2500)
    async with client() as c:
        result = await c.bulk_backlinks(targets)

    assert dict(result) == {t: backlinks_of(t) for t in targets}
    assert not result.failed
    assert [len(call.targets) for call in api.calls] == [1000, 1000, 500]
    assert all(call.task_count == 1 for call in api.calls)  # one task per POST, always
    assert sorted(api.sent_targets) == sorted(targets)
    assert result.stats.calls == 3 and result.stats.retries == 0
    assert result.stats.ok == 2500 and result.stats.targets == 2500
    assert result.stats.cost_usd == pytest.approx(estimate_cost(2500))


async def test_keys_are_the_callers_spellings_and_duplicates_are_sent_once(api: FakeAPI) -> None:
    targets = ["CNN.com", "cnn.com", " cnn.com ", "cnn.com", "https://Example.com/Path", "bbc.com"]
    async with client() as c:
        result = await c.bulk_backlinks(targets)

    assert sorted(api.sent_targets) == ["bbc.com", "cnn.com", "https://example.com/Path"]
    assert set(result) == {"CNN.com", "cnn.com", " cnn.com ", "https://Example.com/Path", "bbc.com"}
    assert result["CNN.com"] == result[" cnn.com "] == backlinks_of("cnn.com")
    assert result["https://Example.com/Path"] == backlinks_of("https://example.com/Path")
    assert result.stats.targets == 5  # distinct input strings
    assert result.stats.duplicate == 3  # one exact repeat, two other spellings of cnn.com
    assert len(result) + len(result.failed) == len(set(targets))


async def test_plain_domains_repeated_inside_a_batch_or_across_batches_are_sent_once(api: FakeAPI) -> None:
    """Batches (of a chunk's size) made only of plain domains in normal form, the engine's usual
    input: a repeat inside one batch, or of a target an earlier batch read (in normal form or
    another spelling), is a duplicate, sent once and answered under each spelling."""
    batches = [
        ["a.example.com", "b.example.com", "a.example.com"],  # a repeat inside the batch
        ["c.example.com", "b.example.com", "d.example.com"],  # b read by the batch before
        ["E.example.com", "f.example.com", "g.example.com"],  # another spelling: the loop's case
        ["h.example.com", "e.example.com", "i.example.com"],  # e read before as E.example.com
        ["j.example.com", "k.example.com", "l.example.com"],  # all new: the batch check's case
    ]
    targets = [t for batch in batches for t in batch]
    async with client(chunk_size=3) as c:
        result = await c.bulk_backlinks(targets)

    normal = sorted({t.lower() for t in targets})
    assert sorted(api.sent_targets) == normal  # each bought once
    assert dict(result) == {t: backlinks_of(t.lower()) for t in targets}
    assert result.stats.targets == len(set(targets)) == 13
    assert result.stats.duplicate == 3  # a.example.com again, b.example.com again, e (as E before)
    assert result.stats.ok == 13


async def test_invalid_targets_are_reported_and_never_sent(api: FakeAPI) -> None:
    targets = ["good.com", "", "has space.com", "ftp://example.com/", "example.com/path", "x" * 3000]
    async with client() as c:
        result = await c.bulk_backlinks(targets)

    assert api.sent_targets == ["good.com"]
    assert set(result) == {"good.com"}
    assert set(result.failed) == set(targets) - {"good.com"}
    for failure in result.failed.values():
        assert failure.kind is FailureKind.INVALID and failure.reason
    assert result.stats.invalid == 5


async def test_async_iterable_input_is_consumed_lazily(api: FakeAPI) -> None:
    consumed = 0
    consumed_at_first_call: list[int] = []

    async def source():  # type: ignore[no-untyped-def]
        nonlocal consumed
        for t in domains(50_000):
            consumed += 1
            if api.calls and not consumed_at_first_call:
                consumed_at_first_call.append(consumed)
            yield t

    async with client(chunk_size=100, max_concurrency=4) as c:
        result = await c.bulk_backlinks(source())
    assert len(result) == 50_000
    # Only what the workers can hold (+ the chunk being built) had been read.
    assert consumed_at_first_call[0] <= (4 + 1 + 2) * 100  # 4 in flight, 1 spare worker, read ahead


# --- transient answers: retried, then kept ------------------------------------------------
TRANSIENT = {
    "task 50000": lambda t: task_error(50000, "Internal Error."),
    "task 50301": lambda t: task_error(50301, "3rd Party API Service Unavailable (overloaded)."),
    "task 50401": lambda t: task_error(50401, "Internal Error - Timeout."),
    "task 40202": lambda t: task_error(40202, "The rate-limit per minute has been exceeded."),
    "envelope 40202": lambda t: envelope_error(40202, "The rate-limit per minute has been exceeded."),
    "envelope 40209": lambda t: envelope_error(40209, "Too many simultaneous queries."),
    "envelope 50000": lambda t: envelope_error(50000, "Internal Error."),
    "HTTP 500 error body": lambda t: envelope_error(50000, "Internal Error.", http_status=500),
    "HTTP 500 Ok without result": lambda t: httpx.Response(500, json=envelope(items=None)),
    "HTTP 502": lambda t: httpx.Response(502, text="<html>Bad Gateway</html>"),
    "HTTP 503": lambda t: httpx.Response(503, text="Service Unavailable"),
    "HTTP 504": lambda t: httpx.Response(504, text="Gateway Timeout"),
    "malformed JSON": lambda t: httpx.Response(200, content=b'{"version": "0.1", "status_co'),
}


@pytest.mark.parametrize("failure", list(TRANSIENT.values()), ids=list(TRANSIENT))
async def test_transient_answer_is_retried_then_counted(api: FakeAPI, failure) -> None:  # type: ignore[no-untyped-def]
    api.respond = scripted(failure, ok)
    targets = domains(10)
    async with client() as c:
        result = await c.bulk_backlinks(targets)
    assert dict(result) == {t: backlinks_of(t) for t in targets}
    assert len(api.calls) == 2 and result.stats.calls == 2 and result.stats.retries == 1


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut mid-body")],
    ids=["read timeout", "dropped connection"],
)
async def test_network_errors_are_retried(mocked: respx.MockRouter, api: FakeAPI, error: Exception) -> None:
    mocked.routes[0].side_effect = [error, api]
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert set(result) == {"a.com", "b.com"}
    assert result.stats.calls == 2 and result.stats.retries == 1
    assert result.stats.unknown_cost_calls == 1  # the lost answer may have been billed


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("no SYN-ACK"), httpx.PoolTimeout("pool full")],
    ids=["refused", "connect timeout", "pool timeout"],
)
async def test_a_call_that_never_connected_is_retried_and_not_counted(
    mocked: respx.MockRouter, api: FakeAPI, error: Exception
) -> None:
    mocked.routes[0].side_effect = [error, api]
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert set(result) == {"a.com", "b.com"}
    assert result.stats.retries == 1
    assert (result.stats.calls, result.stats.unknown_cost_calls) == (1, 0)  # nothing went out: not billed


async def test_http_500_with_complete_ok_body_is_kept_not_bought_again(api: FakeAPI) -> None:
    api.respond = lambda api, targets: ok(targets, http_status=500)
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert dict(result) == {"a.com": backlinks_of("a.com"), "b.com": backlinks_of("b.com")}
    assert len(api.calls) == 1 and result.stats.retries == 0


async def test_fail_n_times_then_succeed(api: FakeAPI) -> None:
    # The knob itself, with the default backoff (its waits pass on looptime's fake clock).
    fail = lambda t: task_error(50000, "Internal Error.")  # noqa: E731
    api.respond = scripted(fail, fail, fail, ok)
    async with BulkClient(LOGIN, PASSWORD, max_retries=3) as c:
        result = await c.bulk_backlinks(["a.com"])
    assert result["a.com"] == backlinks_of("a.com")
    assert result.stats.calls == 4 and result.stats.retries == 3


async def test_retries_are_bounded_and_the_reason_is_kept(api: FakeAPI) -> None:
    api.respond = lambda api, targets: task_error(50301, "3rd Party API Service Unavailable.")
    async with client(retry_policy=RetryPolicy.testing(max_retries=2)) as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert not result
    assert len(api.calls) == 3  # the first attempt and two retries, each counted
    failure = result.failed["a.com"]
    assert failure.kind is FailureKind.RETRIES_EXHAUSTED
    assert failure.code == 50301 and "3rd Party API Service Unavailable" in failure.reason


async def test_backoff_waits_between_attempts_on_the_clock(api: FakeAPI) -> None:
    api.respond = scripted(lambda t: task_error(50000, "Internal Error."), ok)
    policy = RetryPolicy(max_retries=2, initial=4.0, maximum=4.0, jitter=0.0)
    async with client(retry_policy=policy) as c:
        await c.bulk_backlinks(["a.com"])
    assert api.calls[1].at - api.calls[0].at == pytest.approx(4.0, abs=0.05)


# --- permanent answers: reported, not retried ---------------------------------------------
PERMANENT = {
    "task 40506": (lambda t: task_error(40506, "Unknown Fields in POST Data."), 40506),
    "task 40000": (lambda t: task_error(40000, "You can set only one task at a time."), 40000),
    "task 40501 on tag": (lambda t: task_error(40501, "Invalid Field: 'tag'."), 40501),
    "unknown task code": (lambda t: task_error(40999, "Something new."), 40999),
}


@pytest.mark.parametrize(("answer", "code"), list(PERMANENT.values()), ids=list(PERMANENT))
async def test_permanent_answer_fails_the_chunk_without_retry(api: FakeAPI, answer, code: int) -> None:  # type: ignore[no-untyped-def]
    api.respond = lambda api, targets: answer(targets)
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert len(api.calls) == 1
    assert set(result.failed) == {"a.com", "b.com"}
    failure = result.failed["a.com"]
    assert failure.kind is FailureKind.PERMANENT and failure.code == code
    assert failure.reason != "Ok."  # the task's message, not the envelope's


async def test_40501_on_targets_is_split_to_isolate_the_bad_ones(api: FakeAPI) -> None:
    bad = {"site3.example.com", "site6.example.com"}

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if bad & set(targets):
            return task_error(40501, "Invalid Field: 'targets'.")
        return ok(targets)

    api.respond = respond
    targets = domains(8)
    async with client() as c:
        result = await c.bulk_backlinks(targets)
    assert dict(result) == {t: backlinks_of(t) for t in targets if t not in bad}
    assert set(result.failed) == bad
    assert all(f.code == 40501 and "targets" in f.reason for f in result.failed.values())
    assert result.stats.calls < 2 * len(targets)  # bisection, not one call per target


async def test_missing_targets_are_asked_again_once(api: FakeAPI) -> None:
    api.respond = scripted(lambda t: ok(t, leave_out={"b.com", "c.com"}), ok)
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "b.com", "c.com", "d.com"])
    assert len(result) == 4 and not result.failed
    assert sorted(api.calls[1].targets) == ["b.com", "c.com"]


async def test_targets_missing_twice_are_reported(api: FakeAPI) -> None:
    api.respond = lambda api, targets: ok(targets, leave_out={"b.com"})
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert set(result) == {"a.com"}
    assert result.failed["b.com"].kind is FailureKind.MISSING
    assert len(api.calls) == 2


async def test_items_are_matched_by_target_not_position(api: FakeAPI) -> None:
    targets = domains(30)
    async with client() as c:
        result = await c.bulk_backlinks(targets)  # the fake answers in reverse order
    assert all(result[t] == backlinks_of(t) for t in targets)


async def test_an_item_of_the_wrong_shape_fails_only_its_target(api: FakeAPI) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        items = [{"target": t, "backlinks": "many" if t == "b.com" else 5} for t in targets]
        return httpx.Response(200, json=envelope(items=items))

    api.respond = respond
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert dict(result) == {"a.com": 5}
    assert result.failed["b.com"].kind is FailureKind.BAD_ITEM


# --- fatal answers: stop at once, hand back what was paid for ------------------------------
FATAL = {
    "HTTP 401 / 40100": (lambda t: envelope_error(40100, "You are not authorized.", http_status=401), 40100),
    "HTTP 402 / 40200": (lambda t: envelope_error(40200, "Payment Required.", http_status=402), 40200),
    "40210 insufficient funds": (lambda t: envelope_error(40210, "Insufficient funds."), 40210),
    "40204 no subscription": (lambda t: envelope_error(40204, "Access denied."), 40204),
    "40207 IP not allowed": (lambda t: envelope_error(40207, "Your IP is not whitelisted."), 40207),
    "task 40203 cost limit": (lambda t: task_error(40203, "The cost limit has been exceeded."), 40203),
    "unknown envelope code": (lambda t: envelope_error(49999, "Brand new account error."), 49999),
    # A wrong base URL or path: the request itself is wrong, not the targets (never stored as theirs).
    "HTTP 404 / 40400": (lambda t: envelope_error(40400, "Not Found.", http_status=404), 40400),
    "HTTP 404 / 40402": (lambda t: envelope_error(40402, "Invalid Path.", http_status=404), 40402),
}


@pytest.mark.parametrize(("answer", "code"), list(FATAL.values()), ids=list(FATAL))
async def test_fatal_answer_aborts_and_keeps_what_was_paid_for(api: FakeAPI, answer, code: int) -> None:  # type: ignore[no-untyped-def]
    api.respond = scripted(ok, answer)
    targets = domains(5000)
    async with client(chunk_size=1000, max_concurrency=1) as c:
        with pytest.raises(FatalAnswer) as caught:
            await c.bulk_backlinks(targets)
    error = caught.value
    assert error.error.status_code == code
    assert len(api.calls) == 2  # no retry of a fatal answer, nothing dispatched after it
    partial = error.result
    assert len(partial) == 1000  # the first chunk, paid for, is handed back
    assert all(partial[t] == backlinks_of(t) for t in api.calls[0].targets)
    aborted = [f for f in partial.failed.values() if f.kind is FailureKind.ABORTED]
    assert len(aborted) >= 1000  # the fatal chunk's targets, reported, not dropped
    assert len(partial) + len(partial.failed) == partial.stats.targets


async def test_fatal_answer_cancels_calls_in_flight(api: FakeAPI) -> None:
    api.latency = 1.0

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if "site0.example.com" in targets:  # the first chunk
            return envelope_error(40100, "You are not authorized.", http_status=401)
        return ok(targets)

    api.respond = respond
    async with client(chunk_size=10, max_concurrency=5, rate_limit=100_000, rate_period=1) as c:
        with pytest.raises(JobAborted):
            await c.bulk_backlinks(domains(1000))
    assert len(api.calls) <= 5 + 1  # at most what was already in flight


# --- money ---------------------------------------------------------------------------------
async def test_budget_never_dispatches_a_call_that_could_pass_it(api: FakeAPI) -> None:
    per_call = estimate_cost(1000)
    async with client(max_concurrency=1, max_cost=2.5 * per_call) as c:
        with pytest.raises(BudgetExceeded) as caught:
            await c.bulk_backlinks(domains(10_000))
    assert len(api.calls) == 2
    partial = caught.value.result
    assert len(partial) == 2000
    assert partial.stats.cost_usd <= 2.5 * per_call
    assert "max_cost" in str(caught.value)


async def test_cost_sums_every_answer_including_retries(api: FakeAPI) -> None:
    api.respond = scripted(
        lambda t: httpx.Response(200, json=envelope(task_code=50000, task_message="x", cost=0.02)), ok
    )
    async with client() as c:
        result = await c.bulk_backlinks(["a.com"])
    assert result.stats.cost_usd == pytest.approx(0.02 + 0.02003)


# --- pacing through the whole job ----------------------------------------------------------
async def test_job_pacing_holds_rate_and_concurrency(api: FakeAPI) -> None:
    api.latency = 0.5
    async with client(chunk_size=1, rate_limit=20, rate_period=1.0, max_concurrency=7) as c:
        result = await c.bulk_backlinks(domains(300))
    assert len(result) == 300
    times = sorted(call.at for call in api.calls)
    in_any_second = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
    assert in_any_second <= 20
    assert api.peak_in_flight <= 7


async def test_rate_limit_answer_pauses_the_whole_dispatcher(api: FakeAPI) -> None:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if len(api.calls) == 3:
            return task_error(40202, "The rate-limit per minute has been exceeded.")
        return ok(targets)

    api.respond = respond
    async with client(chunk_size=1, rate_limit=60, rate_period=60.0, max_concurrency=1) as c:
        await c.bulk_backlinks(domains(6))
    gaps = [b.at - a.at for a, b in zip(api.calls, api.calls[1:], strict=False)]
    assert gaps[2] >= 15.0  # a quarter of the period: nobody called during the pause
    assert max(gaps[:2]) < 2.0


async def test_too_many_simultaneous_lowers_concurrency(api: FakeAPI) -> None:
    api.latency = 1.0
    refused: list[str] = []

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if not refused:
            refused.extend(targets)
            return envelope_error(40209, "Too many simultaneous queries.")
        return ok(targets)

    api.respond = respond
    async with client(chunk_size=1, rate_limit=1000, rate_period=1.0, max_concurrency=8) as c:
        result = await c.bulk_backlinks(domains(64))
    assert len(result) == 64 and result.stats.retries == 1
    refused_at = api.calls[0].at + 1.0  # the 40209 arrived after one latency
    assert max(call.in_flight for call in api.calls if call.at < refused_at) == 8
    # For the next few seconds at most half the cap went out at once.
    assert max(call.in_flight for call in api.calls if refused_at < call.at < refused_at + 4.0) <= 4


# --- hooks, errors before the network, credentials -----------------------------------------
async def test_progress_hook_sees_every_chunk(api: FakeAPI) -> None:
    seen = []
    async with client(chunk_size=100) as c:
        await c.bulk_backlinks(domains(350), on_progress=seen.append)
    assert seen[-1].chunks_done == 4 and seen[-1].targets_done == 350
    assert seen[-1].cost_usd == pytest.approx(estimate_cost(350, chunk_size=100))


@pytest.mark.parametrize(
    ("knobs", "named"),
    [
        ({"rate_limit": 0}, "rate_limit"),
        ({"rate_period": -1}, "rate_period"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"chunk_size": 1001}, "chunk_size"),
        ({"chunk_size": 2.5}, "chunk_size"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_cost": 0}, "max_cost"),
        ({"timeout": 0}, "timeout"),
        ({"base_url": "http://api.dataforseo.com"}, "plain http"),
        ({"base_url": "ftp://x"}, "base_url"),
    ],
    ids=lambda v: str(v),
)
def test_bad_arguments_fail_before_any_call(api: FakeAPI, knobs: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        BulkClient(LOGIN, PASSWORD, **knobs)  # type: ignore[arg-type]


def test_missing_credentials_say_where_to_put_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAFORSEO_LOGIN", raising=False)
    monkeypatch.delenv("DATAFORSEO_PASSWORD", raising=False)
    with pytest.raises(ConfigurationError, match="DATAFORSEO_PASSWORD"):
        BulkClient()


async def test_credentials_from_environment(api: FakeAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAFORSEO_LOGIN", LOGIN)
    monkeypatch.setenv("DATAFORSEO_PASSWORD", PASSWORD)
    async with BulkClient() as c:
        await c.bulk_backlinks(["a.com"])
    assert api.calls[0].authorization.startswith("Basic ")


async def test_password_never_in_repr_logs_or_errors(api: FakeAPI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api.respond = scripted(
        lambda t: task_error(50000, "Internal Error."),
        lambda t: envelope_error(40100, "You are not authorized.", http_status=401),
    )
    c = client()
    with pytest.raises(FatalAnswer) as caught:
        await c.bulk_backlinks(["a.com"])
    await c.aclose()
    texts = [
        repr(c),
        str(c),
        str(caught.value),
        repr(caught.value),
        str(caught.value.error),
        caplog.text,
        repr(caught.value.result),
        repr(caught.value.result.failed),
    ]
    assert caplog.text  # something was logged: the retry and the fatal answer
    # Neither the password nor the Basic token made of it (every other path: tests/promises).
    token = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    assert not [t for t in texts if PASSWORD in t or token in t]


async def test_a_callers_own_http_client_is_used_and_left_open(api: FakeAPI) -> None:
    async with httpx.AsyncClient() as http:
        async with BulkClient(LOGIN, PASSWORD, http_client=http) as c:
            result = await c.bulk_backlinks(["a.com"])
        assert not http.is_closed
    assert result["a.com"] == backlinks_of("a.com")


async def test_generic_run_on_an_endpoint_description(api: FakeAPI) -> None:
    from dataforseo_bulk import BULK_BACKLINKS

    async with client() as c:
        result = await c.run(BULK_BACKLINKS, ["a.com"])
    assert result["a.com"] == backlinks_of("a.com")
    assert URL.endswith(BULK_BACKLINKS.path)
