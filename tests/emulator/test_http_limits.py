"""Rate window and concurrency refusals through the app, on a fake clock."""

from __future__ import annotations

import anyio
import pytest

from dataforseo_bulk.emulator import EmulatorConfig, Ledger

from .helpers import BACKLINKS, FakeClock, emulator_client

# The emulator's latency sleeps on the loop's clock: looptime's fake one here, so a 50 ms latency
# takes no real time and no machine is too slow to start five calls inside it.
pytestmark = pytest.mark.looptime


async def test_rate_window_refuses_with_40202_at_no_cost(ledger: Ledger) -> None:
    clock = FakeClock()
    config = EmulatorConfig(rate_limit=3, rate_period=60.0)
    async with emulator_client(config, ledger=ledger, clock=clock) as client:
        codes = []
        for _ in range(5):
            answer = (await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])).json()
            codes.append(answer["status_code"])
        refused = answer
        clock.advance(59.0)
        codes.append((await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])).json()["status_code"])
        clock.advance(1.0)
        codes.append((await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])).json()["status_code"])
    assert codes == [20000, 20000, 20000, 40202, 40202, 40202, 20000]
    assert refused["status_message"] == "The rate-limit per minute has been exceeded."
    assert refused["tasks"] == [] and refused["cost"] == 0
    assert ledger.charged_counts() == {"a.com": 4}


async def test_calls_refused_before_the_window_do_not_count() -> None:
    config = EmulatorConfig(rate_limit=1)
    async with emulator_client(config) as client:
        assert (await client.post(BACKLINKS, content=b"")).json()["status_code"] == 40502
        assert (await client.post(BACKLINKS, content=b"{")).json()["status_code"] == 40503
        assert (await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])).json()["status_code"] == 20000
        assert (await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])).json()["status_code"] == 40202


async def test_concurrency_refuses_with_40209() -> None:
    config = EmulatorConfig(max_concurrency=2, latency_ms=50)
    codes: list[int] = []
    async with emulator_client(config) as client:

        async def call() -> None:
            answer = (await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])).json()
            codes.append(answer["status_code"])
            if answer["status_code"] == 40209:
                assert answer["status_message"] == "Too many simultaneous queries."
                assert answer["cost"] == 0 and answer["tasks"] == []

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(call)
        # The slots are free again once the calls are answered.
        assert (await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])).json()["status_code"] == 20000
    assert sorted(codes) == [20000, 20000, 40209, 40209, 40209]


async def test_latency_with_jitter_stays_in_bounds() -> None:
    config = EmulatorConfig(latency_ms=20, jitter_ms=10, seed=1)
    delays = []
    async with emulator_client(config) as client:
        for _ in range(20):
            started = anyio.current_time()
            await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])
            delays.append(anyio.current_time() - started)
    assert all(0.010 - 1e-6 <= delay <= 0.030 + 1e-6 for delay in delays), delays
    assert max(delays) - min(delays) > 0.005  # jittered, not a constant 20 ms
