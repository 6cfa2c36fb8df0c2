"""Pacing against an emulator with the same limits as the client, time-scaled: 80 calls per 4 s,
5 at once (the real account: 2000 per 60 s, 30 at once), 100 calls in ~5 s.

Catches: a start-of-job burst or a leaky bucket that lets a window hold more than the limit
(the emulator answers 40202); a slot in flight released too early or taken twice (40209);
(Whether pacing wastes the rate is measured on the fake clock:
tests/promises/test_pacing_on_the_fake_clock.py.)

Why 80 per 4 s and not 40 per 2 s: the client spaces calls ``period * 1.005 / limit`` apart,
a margin of 0.5 % of the period for transit jitter (300 ms at 60 s, but 10 ms at 2 s). Over
loopback, in one event loop, the time from a call's slot to the emulator's admission varies by
up to ~15 ms (the first calls open their connections), so at 2 s the emulator refuses a call
with 40202 in some runs. At 4 s the margin is 20 ms. The rate is the same 20 calls/s.
"""

from __future__ import annotations

import pytest

from dataforseo_bulk.emulator import EmulatorConfig, Ledger, expected_backlinks, serve

from . import client

pytestmark = pytest.mark.loopback

RATE_LIMIT = 80
RATE_PERIOD = 4.0
MAX_CONCURRENCY = 5
CALLS = 100  # more than one window holds (80): the window slides over the run
CHUNK = 4


async def test_the_client_holds_the_emulators_limits_and_uses_them(ledger: Ledger) -> None:
    config = EmulatorConfig(
        rate_limit=RATE_LIMIT,
        rate_period=RATE_PERIOD,
        max_concurrency=MAX_CONCURRENCY,
        # 50-250 ms: five in flight carry ~25 calls/s on average, so the rate is what binds,
        # but slow answers bunch up now and then and the cap in flight is reached too.
        latency_ms=150,
        jitter_ms=100,
        seed=7,
    )
    targets = [f"paced{i}.com" for i in range(CALLS * CHUNK)]
    async with (
        serve(config, ledger=ledger) as url,
        client(
            url,
            rate_limit=RATE_LIMIT,
            rate_period=RATE_PERIOD,
            max_concurrency=MAX_CONCURRENCY,
            chunk_size=CHUNK,
        ) as bulk,
    ):
        result = await bulk.bulk_backlinks(targets)

    calls = ledger.calls()
    codes = {(call.envelope_code, *call.task_codes) for call in calls}
    assert codes == {(20000, 20000)}, f"the client provoked {codes - {(20000, 20000)}}"
    assert len(calls) == CALLS
    assert result.stats.calls == CALLS and result.stats.retries == 0
    assert not result.failed and dict(result) == {t: expected_backlinks(t) for t in targets}

    # That the pacing also *uses* the rate (no more cautious than needed) is measured on the
    # fake clock, where no machine's speed blurs it: tests/promises/test_pacing_on_the_fake_clock.py.
