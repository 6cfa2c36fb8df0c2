"""Pacing holds the account's limits and uses them: the client against the emulator in-process,
both on looptime's fake clock, so the measured rate is the pacing's own and no machine's speed.

Same scene as tests/loopback/test_pacing.py (which checks the same over real sockets, without
timing): the emulator refuses a call over its rate (40202) or its cap in flight (40209).
Catches a start-of-job burst, a window that holds one call too many, a slot released early,
and pacing so cautious that it wastes the account's rate (under 95 % of the bound here).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dataforseo_bulk import BulkClient
from dataforseo_bulk.emulator import (
    DEFAULT_LOGIN,
    DEFAULT_PASSWORD,
    EmulatorConfig,
    Ledger,
    asgi_transport,
    create_app,
    expected_backlinks,
)

pytestmark = pytest.mark.looptime

RATE_LIMIT = 2000  # the real account's limits, not scaled: the clock is fake
RATE_PERIOD = 60.0
MAX_CONCURRENCY = 30


@pytest.mark.parametrize("latency_ms", [50, 3000], ids=["rate binds", "cap in flight binds"])
async def test_the_client_holds_the_accounts_limits_and_uses_them(tmp_path: Path, latency_ms: int) -> None:
    loop = asyncio.get_running_loop()
    config = EmulatorConfig(
        rate_limit=RATE_LIMIT,
        rate_period=RATE_PERIOD,
        max_concurrency=MAX_CONCURRENCY,
        latency_ms=latency_ms,
        jitter_ms=latency_ms // 2,
        seed=7,
    )
    ledger = Ledger(tmp_path / "ledger.sqlite")
    app = create_app(config, ledger, clock=loop.time)
    calls = 600 if latency_ms < 1000 else 300
    targets = [f"paced{i}.com" for i in range(calls)]
    try:
        async with BulkClient(
            DEFAULT_LOGIN, DEFAULT_PASSWORD, base_url="http://127.0.0.1", transport=asgi_transport(app),
            chunk_size=1, rate_limit=RATE_LIMIT, rate_period=RATE_PERIOD, max_concurrency=MAX_CONCURRENCY,
        ) as client:  # fmt: skip
            result = await client.bulk_backlinks(targets)
        records = ledger.calls()
    finally:
        ledger.close()

    codes = {(call.envelope_code, *call.task_codes) for call in records}
    assert codes == {(20000, 20000)}, f"the client provoked {codes - {(20000, 20000)}}"
    assert len(records) == result.stats.calls == calls and result.stats.retries == 0
    assert dict(result) == {t: expected_backlinks(t) for t in targets}

    times = sorted(call.monotonic for call in records)
    if latency_ms < 1000:
        # The rate binds: over the run, at least 95 % of 2000 calls a minute (after the first
        # window, which may not be a burst), and never more than 2000 in any 60 s.
        achieved = (len(times) - 1) / (times[-1] - times[0]) * RATE_PERIOD
        assert 0.95 * RATE_LIMIT <= achieved <= RATE_LIMIT, f"{achieved:.0f} calls a minute"
    else:
        # ~3 s a call, 30 at once: the cap binds, about 10 calls a second; it is used.
        achieved = (len(times) - 1) / (times[-1] - times[0])
        assert achieved >= 0.9 * MAX_CONCURRENCY / (latency_ms / 1000 * 1.25), f"{achieved:.1f} calls/s"
