"""A slot freed by an answer is refilled before that answer's bookkeeping (spare workers).

The engine runs a few more workers than calls may be in flight; each spare one waits for a slot
with its next call ready. So with one call allowed in flight, the second call is already out
when the first answer's outcome is handed over, and still only one call is ever in flight.
"""

from __future__ import annotations

import pytest

from conftest import LOGIN, PASSWORD, FakeAPI, backlinks_of
from dataforseo_bulk import BulkClient, Progress, RetryPolicy

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]


async def test_next_call_is_out_before_the_previous_answer_is_handed_over(api: FakeAPI) -> None:
    api.latency = 1.0
    targets = [f"site{i}.example.com" for i in range(50)]
    calls_sent_at_outcome: list[int] = []

    def on_progress(progress: Progress) -> None:
        calls_sent_at_outcome.append(len(api.calls))

    async with BulkClient(
        LOGIN,
        PASSWORD,
        chunk_size=10,
        max_concurrency=1,
        retry_policy=RetryPolicy.testing(),
    ) as client:
        result = await client.bulk_backlinks(targets, on_progress=on_progress)

    assert dict(result) == {t: backlinks_of(t) for t in targets}
    assert api.peak_in_flight == 1  # the spare worker waits for the slot; the cap holds
    # Outcome k (of 5) is handed over when call k + 1 is already out, until none is left.
    assert calls_sent_at_outcome == [2, 3, 4, 5, 5]
