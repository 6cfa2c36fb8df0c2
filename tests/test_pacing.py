"""Pacing on a fake loop clock (looptime): virtual seconds, no real sleeping.

What a user checks: no window of ``period`` seconds ever holds more than ``limit`` calls
(also the very first one: no start-of-job burst), the steady rate reaches the limit, calls
in flight never exceed the cap, 40202 pauses everyone, 40209 lowers the cap and it recovers.
"""

from __future__ import annotations

import bisect
import itertools

import anyio
import pytest

from dataforseo_bulk.pacing import Clock, ConcurrencyMeter, Pacer, RateMeter

pytestmark = pytest.mark.looptime


def max_in_any_window(times: list[float], period: float) -> int:
    """The largest number of events in any half-open window [t, t + period)."""
    times = sorted(times)
    return max(bisect.bisect_left(times, t + period) - i for i, t in enumerate(times))


@pytest.mark.parametrize(("limit", "period", "calls"), [(2000, 60.0, 5000), (10, 1.0, 95), (3, 10.0, 10)])
async def test_no_window_ever_holds_more_than_the_limit(limit: int, period: float, calls: int) -> None:
    meter = RateMeter(limit, period)
    admitted: list[float] = []

    async def caller() -> None:
        await meter.acquire()
        admitted.append(anyio.current_time())

    async with anyio.create_task_group() as tg:
        for _ in range(calls):
            tg.start_soon(caller)

    assert len(admitted) == calls
    assert max_in_any_window(admitted, period) <= limit
    # Smooth, not bursty: the first window holds no more than its share either.
    start = min(admitted)
    assert sum(1 for t in admitted if t < start + period / 10) <= limit // 10 + 1
    # And it is not slower than it has to be: within the margin (0.5 %, at least 50 ms a window).
    span = max(admitted) - start
    assert span <= (calls - 1) * (period + max(period * 0.005, 0.05)) / limit + 1e-6


async def test_aiolimiter_style_burst_is_what_we_avoid() -> None:
    """The reference point: 2000 calls on a fresh meter take a minute, not an instant."""
    meter = RateMeter(2000, 60.0)
    start = anyio.current_time()
    for _ in range(2000):
        await meter.acquire()
    assert anyio.current_time() - start >= 59.9


async def test_pause_holds_every_caller_including_those_already_waiting() -> None:
    meter = RateMeter(60, 60.0)  # one a second
    admitted: list[float] = []

    async def caller() -> None:
        await meter.acquire()
        admitted.append(anyio.current_time())

    start = anyio.current_time()
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(caller)
        await anyio.sleep(1.5)  # two have gone (t=0, t=1); three are booked for 2, 3, 4
        meter.pause(10.0)
    late = [t - start for t in admitted[2:]]
    assert all(t >= 11.5 for t in late), late


async def test_concurrency_never_exceeds_the_cap() -> None:
    meter = ConcurrencyMeter(5)
    pacer = Pacer(RateMeter(10_000, 1.0), meter)
    in_flight = 0
    seen_max = 0

    async def call(i: int) -> None:
        nonlocal in_flight, seen_max
        async with pacer.slot():
            in_flight += 1
            seen_max = max(seen_max, in_flight)
            await anyio.sleep(0.1 + (i % 7) / 100)
            in_flight -= 1

    async with anyio.create_task_group() as tg:
        for i in range(200):
            tg.start_soon(call, i)
    assert seen_max == 5
    assert meter.peak == 5


async def test_shrink_on_40209_then_recover_one_slot_at_a_time() -> None:
    meter = ConcurrencyMeter(30, backoff_factor=0.5, recovery_seconds=5.0)
    meter.shrink()
    assert meter.cap == 15
    meter.shrink()
    assert meter.cap == 7
    await anyio.sleep(5.0)
    await meter.acquire()
    meter.release()
    assert meter.cap == 8
    await anyio.sleep(200.0)
    await meter.acquire()
    meter.release()
    assert meter.cap == 30  # never above the configured limit


async def test_shrink_never_goes_below_one() -> None:
    meter = ConcurrencyMeter(2, backoff_factor=0.1)
    for _ in range(5):
        meter.shrink()
    assert meter.cap == 1


