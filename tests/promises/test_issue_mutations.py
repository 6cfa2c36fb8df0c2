"""The five promises whose one-line mutations once left the whole suite green (issue 16).

Each test names the mutation it catches; docs/testing.md records that the mutation was applied
by hand and the test failed. Every test goes through ``BulkClient`` only, with the default retry
policy on looptime's fake clock (its real backoff waits cost no real time).
"""

from __future__ import annotations

import base64
import logging
import re
import socket
import traceback

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
from dataforseo_bulk import BudgetExceeded, BulkClient, FailureKind, JobAborted, RetryDetails

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]

TOKEN = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
#: What must never be seen: the password, the Basic token, the login:password pair.
SECRETS = (PASSWORD, TOKEN, f"{LOGIN}:{PASSWORD}", f"Basic {TOKEN}")


def domains(n: int) -> list[str]:
    return [f"site{i}.example.com" for i in range(n)]


def unknown_cost_failure(targets: list[str]) -> httpx.Response:
    """A transient answer without an envelope: its cost is unknown, so booked at the worst case."""
    return httpx.Response(502, text="<html>Bad Gateway</html>")


def billed_failure(targets: list[str]) -> httpx.Response:
    """A transient answer that says it cost $0.02."""
    return httpx.Response(200, json=envelope(task_code=50000, task_message="Internal Error.", cost=0.02))


# --- 1. max_cost is never exceeded, retries included ---------------------------------------
# Mutation: the budget is checked only on a chunk's first attempt (retries skip it).
@pytest.mark.parametrize("failure", [unknown_cost_failure, billed_failure], ids=["unknown cost", "billed"])
async def test_retries_never_take_spending_past_max_cost(api: FakeAPI, failure) -> None:  # type: ignore[no-untyped-def]
    api.respond = lambda api, targets: failure(targets)
    max_cost = 0.075  # one call of 1000 targets may cost $0.05: a second one could pass the cap
    async with client(max_cost=max_cost) as c:
        with pytest.raises(JobAborted) as caught:
            await c.bulk_backlinks(domains(1000))
    assert isinstance(caught.value, BudgetExceeded)
    stats = caught.value.result.stats
    worst_case_per_call = 0.02 + 0.00003 * 1000
    booked = sum(worst_case_per_call if failure is unknown_cost_failure else 0.02 for _ in api.calls)
    assert booked <= max_cost  # what may have been billed, at worst
    assert stats.cost_usd <= max_cost
    assert len(api.calls) == stats.calls == (1 if failure is unknown_cost_failure else 2)
    assert len(caught.value.result.failed) == 1000  # every target accounted for


