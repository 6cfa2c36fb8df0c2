"""What docs/scaling.md promises of a Redis that falters while a job shares its limits: a failed
command is tried again (3 times) before Redis counts as lost, so dropped connections or a short
stall do not stop a job; a Redis that does not answer is lost once a command has timed out on
every try (5 s each), and the job stops with what it paid for. A real ``redis-server`` (its
connections killed with ``CLIENT KILL``, the process stopped with SIGSTOP), the emulator on
loopback."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import pytest
import redis.asyncio

from dataforseo_bulk import BulkClient, SharedLimitsLost, shared_limits
from dataforseo_bulk._constants import SHARED_REDIS_RETRIES
from dataforseo_bulk.emulator import DEFAULT_LOGIN, DEFAULT_PASSWORD, EmulatorConfig, Ledger, serve
from dataforseo_bulk.emulator import expected_backlinks as backlinks
from dataforseo_bulk.shared_limits import SharedLimits

from .redis_server import RedisServer

pytestmark = pytest.mark.loopback

CALLS = 24
TARGETS = [f"site{i}.example.com" for i in range(CALLS * 1000)]
# Two calls at a time, 0.05 s each: the job runs for 0.6 s or more, every call booked in Redis.
API = EmulatorConfig(latency_ms=50)


def client(url: str, limits: str | SharedLimits) -> BulkClient:
    return BulkClient(
        DEFAULT_LOGIN,
        DEFAULT_PASSWORD,
        base_url=url,
        shared_limits=limits,
        max_concurrency=2,
        check_balance=False,
    )


async def calls_reach(ledger: Ledger, count: int) -> None:
    """Poll the emulator's ledger (another task's job writes it) until ``count`` calls are in."""
    with anyio.fail_after(20):
        while len(ledger.calls()) < count:  # noqa: ASYNC110 - the ledger has no event to wait on
            await anyio.sleep(0.02)


@contextmanager
def resumed_at_exit(server: RedisServer) -> Iterator[None]:
    try:
        yield
    finally:
        os.kill(server.pid, signal.SIGCONT)


async def test_dropped_connections_are_reopened_and_the_job_goes_on(
    redis_server: RedisServer, ledger: Ledger
) -> None:
    dropped: list[int] = []
    async with serve(API, ledger=ledger) as url, redis.asyncio.Redis(port=redis_server.port) as admin:

        async def drop_every_connection_three_times() -> None:
            # Three blips in all, so no command can fail more often than it is tried again.
            await calls_reach(ledger, 2)
            for _ in range(3):  # every client connection but this one, 0.15 s apart
                dropped.append(await admin.client_kill_filter(_type="normal", skipme=True))
                await anyio.sleep(0.15)

        async with anyio.create_task_group() as tg, client(url, redis_server.url) as c:
            tg.start_soon(drop_every_connection_three_times)
            result = await c.bulk_backlinks(TARGETS)

    assert len(dropped) == 3 and min(dropped) >= 1, "the job's connections to Redis were dropped 3 times"
    assert not result.failed
    assert dict(result) == {t: backlinks(t) for t in TARGETS}
    assert len(ledger.calls()) == CALLS


async def test_a_stall_shorter_than_the_timeout_is_waited_out(
    redis_server: RedisServer, ledger: Ledger
) -> None:
    async def stall_redis_for_a_second() -> None:
        await calls_reach(ledger, 2)
        with resumed_at_exit(redis_server):
            os.kill(redis_server.pid, signal.SIGSTOP)
            await anyio.sleep(1.0)

    async with (
        serve(API, ledger=ledger) as url,
        client(url, redis_server.url) as c,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(stall_redis_for_a_second)
        result = await c.bulk_backlinks(TARGETS)

    assert not result.failed
    assert dict(result) == {t: backlinks(t) for t in TARGETS}


async def test_a_redis_that_stops_answering_is_lost_and_the_job_keeps_what_it_paid(
    redis_server: RedisServer, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 5-s timeout made 0.15 s, so that the test waits ~1.5 s (4 tries) rather than ~20 s.
    monkeypatch.setattr(shared_limits, "SHARED_REDIS_TIMEOUT", 0.15)
    monkeypatch.setattr(shared_limits, "SHARED_REDIS_CONNECT_TIMEOUT", 0.15)  # each try reconnects
    stopped_at = 0.0
    async with serve(API, ledger=ledger) as url, client(url, redis_server.url) as c:
        with resumed_at_exit(redis_server):
            async with anyio.create_task_group() as tg:

                async def stop_redis() -> None:
                    nonlocal stopped_at
                    await calls_reach(ledger, 4)
                    os.kill(redis_server.pid, signal.SIGSTOP)
                    stopped_at = anyio.current_time()

                tg.start_soon(stop_redis)
                with pytest.raises(SharedLimitsLost) as caught:
                    await c.bulk_backlinks(TARGETS)
                lost_after = anyio.current_time() - stopped_at
        answered = len(ledger.calls())

    # Each of the 4 tries (the first and 3 more) waited its timeout before Redis counted as lost:
    # a bound below, whatever the machine's speed.
    assert lost_after >= (1 + SHARED_REDIS_RETRIES) * 0.15
    error = caught.value
    assert "lost the Redis of shared limits" in str(error) and "Timeout" in str(error)
    assert answered < CALLS  # it stopped
    result = error.result
    assert result.stats.calls == answered  # every call the API answered was received and kept
    assert len(dict(result)) == 1000 * answered
    assert {f.kind.value for f in result.failed.values()} == {"aborted"}


async def test_a_redis_emptied_mid_job_gets_the_leases_of_the_calls_in_flight_back(
    redis_server: RedisServer, ledger: Ledger
) -> None:
    """Redis restarted without persistence (here: FLUSHALL) while every call of the job is in
    flight: each process puts its leases back at its next renewal (a third of ``lease_seconds``),
    long before the calls end, so the account's cap in flight holds again at once."""
    slow = EmulatorConfig(latency_ms=800)
    limits = SharedLimits(redis_server.url, lease_seconds=0.3)  # renewed every 0.1 s
    in_flight: list[int] = []
    async with (
        serve(slow, ledger=ledger) as url,
        redis.asyncio.Redis(port=redis_server.port) as admin,
        client(url, limits) as c,
        anyio.create_task_group() as tg,
    ):

        async def leases() -> int:
            (key,) = [k async for k in admin.scan_iter(match="dataforseo-bulk:*:leases")] or [None]
            return 0 if key is None else int(await admin.zcard(key))

        async def empty_redis_then_watch_the_leases() -> None:
            with anyio.fail_after(10):
                while await leases() < 2:  # noqa: ASYNC110 - Redis has no event to wait on
                    await anyio.sleep(0.02)
            await admin.flushall()
            in_flight.append(await leases())
            while not ledger.calls():  # until the first call is answered
                in_flight.append(await leases())
                await anyio.sleep(0.02)

        tg.start_soon(empty_redis_then_watch_the_leases)
        result = await c.bulk_backlinks(TARGETS[:2000])  # two calls, both in flight at once

    assert in_flight[0] == 0, "FLUSHALL emptied the leases"
    assert max(in_flight) == 2, "both calls' leases were put back while they were in flight"
    assert dict(result) == {t: backlinks(t) for t in TARGETS[:2000]}