async def test_the_cap_grows_back_one_slot_per_quiet_period_whenever_the_shrink_was() -> None:
    # docs/errors.md: "the cap in flight halves, grows back one slot per quiet 5 s".
    meter = ConcurrencyMeter(8, backoff_factor=0.5, recovery_seconds=5.0)
    await anyio.sleep(1000.0)  # a shrink late in a job, not at the clock's zero
    meter.shrink()
    caps = []
    for _ in range(6):
        await anyio.sleep(2.5)
        await meter.acquire()
        meter.release()
        caps.append(meter.cap)
    assert caps == [4, 5, 5, 6, 6, 7]  # one slot every 5 s, never two at once


async def test_the_meters_say_what_they_hold() -> None:
    # The attributes a caller (a progress display, a benchmark) reads: limits, calls in flight now
    # and at the busiest moment.
    rate = RateMeter(2000, 60.0)
    meter = ConcurrencyMeter(3)
    assert (rate.limit, rate.period, meter.limit, meter.cap) == (2000, 60.0, 3, 3)
    assert (meter.in_flight, meter.peak) == (0, 0)
    seen = []

    async def call(hold: float) -> None:
        await meter.acquire()
        seen.append(meter.in_flight)
        await anyio.sleep(hold)
        meter.release()

    async with anyio.create_task_group() as group:  # each call is its own task, as in a job
        group.start_soon(call, 2.0)
        group.start_soon(call, 1.0)
        await anyio.sleep(1.5)
        assert (meter.in_flight, meter.peak) == (1, 2)
    assert seen == [1, 2] and (meter.in_flight, meter.peak) == (0, 2)


async def test_the_first_call_after_a_pause_goes_out_when_the_pause_ends() -> None:
    # Not at the next step of the rate's grid after it: the pause moves the grid.
    meter = RateMeter(1, 4.0)  # one call every 4.05 s (4 s + the 50 ms margin)
    meter.pause(10.0)
    await meter.acquire()
    assert anyio.current_time() == pytest.approx(10.0)
    await meter.acquire()
    assert anyio.current_time() == pytest.approx(14.05)


@pytest.mark.parametrize(
    ("limit", "period", "margin"), [(2000, 60.0, 0.005), (200, 6.0, 0.005), (2000, 60.0, 0.02)]
)
async def test_a_call_woken_less_late_than_the_allowance_goes_at_once(
    limit: int, period: float, margin: float
) -> None:
    # The allowance is half the window's margin (0.5 % of the period by default, at least 50 ms):
    # 150 ms on the real 60-s window. A call woken later than its slot, but within that, keeps
    # its slot (no new booking, no wait): only a longer stall costs a slot.
    offset = {"seconds": 0.0}
    clock = Clock(now=lambda: anyio.current_time() + offset["seconds"], sleep=anyio.sleep)
    meter = RateMeter(limit, period, margin=margin, clock=clock)
    allowance = max(period * margin, 0.05) / 2
    assert meter.lateness == pytest.approx(allowance)
    await meter.acquire()  # the first slot: now
    booked = anyio.current_time()

    async def late_by(seconds: float) -> None:
        await anyio.sleep(meter.interval / 2)  # while the second caller sleeps towards its slot
        offset["seconds"] += seconds

    async with anyio.create_task_group() as tg:
        tg.start_soon(late_by, allowance * 0.9)
        await meter.acquire()
    # It went when it woke, at its own slot: no second booking.
    assert anyio.current_time() == pytest.approx(booked + meter.interval)


@pytest.mark.parametrize("stall", [0.06, 0.2])  # just over the 50 ms margin, and well over it
async def test_a_stalled_process_never_sends_the_calls_it_slept_through_at_once(stall: float) -> None:
    # The process stalls (a long garbage collection, a starved CPU) while workers sleep
    # on slots booked ahead: on waking, those slots are all past. Going at once would send them
    # together, and the calls a window later would then meet 201 in the API's window (40202).
    limit, period = 200, 6.0
    offset = {"seconds": 0.0}
    clock = Clock(now=lambda: anyio.current_time() + offset["seconds"], sleep=anyio.sleep)
    meter = RateMeter(limit, period, clock=clock)
    sent: list[float] = []

    async def worker(calls: int) -> None:
        for _ in range(calls):
            await meter.acquire()
            sent.append(clock.now())

    async def stall_once() -> None:
        await anyio.sleep(1.0)
        offset["seconds"] += stall  # every sleeper wakes that much after its slot

    async with anyio.create_task_group() as tg:
        tg.start_soon(stall_once)
        for _ in range(30):
            tg.start_soon(worker, 20)
    assert len(sent) == 600
    assert max_in_any_window(sent, period) <= limit
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= meter.interval - 0.03  # never a burst: the wake-up lateness allowed