# --- 2. credentials never in an exception, a log line, a failure reason or a repr ----------
# Mutation: a network error's message includes the request's Authorization header.
def _texts_of(result: object, error: BaseException | None, caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = [caplog.text, *(r.getMessage() for r in caplog.records), repr(result)]
    failed = getattr(result, "failed", {})
    texts += [f"{f.reason} {f!r}" for f in failed.values()]
    if error is not None:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
        inner = getattr(error, "error", None)
        if inner is not None:
            texts += [str(inner), repr(inner), getattr(inner, "message", "")]
    return texts


def assert_no_secret(texts: list[str]) -> None:
    leaked = [(secret, text) for text in texts for secret in SECRETS if secret in text]
    assert not leaked, leaked[:1]


def raise_with_headers(exc_type: type[httpx.TransportError]):  # type: ignore[no-untyped-def]
    """A respx side effect raising a network error that carries the request (and its headers)."""

    def side_effect(request: httpx.Request) -> httpx.Response:
        raise exc_type(f"failed: {request.method} {request.url}", request=request)

    return side_effect


NETWORK_ERRORS = [httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout]


@pytest.mark.parametrize("exc_type", NETWORK_ERRORS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("through", ["transport", "http_client"])
async def test_network_errors_never_show_credentials(
    mocked: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    exc_type,
    through: str,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG)
    mocked.routes[0].side_effect = raise_with_headers(exc_type)
    async with httpx.AsyncClient() as http:
        own: dict[str, object] = {"http_client": http} if through == "http_client" else {}
        knobs = own or {"transport": httpx.AsyncHTTPTransport()}
        async with BulkClient(LOGIN, PASSWORD, max_retries=1, **knobs) as c:  # type: ignore[arg-type]
            stopped: JobAborted | None = None
            try:
                result = await c.bulk_backlinks(["a.com", "b.com"])
            except JobAborted as exc:  # a call that never connected: the API is out of reach
                stopped, result = exc, exc.result
    failure = result.failed["a.com"]
    if exc_type is httpx.ConnectError:
        assert stopped is not None and failure.kind is FailureKind.ABORTED
    else:
        assert stopped is None and failure.kind is FailureKind.RETRIES_EXHAUSTED
    assert failure.reason  # says what happened ...
    assert_no_secret(_texts_of(result, stopped, caplog))  # ... without the credentials


async def test_connection_refused_on_the_default_transport_never_shows_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with BulkClient(LOGIN, PASSWORD, base_url=f"http://127.0.0.1:{port}", max_retries=0) as c:
        result = await c.bulk_backlinks(["a.com"])
        client_repr = repr(c)
    assert result.failed["a.com"].kind is FailureKind.RETRIES_EXHAUSTED
    assert_no_secret([*_texts_of(result, None, caplog), client_repr])


ANSWERS = {
    "401": lambda t: envelope_error(40100, "You are not authorized.", http_status=401),
    "402": lambda t: envelope_error(40200, "Payment Required.", http_status=402),
    "permanent 40506": lambda t: task_error(40506, "Unknown Fields in POST Data."),
    "40501 split": lambda t: task_error(40501, "Invalid Field: 'targets'."),
    "retries exhausted 50000": lambda t: task_error(50000, "Internal Error."),
    "HTTP 503 html": lambda t: httpx.Response(503, text="Service Unavailable"),
    "malformed JSON": lambda t: httpx.Response(200, content=b'{"status_co'),
    "missing items": lambda t: ok(t, leave_out={"b.com"}),
}


@pytest.mark.parametrize("answer", list(ANSWERS.values()), ids=list(ANSWERS))
async def test_no_answer_puts_credentials_anywhere(
    api: FakeAPI,
    caplog: pytest.LogCaptureFixture,
    answer,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG)
    api.respond = lambda api, targets: answer(targets)
    error: BaseException | None = None
    result = None
    async with client(max_retries=1, max_cost=10.0) as c:
        client_repr = repr(c)
        try:
            result = await c.bulk_backlinks(["a.com", "b.com", "not a target"])
        except JobAborted as exc:
            error, result = exc, exc.result
    assert result is not None and result.failed  # something went wrong, and was described
    assert_no_secret([*_texts_of(result, error, caplog), client_repr, repr(result.stats)])


# --- 3. at most 64 extra calls per chunk bisecting a 40501 ---------------------------------
# Mutation: the split cap raised to 10**9 (847 calls for one chunk).
async def test_bisecting_a_40501_costs_at_most_64_extra_calls_per_chunk(api: FakeAPI) -> None:
    api.respond = lambda api, targets: task_error(40501, "Invalid Field: 'targets'.")
    targets = domains(1500)  # two chunks: 1000 + 500, every target refused
    async with client() as c:
        result = await c.bulk_backlinks(targets)
    assert not result and set(result.failed) == set(targets)
    assert all(f.kind is FailureKind.PERMANENT and f.code == 40501 for f in result.failed.values())
    by_chunk: dict[str, int] = {}
    for call in api.calls:
        root = call.tag.split(".")[0]
        by_chunk[root] = by_chunk.get(root, 0) + 1
    assert len(by_chunk) == 2
    # Each half is asked under its chunk's tag with ".l" or ".r" for left and right.
    assert all(re.fullmatch(r"[^.]+(\.[lr])*", call.tag) for call in api.calls), api.calls[1].tag
    assert {call.tag[-2:] for call in api.calls if "." in call.tag} == {".l", ".r"}
    # Each failure names the chunk it came from (a part of chunk 0 or 1, tag and all).
    assert {f.chunk.index for f in result.failed.values() if f.chunk} == {0, 1}
    assert all(f.chunk and f.chunk.tag.split(".")[0] in by_chunk for f in result.failed.values())
    # Every half of an all-bad chunk is refused again, so the cap is reached: 64 extra, not more
    # (and not fewer: the documented allowance is used before the targets are given up).
    assert all(calls == 1 + 64 for calls in by_chunk.values()), by_chunk
    assert result.stats.calls == len(api.calls)


# --- 4. max_retries bounds the attempts ----------------------------------------------------
# Mutation: max_retries= ignored (the default policy, 4 retries, used instead).
@pytest.mark.parametrize("max_retries", [0, 1, 2, 6])
async def test_max_retries_bounds_the_attempts_of_a_call(api: FakeAPI, max_retries: int) -> None:
    api.respond = lambda api, targets: task_error(50301, "3rd Party API Service Unavailable.")
    async with client(max_retries=max_retries) as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert len(api.calls) == max_retries + 1
    assert result.stats.calls == max_retries + 1 and result.stats.retries == max_retries
    failure = result.failed["a.com"]
    assert failure.kind is FailureKind.RETRIES_EXHAUSTED and failure.code == 50301
    assert f"{max_retries + 1} attempts" in failure.reason


async def test_max_retries_lets_a_call_succeed_on_its_last_allowed_attempt(api: FakeAPI) -> None:
    fail = lambda t: task_error(50000, "Internal Error.")  # noqa: E731
    api.respond = scripted(fail, fail, fail, ok)
    async with client(max_retries=3) as c:
        result = await c.bulk_backlinks(["a.com"])
    assert result["a.com"] == backlinks_of("a.com")
    assert result.stats.calls == 4 and result.stats.retries == 3


# --- 5. the on_retry hook sees every retry, with its details -------------------------------
# Mutation: the on_retry hook never called.
async def test_on_retry_sees_every_retry_with_its_details(
    api: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dataforseo_bulk")
    api.respond = scripted(
        lambda t: task_error(50000, "Internal Error."),
        lambda t: httpx.Response(503, text="Service Unavailable"),
        lambda t: envelope_error(40209, "Too many simultaneous queries."),
        ok,
    )
    seen: list[RetryDetails] = []
    async with client(on_retry=seen.append) as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert len(result) == 2
    assert len(seen) == result.stats.retries == 3
    assert [d.attempt for d in seen] == [1, 2, 3]
    assert [d.code for d in seen] == [50000, None, 40209]
    assert [d.http_status for d in seen] == [200, 503, 200]
    assert "Internal Error" in seen[0].message and "Too many simultaneous" in seen[2].message
    assert all(d.chunk.size == 2 and d.chunk.tag == api.calls[0].tag for d in seen)
    # Each wait is the one the job then kept before the next attempt (fake clock: exact).
    # ... and each is in the log too, with its chunk, wait, code and message.
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert len(retries) == 3
    assert retries[0] == f"retrying {seen[0].chunk} in {seen[0].wait:.2f}s after 50000: Internal Error."
    for details, before, after in zip(seen, api.calls, api.calls[1:], strict=False):
        assert details.wait > 0
        assert after.at - before.at == pytest.approx(details.wait, abs=0.01)


async def test_on_retry_sees_the_retries_of_every_chunk(api: FakeAPI) -> None:
    failed_once: set[str] = set()

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        if targets[0] not in failed_once:
            failed_once.add(targets[0])
            return task_error(50401, "Internal Error - Timeout.")
        return ok(targets)

    api.respond = respond
    seen: list[RetryDetails] = []
    async with client(chunk_size=10, on_retry=seen.append) as c:
        result = await c.bulk_backlinks(domains(50))
    assert len(result) == 50
    assert sorted(d.chunk.index for d in seen) == [0, 1, 2, 3, 4]
    assert all(d.code == 50401 and d.attempt == 1 for d in seen)
    assert result.stats.retries == 5
