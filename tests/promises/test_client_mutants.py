"""Tests for mutants of ``client.py`` that survived the suite (docs/testing.md, "Mutation
testing"): what the job methods' help says, the type named by a wrong argument's ``TypeError``,
the deadline of one call, ``params`` that would set ``targets`` or ``tag``, each job's call tags,
the ``clock`` hook. Through the public client, the API mocked by respx on looptime's fake clock.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from conftest import LOGIN, PASSWORD, FakeAPI, client, ok, scripted
from dataforseo_bulk import BULK_BACKLINKS, ENDPOINTS, BulkClient, ConfigurationError, Progress, RetryPolicy
from dataforseo_bulk.pacing import Clock

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]


JOB_METHODS = [*ENDPOINTS, "run", "stream"]  # a method per endpoint, named as it is


# client.py: every job method's help() ends with what every job takes and gives, after its own
# text ("one text for the nine methods, as help() and the docs show them").
@pytest.mark.parametrize("name", JOB_METHODS)
def test_each_job_method_s_help_says_what_it_does_then_what_every_job_takes_and_gives(name: str) -> None:
    doc = inspect.getdoc(getattr(BulkClient, name))
    assert doc is not None
    own = doc.index(doc.splitlines()[0])
    arguments = doc.index("* **targets** - the domains, subdomains and URLs")
    raises = doc.index("Raises :class:`JobAborted`")
    assert own == 0 < arguments < doc.index("* **on_progress** - *(optional)* called with") < raises
    assert doc.count("* **targets** -") == 1
    gives = "Returns a :class:`BulkResult`" if name != "stream" else "from the ``async with``, after"
    assert gives in doc
    assert "\n\n\n" not in doc  # one blank line between the method's text and the arguments
    assert "XX" not in doc


# The client's docstring: a bad argument raises TypeError "before any call", and the message
# names what was given, so the caller sees which argument is wrong.
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.bulk_backlinks("cnn.com"), "not one str (it would be read character by character)"),
        (lambda c: c.bulk_backlinks(b"cnn.com"), "not one bytes"),
        (lambda c: c.bulk_backlinks(["cnn.com"], checkpoint=3), "file name (str or path), not int"),
        (lambda c: c.run(3, ["cnn.com"]), "its name (e.g. 'bulk_ranks'), not int"),
    ],
    ids=["a str", "bytes", "an int checkpoint", "an int endpoint"],
)
async def test_a_wrong_argument_s_type_error_names_what_was_given(
    api: FakeAPI, call: Callable[[BulkClient], Awaitable[Any]], message: str
) -> None:
    async with client() as c:
        with pytest.raises(TypeError) as caught:
            await call(c)
    assert message in str(caught.value)
    assert api.calls == []


# README / BulkClient's docstring: "timeout - a deadline in seconds for the whole of one call
# (connect, send, wait, read) ... A call cut at the deadline may have been billed: it counts in
# stats.unknown_cost_calls and is retried."
async def test_a_call_is_cut_at_the_timeout_counted_as_of_unknown_cost_and_retried(api: FakeAPI) -> None:
    slow_then_quick = [60.0, 0.0]

    async def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        await anyio.sleep(slow_then_quick[len(api.calls) - 1])
        return ok(targets)

    api.respond = respond
    async with client(timeout=5, retry_policy=RetryPolicy.testing(max_retries=1)) as c:
        result = await c.bulk_backlinks(["a.com", "b.com"])
    assert sorted(result) == ["a.com", "b.com"]
    assert len(api.calls) == 2
    assert result.stats.unknown_cost_calls == 1
    assert result.stats.retries == 1


async def test_a_call_cut_at_the_timeout_with_no_retry_left_fails_its_targets_saying_so(
    api: FakeAPI,
) -> None:
    async def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        await anyio.sleep(60.0)
        return ok(targets)

    api.respond = respond
    async with client(timeout=5, max_retries=0) as c:
        result = await c.bulk_backlinks(["a.com"])
    assert dict(result) == {}
    assert "within the 5 s deadline" in result.failed["a.com"].reason
    assert result.stats.unknown_cost_calls == 1


# engine/endpoints: "targets and tag are the client's": the low-level job() refuses params that
# would set them, naming them, before any call.
@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"targets": ["x.com"]}, "['targets']"),
        ({"tag": "mine"}, "['tag']"),
        ({"tag": 1, "targets": 2}, "['tag', 'targets']"),
    ],
)
async def test_job_refuses_params_that_set_targets_or_tag(
    api: FakeAPI, params: dict[str, Any], named: str
) -> None:
    async with client() as c:
        with pytest.raises(ConfigurationError) as caught:
            c.job(BULK_BACKLINKS, lambda outcome: None, params=params)
    assert f"params may not set {named}: the client fills in targets and tag" in str(caught.value)
    assert api.calls == []


# docs/cli.md quotes a call's tag: "tag 'dfsb-206b1d54-3'": the job's id, then the chunk. Each
# job has its own id, so the API's logs tell two jobs' calls apart.
async def test_each_call_is_tagged_with_its_job_s_id_and_its_chunk(api: FakeAPI) -> None:
    async with client(chunk_size=2) as c:
        await c.bulk_backlinks(["a.com", "b.com", "c.com"])
        await c.bulk_backlinks(["d.com"])
    tags = [call.tag for call in api.calls]
    assert all(re.fullmatch(r"dfsb-[0-9a-f]{8}-\d+", tag) for tag in tags), tags
    first_job = {tag.rsplit("-", 1)[0] for tag in tags[:2]}
    second_job = {tag.rsplit("-", 1)[0] for tag in tags[2:]}
    assert len(first_job) == len(second_job) == 1 and first_job != second_job
    assert sorted(tag.rsplit("-", 1)[1] for tag in tags[:2]) == ["0", "1"]


# BulkClient's docstring: "clock - the time source of pacing and backoff; tests pass a fake one".
async def test_the_clock_hook_is_the_time_source_of_the_backoff(api: FakeAPI) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    api.respond = scripted(lambda t: httpx.Response(500, text="oops"), ok)
    async with client(clock=Clock(now=anyio.current_time, sleep=sleep)) as c:
        result = await c.bulk_backlinks(["a.com"])
    assert dict(result) == {"a.com": result["a.com"]} and not result.failed
    assert result.stats.retries == 1
    assert slept and slept[0] > 0  # the backoff's wait went through the given clock


# BulkClient's docstring: login and password default to the environment variables; each way
# of missing one says which and where to put it, before any call.
@pytest.mark.parametrize(
    ("login", "password", "message"),
    [
        (
            None,
            None,
            "no API credentials: pass login= and password= (from https://app.dataforseo.com/api-access)",
        ),
        (
            "me@example.com",
            None,
            "no API password for login 'me@example.com': pass password= or set DATAFORSEO_PASSWORD",
        ),
        (None, "secret-pw", "no API login to go with the password: pass login= or set DATAFORSEO_LOGIN"),
        ("", "", "no API credentials"),
    ],
    ids=["neither", "no password", "no login", "both empty"],
)
def test_missing_credentials_say_which_is_missing(
    monkeypatch: pytest.MonkeyPatch, login: str | None, password: str | None, message: str
) -> None:
    monkeypatch.delenv("DATAFORSEO_LOGIN", raising=False)
    monkeypatch.delenv("DATAFORSEO_PASSWORD", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        BulkClient(login, password)
    assert str(caught.value).startswith(message)
    assert "secret-pw" not in str(caught.value)


# "timeout - a deadline in seconds ... float > 0, or an httpx.Timeout ... connecting has its own
# 10 s limit": what the client's own httpx client hands its transport with each call.
@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, {"connect": 10.0, "read": 150.0, "write": 150.0, "pool": 150.0}),
        (30, {"connect": 10.0, "read": 30, "write": 30, "pool": 30}),
        (0.5, {"connect": 0.5, "read": 0.5, "write": 0.5, "pool": 0.5}),
    ],
    ids=["default", "30 s", "half a second"],
)
async def test_the_timeout_reaches_the_transport_with_its_own_connect_limit(
    seconds: float | None, expected: dict[str, float]
) -> None:
    seen: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        targets = json.loads(request.content)[0]["targets"]
        return ok(targets)

    knobs: dict[str, object] = {"transport": httpx.MockTransport(handle), "check_balance": False}
    if seconds is not None:
        knobs["timeout"] = seconds
    async with client(**knobs) as c:
        result = await c.bulk_backlinks(["a.com"])
    assert "a.com" in result
    assert seen[-1] == expected


@pytest.mark.parametrize("timeout", [True, "15", 0, -1.0, float("nan")])
def test_a_timeout_that_is_not_seconds_above_zero_is_refused(timeout: object) -> None:
    with pytest.raises(ConfigurationError, match=r"timeout=.*: give seconds > 0"):
        client(timeout=timeout)


# BulkClient's docstring: "max_concurrency ... above it [30] the extra calls are refused (40209),
# so a higher value is logged as a warning".
def test_a_cap_in_flight_above_the_api_s_is_logged_as_a_warning_saying_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="dataforseo_bulk")
    client(max_concurrency=30)
    assert not caplog.records
    client(max_concurrency=40)
    assert [r.getMessage() for r in caplog.records] == [
        "40 calls at once is more than the 30 the API allows: the extra calls are refused (40209) "
        "and the job slows down; use 30 or fewer unless your account allows more"
    ]
    assert caplog.records[0].levelno == logging.WARNING


# BulkClient's docstring: "Every argument is checked here, before any network call: a bad one
# raises ConfigurationError ... saying how to fix the call" (TypeError for a hook that is not a
# function). Each message whole, as the user reads it.
@pytest.mark.parametrize(
    ("knobs", "error", "message"),
    [
        (
            {"check_balance": "yes"},
            ConfigurationError,
            "check_balance='yes': give True (read the balance as a job starts, free) or False "
            "(credentials without access to it, or no cap wanted)",
        ),
        ({"on_progress": 3}, TypeError, "on_progress must be a function (or None), not int"),
        ({"on_retry": "print"}, TypeError, "on_retry must be a function (or None), not str"),
        (
            {"cache": "results.sqlite"},
            ConfigurationError,
            "cache= needs max_age=: how old a cached answer may be to answer a target, e.g. "
            "max_age=timedelta(days=7) or max_age=3600 (seconds); 0 buys every answer again",
        ),
        (
            {"max_age": 60},
            ConfigurationError,
            "max_age=60 without cache=: give cache='results.sqlite' too, or drop max_age",
        ),
    ],
    ids=["check_balance", "on_progress", "on_retry", "cache without max_age", "max_age without cache"],
)
def test_a_bad_knob_s_message_says_how_to_fix_the_call(
    knobs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        client(**knobs)
    assert str(caught.value) == message


async def test_http_client_and_transport_together_are_refused_saying_why(api: FakeAPI) -> None:
    async with httpx.AsyncClient() as own:
        with pytest.raises(ConfigurationError) as caught:
            client(http_client=own, transport=httpx.MockTransport(lambda request: httpx.Response(500)))
    assert str(caught.value) == "give http_client= or transport=, not both (a client has its own transport)"
    assert api.calls == []


# BulkClient's docstring: "on_progress - called with a Progress after every chunk of every job
# (a job method's own on_progress takes precedence)".
async def test_the_client_s_on_progress_sees_every_chunk_of_every_job_unless_the_job_has_its_own(
    api: FakeAPI,
) -> None:
    seen: list[Progress] = []
    own: list[Progress] = []
    async with client(on_progress=seen.append, chunk_size=2) as c:
        await c.bulk_backlinks(["a.com", "b.com", "c.com"])
        await c.bulk_backlinks(["d.com"])
        await c.bulk_backlinks(["e.com"], on_progress=own.append)
    assert len(seen) == 3 and len(own) == 1
    assert seen[1].targets_done == 3 and seen[2].targets_done == 1  # each job counts its own


class _Transport(httpx.AsyncBaseTransport):
    """Answers every call; remembers whether it was closed."""

    closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return ok(json.loads(request.content)[0]["targets"])

    async def aclose(self) -> None:
        self.closed = True


# BulkClient's docstring: "Use it as an async context manager (or call aclose): it closes the
# connections it opened"; "http_client - your own httpx.AsyncClient ... used as it is and left open".
async def test_the_client_closes_what_it_opened_and_leaves_the_caller_s_client_open() -> None:
    transport = _Transport()
    async with client(transport=transport, check_balance=False) as c:
        assert "a.com" in await c.bulk_backlinks(["a.com"])
    assert transport.closed
    theirs = _Transport()
    async with httpx.AsyncClient(transport=theirs) as own:
        async with client(http_client=own, check_balance=False) as c:
            assert "a.com" in await c.bulk_backlinks(["a.com"])
        assert not own.is_closed and not theirs.closed
        assert (await own.post("https://api.dataforseo.com/v3/x", json=[{"targets": ["b.com"]}])).is_success


# BulkClient's docstring: "base_url - where the API is ... http:// only on loopback (an
# emulator), so that credentials never travel in clear": a refused one says why and what to give;
# a trailing slash is no mistake.
@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        (
            "http://api.dataforseo.com",
            "base_url='http://api.dataforseo.com': plain http would send your credentials in clear; "
            "use https://, or http:// only on loopback (127.0.0.1, localhost) for the emulator",
        ),
        ("https://[::1", "base_url='https://[::1' is not a URL (Invalid port: ':1')"),
    ],
    ids=["plain http", "not a URL"],
)
def test_a_refused_base_url_says_why_and_what_to_give(base_url: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        client(base_url=base_url)
    assert str(caught.value).startswith(message)


async def test_a_base_url_with_a_trailing_slash_reaches_the_same_endpoint(api: FakeAPI) -> None:
    async with client(base_url="https://api.dataforseo.com/") as c:
        result = await c.bulk_backlinks(["a.com"])
    assert c.base_url == "https://api.dataforseo.com"
    assert "a.com" in result and len(api.calls) == 1


# docs/scaling.md: "every client of the same account (same API base URL, same login) on the same
# Redis shares" the limits; keys are "dataforseo-bulk:{H}:NAME", H a hash of the base URL and
# the login: another login, or another API, is another account with its own schedule.
@pytest.mark.looptime(False)
async def test_shared_limits_are_per_account_base_url_and_login(tmp_path: Path) -> None:
    from shared.redis_server import RedisServer

    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    try:
        accounts = [
            (LOGIN, "https://api.dataforseo.com"),
            ("other@example.com", "https://api.dataforseo.com"),
            (LOGIN, "https://sandbox.dataforseo.com"),
        ]
        for login, base_url in accounts:
            with respx.mock(assert_all_called=False) as router:
                router.post(url__regex=r".*/live$").mock(
                    side_effect=lambda r: ok(json.loads(r.content)[0]["targets"])
                )
                async with BulkClient(
                    login, PASSWORD, base_url=base_url, shared_limits=server.url, check_balance=False
                ) as c:
                    assert "a.com" in await c.bulk_backlinks(["a.com"])
        with server.client() as probe:
            schedules = {key for key in probe.scan_iter("dataforseo-bulk:*:schedule")}
        assert len(schedules) == 3
    finally:
        server.stop()


def test_of_several_errors_the_first_is_raised_with_the_group_as_its_cause() -> None:
    # What a caller of bulk_*() / stream() gets when a job's task groups wrap more than one error.
    from dataforseo_bulk.client import _one_error

    first, second = ValueError("bad item"), RuntimeError("hook failed")
    group = BaseExceptionGroup("job", [first, ExceptionGroup("inner", [second])])

    def raise_as_the_client_does() -> None:
        error = _one_error(group)
        raise error from error.__cause__

    with pytest.raises(ValueError, match="bad item") as caught:
        raise_as_the_client_does()
    assert caught.value is first
    assert caught.value.__cause__ is group

    alone = KeyError("k")
    alone.__cause__ = OSError("why")
    assert _one_error(BaseExceptionGroup("job", [alone])).__cause__.args == ("why",)