async def test_a_redis_emptied_mid_job_lets_no_burst_through(
    redis_server: RedisServer, ledger: Ledger
) -> None:
    """docs/scaling.md: if Redis restarts empty, the schedule starts again without a burst. The
    job's workers hold slots booked before the restart; the next bookings come after them, so
    the API's own window (the same limit) never refuses a call."""
    # 60 calls a second; 120 calls, so that after the restart more calls are booked than the
    # job's workers held slots for (each worker books one ahead).
    rate = {"rate_limit": 60, "rate_period": 1.0}
    api = EmulatorConfig(latency_ms=50, **rate)  # type: ignore[arg-type]
    targets = [f"site{i}.example.com" for i in range(1200)]
    async with (
        serve(api, ledger=ledger) as url,
        redis.asyncio.Redis(port=redis_server.port) as admin,
        BulkClient(
            DEFAULT_LOGIN,
            DEFAULT_PASSWORD,
            base_url=url,
            shared_limits=redis_server.url,
            chunk_size=10,
            check_balance=False,
            **rate,  # type: ignore[arg-type]
        ) as c,
        anyio.create_task_group() as tg,
    ):

        async def empty_redis() -> None:
            await calls_reach(ledger, 30)
            await admin.flushall()

        tg.start_soon(empty_redis)
        result = await c.bulk_backlinks(targets)

    assert [call.envelope_code for call in ledger.calls()].count(40202) == 0
    assert len(ledger.calls()) == 120 and not result.failed
