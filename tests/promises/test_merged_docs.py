"""Promises the merged branches made in docs/ that no other test held (docs/testing.md's table).

Through the public client only, with the API mocked by respx on looptime's fake clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import LOGIN, PASSWORD, FakeAPI, backlinks_of, envelope
from dataforseo_bulk import BalanceExhausted, BulkClient, RetryPolicy

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]

TARGETS = [f"s{i}.com" for i in range(1001)]  # 2 calls: $0.04 + 1001 x $0.00003 = $0.07003


def client(**knobs: Any) -> BulkClient:
    return BulkClient(LOGIN, PASSWORD, retry_policy=RetryPolicy.testing(), **knobs)


async def test_resuming_a_checkpoint_skips_the_balance_check_what_it_holds_is_free(
    api: FakeAPI, tmp_path: Path
) -> None:
    """docs/jobs.md, the balance: "When resuming an existing checkpoint this check is skipped,
    since what the checkpoint holds costs nothing." """
    checkpoint = tmp_path / "job.sqlite"
    async with client() as c:
        first = await c.bulk_backlinks(TARGETS, checkpoint=checkpoint)
    assert len(first) == len(TARGETS) and len(api.calls) == 2
    # The account is now empty; the same list without the checkpoint is refused ...
    api.balance = 0.0
    async with client() as c:
        with pytest.raises(BalanceExhausted):
            await c.bulk_backlinks(TARGETS)
        # ... but resumed, it is answered from the checkpoint, free, with no call.
        again = await c.bulk_backlinks(TARGETS, checkpoint=checkpoint)
    assert dict(again) == {target: backlinks_of(target) for target in TARGETS}
    assert again.stats.resumed == len(TARGETS) and again.stats.calls == 0
    assert len(api.calls) == 2


async def test_a_no_data_answer_is_cached_and_not_bought_again(api: FakeAPI, tmp_path: Path) -> None:
    """docs/jobs.md, the results cache: '"No data" answers the API gives as an item are answers
    and are cached.'"""

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        items = [{"target": t, "backlinks": None if t == "b.com" else backlinks_of(t)} for t in targets]
        return httpx.Response(200, json=envelope(items=items))

    api.respond = respond
    cache = tmp_path / "results.sqlite"
    async with client(cache=cache, max_age=3600) as c:
        first = await c.bulk_backlinks(["a.com", "b.com"])
        again = await c.bulk_backlinks(["b.com", "a.com"])
    assert dict(first) == dict(again) == {"a.com": backlinks_of("a.com"), "b.com": None}
    assert (again.stats.cached, again.stats.calls, len(api.calls)) == (2, 0, 1)
    assert not again.failed
