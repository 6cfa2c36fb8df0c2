"""Two "processes" (two pacers, two accounts objects) on one fake Redis, on a fake loop clock
(looptime; the scripts are handed the loop's time instead of Redis's): what one client of the
account does is seen by the other. The same with real processes: ``test_processes.py``."""

from __future__ import annotations

import bisect

import anyio
import fakeredis
import pytest

from dataforseo_bulk.pacing import LOOP_CLOCK, Clock
from dataforseo_bulk.shared_limits import SharedAccount, SharedLimits, SharedPacer

pytestmark = pytest.mark.looptime


def pacers(
    count: int, *, rate: tuple[int, float] = (60, 60.0), cap: int = 30, clock: Clock = LOOP_CLOCK
) -> list[SharedPacer]:
    server = fakeredis.FakeServer()
    made = []
    for _ in range(count):
        limits = SharedLimits("redis://127.0.0.1:1/0", lease_seconds=3.0)
        account = SharedAccount(limits, base_url="x", login="me")
        account.redis = fakeredis.FakeAsyncRedis(server=server)
        made.append(
            SharedPacer(
                account,
                rate_limit=rate[0],
                rate_period=rate[1],
                max_concurrency=cap,
                clock=clock,
                redis_clock=clock,
            )
        )
    return made


def max_in_any_window(times: list[float], period: float) -> int:
    times = sorted(times)
    return max(bisect.bisect_left(times, t + period) - i for i, t in enumerate(times))


async def test_two_processes_keep_one_schedule() -> None:
    limit, period = 20, 10.0
    admitted: list[float] = []

    async def caller(pacer: SharedPacer) -> None:
        async with pacer.slot():
            admitted.append(anyio.current_time())

    both = pacers(2, rate=(limit, period))
    async with both[0].running(), both[1].running(), anyio.create_task_group() as tg:
        for i in range(60):
            tg.start_soon(caller, both[i % 2])

    assert len(admitted) == 60
    assert max_in_any_window(admitted, period) <= limit
    # As fast as the shared grid allows: 60 calls one (10 s + 150 ms) / 20 apart.
    assert max(admitted) - min(admitted) <= 59 * (period + 0.15) / limit + 1e-3


async def test_a_pause_in_one_process_holds_the_other() -> None:
    first, second = pacers(2)  # one call a second
    async with first.running(), second.running():
        async with second.slot():
            pass
        start = anyio.current_time()
        first.rate.pause(15.0)  # first was answered 40202
        await anyio.sleep(0.01)  # the pause reaches Redis
        async with second.slot():
            waited = anyio.current_time() - start
    assert waited >= 15.0


async def test_the_cap_in_flight_is_one_for_both_and_a_shrink_lowers_it_for_both() -> None:
    first, second = pacers(2, rate=(100_000, 1.0), cap=6)
    in_flight = peak = 0

    async def call(pacer: SharedPacer, seconds: float) -> None:
        nonlocal in_flight, peak
        async with pacer.slot():
            in_flight += 1
            peak = max(peak, in_flight)
            await anyio.sleep(seconds)
            in_flight -= 1

    async with first.running(), second.running():
        async with anyio.create_task_group() as tg:
            for i in range(24):
                tg.start_soon(call, (first, second)[i % 2], 1.0)
        assert peak == 6
        first.concurrency.shrink()  # first was answered 40209: 6 -> 3 for everyone
        await anyio.sleep(0.01)
        peak = 0
        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(call, second, 1.0)
        assert peak == 3
        assert second.concurrency.cap == 3


async def test_a_lease_is_renewed_while_its_call_runs() -> None:
    first, second = pacers(2, rate=(100_000, 1.0), cap=1)  # leases of 3 s
    order: list[str] = []

    async def long_call() -> None:
        async with first.slot():
            await anyio.sleep(10.0)  # three lease terms
            order.append("long call done")

    async def other() -> None:
        await anyio.sleep(0.1)
        async with second.slot():
            order.append("other got the slot")

    async with first.running(), second.running(), anyio.create_task_group() as tg:
        tg.start_soon(long_call)
        tg.start_soon(other)
    assert order == ["long call done", "other got the slot"]


async def test_a_cancelled_job_gives_its_slots_back() -> None:
    pacer, other = pacers(2, rate=(100_000, 1.0), cap=5)  # two clients of one account

    async def call() -> None:
        async with pacer.slot():
            await anyio.sleep(100.0)

    with anyio.move_on_after(1.0):  # Ctrl-C, say: every call in flight is cancelled
        async with pacer.running(), anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(call)
    # Free for the account's other clients at once: the other takes all five slots and holds
    # them together, spaced only by the rate (10 µs); leases left behind would hold it up for
    # their term (3 s of the loop's fake clock).
    cancelled_at = anyio.current_time()
    taken: list[float] = []
    all_taken = anyio.Event()

    async def take() -> None:
        async with other.slot():
            taken.append(anyio.current_time())
            if len(taken) == 5:
                all_taken.set()
            await all_taken.wait()

    async with other.running(), anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(take)
    assert len(taken) == 5 and max(taken) - cancelled_at < 0.01


async def test_a_pause_reaches_a_call_already_waiting_for_its_slot() -> None:
    first, second = pacers(2)  # one call a second
    admitted: list[float] = []

    async def call() -> None:
        async with second.slot():
            admitted.append(anyio.current_time())

    async with first.running(), second.running(), anyio.create_task_group() as tg:
        start = anyio.current_time()
        for _ in range(6):
            tg.start_soon(call)  # slots at +0, +1, ... +5
        await anyio.sleep(2.5)
        first.rate.pause(15.0)  # at +2.5: nothing more before +17.5
    assert len(admitted) == 6
    assert sorted(t - start for t in admitted)[:3] == pytest.approx([0, 1, 2], abs=0.05)
    assert all(t - start >= 17.5 for t in sorted(admitted)[3:])


async def test_a_stalled_process_never_sends_the_calls_it_slept_through_at_once() -> None:
    # As for the local meter (tests/test_pacing.py): every sleeper wakes late after a stall; the
    # calls whose slots passed must not go together, or a window later the API sees one too many.
    limit, period = 100, 6.0
    offset = {"seconds": 0.0}
    clock = Clock(now=lambda: anyio.current_time() + offset["seconds"], sleep=anyio.sleep)
    sent: list[float] = []

    async def caller(pacer: SharedPacer, calls: int) -> None:
        for _ in range(calls):
            async with pacer.slot():
                sent.append(clock.now())

    async def stall_once() -> None:
        await anyio.sleep(1.0)
        offset["seconds"] += 0.4  # well over the shared schedule's 150 ms margin

    both = pacers(2, rate=(limit, period), clock=clock)
    async with both[0].running(), both[1].running(), anyio.create_task_group() as tg:
        tg.start_soon(stall_once)
        for i in range(20):
            tg.start_soon(caller, both[i % 2], 15)
    assert len(sent) == 300
    assert max_in_any_window(sent, period) <= limit
