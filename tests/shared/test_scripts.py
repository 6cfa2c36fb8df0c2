"""The Lua scripts' logic, one step at a time, on a fake Redis (fakeredis runs the real Lua) and
explicit times: the schedule, the pause, the leases, the shared cap. The same scripts against a
real ``redis-server`` and real processes: ``test_processes.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import fakeredis
import pytest

from dataforseo_bulk import shared_limits as sl
from dataforseo_bulk.shared_limits import SharedAccount

S = 1_000_000  # the scripts count microseconds


@pytest.fixture
def account() -> SharedAccount:
    account = SharedAccount("redis://127.0.0.1:1/0", base_url="https://api.dataforseo.com", login="me")
    account.redis = fakeredis.FakeAsyncRedis()
    return account


class Scripts:
    """The scripts as plain calls: ``now`` in seconds, answers as Python values."""

    def __init__(self, account: SharedAccount) -> None:
        self.account = account
        self.schedule = account.key("schedule")
        self.leases, self.cap_key, self.wake = account.key("leases"), account.key("cap"), account.key("wake")

    async def _run(self, script: str, keys: Sequence[str], *args: Any) -> Any:
        return await self.account.run(script, keys, args)

    async def book(
        self, now: float, interval: float = 1.0, period: float = 60.0, floor: float = 0.0
    ) -> float:
        args = int(now * S), int(interval * S), int(period * S), int(floor * S)
        wait, slot = await self._run(sl._BOOK, [self.schedule], *args)
        assert int(slot) == int(now * S) + int(wait)  # the slot booked, on the same clock
        return int(wait) / S

    async def pause(self, now: float, seconds: float) -> None:
        await self._run(sl._PAUSE, [self.schedule], int(now * S), int(seconds * S), 60 * S)

    async def paused_left(self, now: float) -> float:
        return int(await self._run(sl._PAUSED_LEFT, [self.schedule], int(now * S))) / S

    async def lease(self, now: float, token: str, *, limit: int = 3, lease: float = 10.0) -> tuple[bool, int]:
        keys, script = [self.leases, self.cap_key], sl._CAP + sl._LEASE
        granted, cap = await self._run(script, keys, int(now * S), token, int(lease * S), limit, 5 * S)
        return bool(granted), int(cap)

    async def give_back(self, *tokens: str, limit: int = 3) -> None:
        await self._run(sl._GIVE_BACK, [self.leases, self.wake], 10 * S, limit, *tokens)

    async def renew(self, now: float, *tokens: str, lease: float = 10.0) -> None:
        await self._run(sl._RENEW, [self.leases], int(now * S), int(lease * S), *tokens)

    async def shrink(self, now: float, *, limit: int = 30) -> int:
        return int(await self._run(sl._CAP + sl._SHRINK, [self.cap_key], int(now * S), limit, 0.5, 5 * S))


@pytest.fixture
def scripts(account: SharedAccount) -> Scripts:
    return Scripts(account)


async def test_slots_are_booked_one_interval_apart_whoever_asks(scripts: Scripts) -> None:
    # Five callers at t=100 get the grid 0, 1, 2, 3, 4 s ahead: no burst.
    assert [await scripts.book(100.0) for _ in range(5)] == [0.0, 1.0, 2.0, 3.0, 4.0]
    # Asking later, the wait counts from the booked grid, not from the caller's time.
    assert await scripts.book(102.5) == 2.5  # slot 105
    # After an idle spell the schedule starts at now: no backlog of unused slots to burst through.
    assert await scripts.book(500.0) == 0.0
    assert await scripts.book(500.0) == 1.0


async def test_a_schedule_lost_in_a_restart_never_books_before_the_callers_own_last_slot(
    scripts: Scripts,
) -> None:
    # One process booked slots 100 .. 104 and still waits for them when Redis restarts empty.
    assert [await scripts.book(100.0) for _ in range(5)] == [0.0, 1.0, 2.0, 3.0, 4.0]
    await scripts.account.redis.delete(scripts.schedule)
    # Its next booking, with its floor (last slot + interval), comes after them, not at now ...
    assert await scripts.book(100.5, floor=105.0) == 4.5  # slot 105
    assert await scripts.book(100.5, floor=106.0) == 5.5  # and the grid goes on from there
    # ... while a floor in the past (the process was idle) changes nothing.
    await scripts.account.redis.delete(scripts.schedule)
    assert await scripts.book(200.0, floor=106.0) == 0.0


async def test_a_pause_puts_every_later_booking_behind_it(scripts: Scripts) -> None:
    assert await scripts.book(0.0) == 0.0
    await scripts.pause(0.5, 15.0)
    assert await scripts.paused_left(1.0) == 14.5
    assert await scripts.book(1.0) == 14.5  # slot 15.5, the end of the pause
    assert await scripts.book(1.0) == 15.5
    await scripts.pause(2.0, 1.0)  # a shorter pause never shortens a longer one
    assert await scripts.paused_left(2.0) == 13.5
    assert await scripts.paused_left(16.0) == 0.0


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # (time, token) asks in order; a cap of 3: the fourth waits ...
        ([(0, "a"), (0, "b"), (0, "c"), (0, "d")], [True, True, True, False]),
        # ... until a lease runs out (10 s): its holder died without giving it back.
        ([(0, "a"), (0, "b"), (0, "c"), (9.9, "d"), (10.0, "e")], [True, True, True, False, True]),
    ],
)
async def test_leases_hold_the_cap_and_run_out(
    scripts: Scripts, steps: list[tuple[float, str]], expected: list[bool]
) -> None:
    assert [(await scripts.lease(t, token))[0] for t, token in steps] == expected


async def test_a_slot_given_back_is_free_at_once_and_wakes_one_waiter(scripts: Scripts) -> None:
    for token in "abc":
        await scripts.lease(0, token)
    assert await scripts.lease(1, "d") == (False, 3)
    await scripts.give_back("b")
    assert await scripts.lease(1, "d") == (True, 3)
    assert await scripts.account.redis.llen(scripts.wake) == 1
    await scripts.give_back("a", "c", "d")
    await scripts.give_back("x", "y")
    assert await scripts.account.redis.llen(scripts.wake) == 3  # never more wake-ups than the cap


async def test_renewing_keeps_a_lease_past_its_first_term(scripts: Scripts) -> None:
    for token in "abc":
        await scripts.lease(0, token)
    await scripts.renew(8.0, "a", "b", "c")
    assert (await scripts.lease(12.0, "d"))[0] is False  # renewed until 18
    assert (await scripts.lease(18.0, "d"))[0] is True


async def test_the_shared_cap_halves_on_each_shrink_and_grows_back_one_a_quiet_5_s(
    scripts: Scripts,
) -> None:
    assert await scripts.shrink(0.0) == 15
    assert await scripts.shrink(1.0) == 7
    # Recovery counts from the last shrink: +1 per 5 s, seen by whoever asks for a slot.
    assert (await scripts.lease(5.9, "a", limit=30))[1] == 7
    assert (await scripts.lease(6.0, "b", limit=30))[1] == 8
    assert (await scripts.lease(26.0, "c", limit=30))[1] == 12
    assert (await scripts.lease(1000.0, "d", limit=30))[1] == 30
    assert await scripts.account.redis.exists(scripts.cap_key) == 0  # whole again: no state left


async def test_keys_name_the_account_by_a_hash_only(account: SharedAccount) -> None:
    other = SharedAccount("redis://127.0.0.1:1/0", base_url="https://api.dataforseo.com", login="other")
    sandbox = SharedAccount("redis://127.0.0.1:1/0", base_url="https://sandbox.dataforseo.com", login="me")
    assert account.key("leases").startswith("dataforseo-bulk:{")
    assert "me" not in account.key("leases").split(":", 1)[1]
    assert len({account.prefix, other.prefix, sandbox.prefix}) == 3
