"""Null values and empty results are the API's "no data": answers, never bad items, never re-bought."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import LOGIN, PASSWORD, FakeAPI, backlinks_of, envelope, ok, scripted
from dataforseo_bulk import BULK_PAGES_SUMMARY, BulkClient, FailureKind, RetryPolicy
from dataforseo_bulk.emulator import EmulatorConfig, asgi_transport, create_app

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]


def client(**knobs: Any) -> BulkClient:
    policy = RetryPolicy.testing()
    return BulkClient(LOGIN, PASSWORD, retry_policy=policy, **knobs)


def with_nulls(nulls: set[str]) -> Any:
    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        items = [{"target": t, "backlinks": backlinks_of(t) if t not in nulls else None} for t in targets]
        return httpx.Response(200, json=envelope(items=items))

    return respond


async def test_a_null_count_is_a_none_value_not_a_bad_item(api: FakeAPI) -> None:
    api.respond = with_nulls({"b.com"})
    async with client() as c:
        result = await c.bulk_backlinks(["a.com", "b.com", "c.com"])
    assert dict(result) == {"a.com": backlinks_of("a.com"), "b.com": None, "c.com": backlinks_of("c.com")}
    assert not result.failed
    assert len(api.calls) == 1  # not asked again


async def test_a_null_answer_in_a_checkpoint_is_not_bought_again(api: FakeAPI, tmp_path: Path) -> None:
    api.respond = with_nulls({"b.com"})
    checkpoint = tmp_path / "job.sqlite"
    async with client() as c:
        await c.bulk_backlinks(["a.com", "b.com"], checkpoint=checkpoint)
        again = await c.bulk_backlinks(["a.com", "b.com"], checkpoint=checkpoint)
    assert again["b.com"] is None and again.stats.resumed == 2
    assert len(api.calls) == 1


def empty(result: Any) -> Any:
    def answer(targets: list[str]) -> httpx.Response:
        body = envelope(items=[], cost=0.02)
        body["tasks"][0]["result"] = result
        return httpx.Response(200, json=body)

    return answer


@pytest.mark.parametrize("result", [None, []])
async def test_an_empty_result_is_asked_once_more_then_answered_without_data(
    api: FakeAPI, result: Any, tmp_path: Path
) -> None:
    api.respond = scripted(empty(result))
    checkpoint = tmp_path / "job.sqlite"
    async with client() as c:
        first = await c.bulk_backlinks(["a.com", "b.com"], checkpoint=checkpoint)
        assert len(api.calls) == 2  # one more call, not max_retries more
        assert {t: f.kind for t, f in first.failed.items()} == {
            "a.com": FailureKind.NO_DATA,
            "b.com": FailureKind.NO_DATA,
        }
        assert "without data" in first.failed["a.com"].reason
        again = await c.bulk_backlinks(["a.com", "b.com"], checkpoint=checkpoint)
    assert len(api.calls) == 2  # the rerun does not buy it again
    assert again.failed["a.com"].kind is FailureKind.NO_DATA


async def test_an_empty_result_then_data_is_the_data(api: FakeAPI) -> None:
    api.respond = scripted(empty(None), ok)
    async with client() as c:
        result = await c.bulk_backlinks(["a.com"])
    assert dict(result) == {"a.com": backlinks_of("a.com")} and len(api.calls) == 2


async def test_pages_summary_outcomes_carry_the_apis_total_count() -> None:
    app = create_app(EmulatorConfig())
    targets = ["a.com", "b.com", "https://a.com/page"]
    async with (
        BulkClient("emulator", "emulator-password", transport=asgi_transport(app)) as c,
        c.stream(targets, endpoint=BULK_PAGES_SUMMARY) as outcomes,
    ):
        counted = [outcome.total_count async for outcome in outcomes if outcome.chunk is not None]
    assert counted == [3]
