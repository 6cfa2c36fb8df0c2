"""The public surface as a new user meets it: wrong arguments fail at once with the one documented
error (never a task-group wrapper, never a call), endpoints by name, readable reprs, and the
warning above the API's 30 calls at once. The API is mocked by respx; the job runs on a fake clock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from conftest import FakeAPI, backlinks_of, envelope_error, scripted
from dataforseo_bulk import (
    BULK_BACKLINKS,
    BULK_PAGES_SUMMARY,
    BULK_RANKS,
    ENDPOINTS,
    AccountRefused,
    BulkClient,
    ConfigurationError,
    FatalAnswer,
    FatalAPIError,
    JobAborted,
    JobStats,
    estimate_cost,
)
from test_client_core import client

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]


# --- targets that are not a list of strings -------------------------------------------------
NOT_TARGETS = [
    pytest.param("cnn.com", "wrap it in a list", id="str"),
    pytest.param(b"cnn.com", "wrap it in a list", id="bytes"),
    pytest.param(None, "not NoneType", id="None"),
    pytest.param(5, "not int", id="int"),
]


@pytest.mark.parametrize(("targets", "says"), NOT_TARGETS)
async def test_a_str_or_a_non_iterable_is_a_type_error_before_any_call(
    api: FakeAPI, targets: object, says: str
) -> None:
    async with client() as c:
        with pytest.raises(TypeError, match=says):
            await c.bulk_backlinks(targets)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=says):
            await c.run("bulk_ranks", targets)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=says):
            c.stream(targets)  # type: ignore[call-overload]
    assert not api.calls


async def test_an_error_from_the_callers_iterable_comes_out_as_itself(api: FakeAPI) -> None:
    def lines() -> Iterator[str]:
        yield "a.com"
        raise OSError("disk gone")

    async with client() as c:
        with pytest.raises(OSError, match="disk gone"):
            await c.bulk_backlinks(lines())
        with pytest.raises(OSError, match="disk gone"):
            async with c.stream(lines()) as outcomes:
                async for _ in outcomes:
                    pass


async def test_an_error_from_an_async_iterable_or_a_hook_comes_out_as_itself(api: FakeAPI) -> None:
    async def targets() -> AsyncIterator[str]:
        yield "a.com"
        raise LookupError("no more rows")

    def broken_hook(progress: object) -> None:
        raise RuntimeError("my progress bar broke")

    async with client() as c:
        with pytest.raises(LookupError, match="no more rows"):
            await c.bulk_backlinks(targets())
        with pytest.raises(RuntimeError, match="my progress bar broke"):
            await c.bulk_backlinks(["a.com"], on_progress=broken_hook)


# --- endpoints by name -----------------------------------------------------------------------
async def test_run_takes_the_apis_function_name(api: FakeAPI) -> None:
    async with client() as c:
        result = await c.run("bulk_backlinks", ["a.com", "b.com"])
        async with c.stream(["c.com"], endpoint="bulk_backlinks") as outcomes:
            streamed = {t: v for outcome in [o async for o in outcomes] for t, v in outcome.values.items()}
    assert dict(result) == {"a.com": backlinks_of("a.com"), "b.com": backlinks_of("b.com")}
    assert streamed == {"c.com": backlinks_of("c.com")}


async def test_an_unknown_endpoint_name_lists_the_names_before_any_call(api: FakeAPI) -> None:
    async with client() as c:
        with pytest.raises(ConfigurationError, match=r"bulk_backlink'.*bulk_backlinks, bulk_ranks"):
            await c.run("bulk_backlink", ["a.com"])
        with pytest.raises(TypeError, match=r"Endpoint .* or its name"):
            await c.run(42, ["a.com"])  # type: ignore[call-overload]
    assert not api.calls


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_every_endpoint_repr_names_it(name: str) -> None:
    text = repr(ENDPOINTS[name])
    assert text.startswith(f"<Endpoint {name} /v3/backlinks/{name}/live")
    assert "function" not in text and "lambda" not in text


def test_endpoint_reprs_say_what_the_value_is() -> None:
    assert repr(BULK_RANKS) == "<Endpoint bulk_ranks /v3/backlinks/bulk_ranks/live -> rank>"
    assert repr(BULK_PAGES_SUMMARY).endswith("-> PagesSummaryItem>")
    assert repr(BULK_BACKLINKS).endswith("-> backlinks>")


# --- reprs -----------------------------------------------------------------------------------
def test_job_stats_repr_rounds_money_and_time() -> None:
    stats = JobStats(targets=3, ok=3, calls=1, cost_usd=0.020090000000000003, elapsed=3.14159265)
    assert "cost_usd=0.02009," in repr(stats)
    assert "elapsed=3.14)" in repr(stats)
    assert "unknown_cost_calls=0" in repr(stats) and "resumed=0" in repr(stats)


# --- the exception a user catches --------------------------------------------------------------
async def test_a_refused_account_is_account_refused_a_job_aborted(api: FakeAPI) -> None:
    api.respond = scripted(lambda t: envelope_error(40100, "You are not authorized.", http_status=401))
    async with client() as c:
        with pytest.raises(AccountRefused) as caught:
            await c.bulk_backlinks(["a.com"])
    assert isinstance(caught.value, JobAborted)
    assert isinstance(caught.value.error, FatalAPIError) and caught.value.error.status_code == 40100
    assert caught.value.result is not None and "a.com" in caught.value.result.failed
    assert FatalAnswer is AccountRefused  # the old name still imports and catches it


# --- knobs -----------------------------------------------------------------------------------
def test_concurrency_above_the_apis_30_is_accepted_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dataforseo_bulk"):
        client(max_concurrency=40)
    [warning] = [r for r in caplog.records if r.name == "dataforseo_bulk"]
    assert "40 calls at once" in warning.getMessage() and "30" in warning.getMessage()


def test_thirty_at_once_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dataforseo_bulk"):
        client(max_concurrency=30)
    assert not caplog.records


@pytest.mark.parametrize(
    "method",
    [BulkClient.__init__, BulkClient.bulk_backlinks, BulkClient.run, BulkClient.stream],
    ids=lambda m: m.__name__,
)
def test_public_docstrings_document_every_knob(method: Callable[..., Any]) -> None:
    import inspect

    doc = inspect.getdoc(BulkClient if method is BulkClient.__init__ else method) or ""
    parameters = [p for p in inspect.signature(method).parameters if p != "self"]
    assert parameters
    for name in parameters:
        assert f"**{name}**" in doc, f"{method.__name__} does not document {name}"


def test_the_clock_is_a_marked_testing_hook_not_a_default_object() -> None:
    import inspect

    clock = inspect.signature(BulkClient).parameters["clock"]
    assert clock.default is None
    assert "testing hook" in (BulkClient.__doc__ or "")


@pytest.mark.parametrize("count", [None, "1000", 2.5, True])
def test_estimate_cost_wants_a_count(count: object) -> None:
    with pytest.raises(TypeError, match="n_targets must be an int"):
        estimate_cost(count)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"params": ["rank_scale"]}, "params must be a dict"),
        ({"checkpoint": 5}, "checkpoint must be a file name"),
        ({"on_progress": 5}, "on_progress must be a function"),
    ],
    ids=["params", "checkpoint", "on_progress"],
)
async def test_other_job_arguments_of_the_wrong_kind_fail_before_any_call(
    api: FakeAPI, arguments: dict[str, object], says: str
) -> None:
    async with client() as c:
        with pytest.raises(TypeError, match=says):
            await c.run("bulk_backlinks", ["a.com"], **arguments)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=says):
            c.stream(["a.com"], **arguments)  # type: ignore[call-overload]
    assert not api.calls


def test_a_hook_that_is_not_a_function_fails_at_construction() -> None:
    with pytest.raises(TypeError, match="on_retry must be a function"):
        client(on_retry="print")
