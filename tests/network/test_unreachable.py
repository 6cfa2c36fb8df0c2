"""A job that never reaches the API stops within 30 s, on the default retry policy (fake clock)."""

from __future__ import annotations

import anyio
import httpx
import pytest
import respx

from dataforseo_bulk import APIUnreachable, BulkClient, FailureKind

URL = "https://api.dataforseo.com/v3/backlinks/bulk_backlinks/live"

pytestmark = pytest.mark.looptime


async def test_a_host_that_never_answers_a_connect_stops_the_job_within_30_seconds() -> None:
    async def blackhole(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(10)  # the default connect timeout, on the fake clock
        raise httpx.ConnectTimeout("timed out")

    targets = [f"site{i}.com" for i in range(5000)]
    with respx.mock() as router:
        route = router.post(URL).mock(side_effect=blackhole)
        async with BulkClient("login", "password") as c:  # the default retry policy and timeouts
            with pytest.raises(APIUnreachable, match=r"api\.dataforseo\.com:443: ConnectTimeout") as caught:
                await c.bulk_backlinks(targets)
    stats = caught.value.result.stats
    assert stats.elapsed < 30
    assert (stats.calls, stats.unknown_cost_calls, stats.cost_usd) == (0, 0, 0.0)
    assert route.call_count <= 2 * 5  # each chunk tried at most twice: no chunk-by-chunk grind
    assert len(caught.value.result.failed) == len(targets)
    assert {f.kind for f in caught.value.result.failed.values()} == {FailureKind.ABORTED}
