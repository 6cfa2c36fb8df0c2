"""The account's limits shared through Redis: every client of one account, in any process on
any host, paces against one schedule and one cap in flight.

The same two meters as ``pacing.py``, kept in Redis and changed only by short Lua scripts
(each runs atomically, on Redis's own clock, so hosts need not agree on the time):

* **rate**: one grid of slots for the whole account. ``book`` reserves the next free slot
  (``max(now, next, paused)``), moves ``next`` one interval on and returns the wait; the
  caller sleeps that long and goes. No burst, wake-up lateness never loses a slot, and any
  window of ``period`` holds at most ``limit`` calls — exactly the local :class:`RateMeter`.
* **cap in flight**: a sorted set of leases (score = expiry). A slot is leased for
  ``lease_seconds`` and renewed every third of it while its call runs, so the slots of a
  process killed mid-call come back when its leases run out. Giving a slot back pushes a
  wake-up onto a list that a waiting process blocks on (``BLPOP``).
* **pushback**: a 40202 writes ``paused`` into the schedule (every client books after it);
  a 40209 halves the shared cap, which grows back one slot per quiet 5 s, as locally.

Why not ``limits`` or ``pyrate-limiter``, and what Redis holds: ``docs/scaling.md``.
redis-py is imported only here, when ``shared_limits`` is given (the ``redis`` extra).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio

from ._constants import (
    CONCURRENCY_BACKOFF_FACTOR,
    CONCURRENCY_RECOVERY_SECONDS,
    SHARED_FLUSH_SECONDS,
    SHARED_KEY_PREFIX,
    SHARED_LEASE_SECONDS,
    SHARED_PAUSE_CHECK_LEAD,
    SHARED_RATE_WINDOW_MARGIN_MIN,
    SHARED_REDIS_CONNECT_TIMEOUT,
    SHARED_REDIS_RETRIES,
    SHARED_REDIS_TIMEOUT,
    SHARED_WAKE_POLL_SECONDS,
)
from .errors import ConfigurationError, SharedLimitsLost, SharedLimitsUnavailable
from .pacing import LOOP_CLOCK, Clock, Pacer, lateness_allowed, slot_interval

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

log = logging.getLogger("dataforseo_bulk")

_INSTALL_HINT = "shared_limits needs redis-py: pip install 'dataforseo-bulk[redis]'"
_SCHEMES = frozenset({"redis", "rediss", "unix"})
_MICRO = 1_000_000


def masked_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (in the user part and in the query)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            name = user.partition(":")[0]
            netloc = f"{name}:***@{host}"
        query = urlencode(
            [(k, "***" if "pass" in k.lower() else v) for k, v in parse_qsl(parts.query)], safe="*"
        )
        masked = f"{parts.scheme}://{netloc}{parts.path}"  # urlunsplit would drop unix:'s "//"
        return masked + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")
    except ValueError:
        return "<unparsable URL>"


@dataclass(frozen=True, slots=True)
class SharedLimits:
    """Where an account's limits are shared (``redis://[:password@]host:6379/0``) and how long
    a slot in flight stays leased to a process that stopped renewing it (a killed one)."""

    url: str
    lease_seconds: float = SHARED_LEASE_SECONDS

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or urlsplit(self.url).scheme not in _SCHEMES:
            shown = masked_url(self.url) if isinstance(self.url, str) else repr(self.url)
            raise ConfigurationError(
                f"shared_limits={shown!r}: give a Redis URL such as 'redis://localhost:6379/0' "
                "(rediss:// for TLS, unix:///path/to/redis.sock)"
            )
        lease = self.lease_seconds
        if isinstance(lease, bool) or not isinstance(lease, int | float) or not 0 < lease < math.inf:
            raise ConfigurationError(
                f"lease_seconds={lease!r}: give seconds > 0 (default {SHARED_LEASE_SECONDS})"
            )

    def __repr__(self) -> str:
        return f"SharedLimits({masked_url(self.url)!r}, lease_seconds={self.lease_seconds})"


# --- the scripts: microseconds throughout (integers, exact in a Lua double) ------------------
#: ``now`` is Redis's own clock, unless a caller passes one (tests on a fake clock).
_PRELUDE = """
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function int(x) return string.format('%.0f', x) end
"""

#: KEYS: schedule. ARGV: now, interval, period, floor. Books the next free slot, never before
#: ``floor`` (the caller's own last slot plus an interval: should Redis have restarted empty,
#: the slots it had handed out are forgotten, and this keeps its caller from booking among
#: them). Returns {the wait, the slot}.
_BOOK = """
local now = clock(ARGV[1])
local interval = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'next', 'paused')
local slot = math.max(now, tonumber(state[1]) or now, tonumber(state[2]) or now, tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'next', int(slot + interval))
redis.call('PEXPIRE', KEYS[1], math.ceil((slot + interval - now + tonumber(ARGV[3])) / 1000))
return {int(slot - now), int(slot)}
"""

#: KEYS: schedule. ARGV: now, pause, period. Every slot booked from now on is after the pause.
_PAUSE = """
local now = clock(ARGV[1])
local untl = now + tonumber(ARGV[2])
if untl > (tonumber(redis.call('HGET', KEYS[1], 'paused')) or 0) then
  redis.call('HSET', KEYS[1], 'paused', int(untl))
  local ttl = math.ceil((untl - now + tonumber(ARGV[3])) / 1000)
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return 0
"""

#: KEYS: schedule. ARGV: now. How long the account is still paused (0: not paused).
_PAUSED_LEFT = """
local now = clock(ARGV[1])
return math.max(0, (tonumber(redis.call('HGET', KEYS[1], 'paused')) or 0) - now)
"""

#: The shared cap: absent means the full limit; once shrunk, it grows back one slot per
#: ``recovery`` without a new shrink, and the key goes when the cap is whole again.
_CAP = """
local function current_cap(key, now, limit, recovery)
  local state = redis.call('HMGET', key, 'cap', 'since')
  local cap = tonumber(state[1])
  if not cap then return limit end
  local since = tonumber(state[2])
  local grown = math.floor((now - since) / recovery)
  if grown > 0 then
    cap = cap + grown
    if cap >= limit then
      redis.call('DEL', key)
      return limit
    end
    redis.call('HSET', key, 'cap', cap, 'since', int(since + grown * recovery))
  end
  return math.min(cap, limit)
end
"""

#: KEYS: leases, cap. ARGV: now, token, lease, limit, recovery. Returns {granted, cap}.
_LEASE = """
local now = clock(ARGV[1])
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local cap = current_cap(KEYS[2], now, tonumber(ARGV[4]), tonumber(ARGV[5]))
if redis.call('ZCARD', KEYS[1]) < cap then
  redis.call('ZADD', KEYS[1], int(now + lease), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], math.ceil(2 * lease / 1000))
  return {1, cap}
end
return {0, cap}
"""

#: KEYS: leases. ARGV: now, lease, tokens... Extends (or, after a Redis restart, restores)
#: the leases this process holds.
_RENEW = """
local now = clock(ARGV[1])
local lease = tonumber(ARGV[2])
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], int(now + lease), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], math.ceil(2 * lease / 1000))
return #ARGV - 2
"""

#: KEYS: leases, wake-ups. ARGV: lease, limit, tokens... Gives slots back; one wake-up each.
_GIVE_BACK = """
redis.call('ZREM', KEYS[1], unpack(ARGV, 3))
for i = 3, #ARGV do redis.call('RPUSH', KEYS[2], '1') end
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[2], math.ceil(tonumber(ARGV[1]) / 1000))
return #ARGV - 2
"""

#: KEYS: cap. ARGV: now, limit, factor, recovery. Lowers the shared cap; returns it.
_SHRINK = """
local now = clock(ARGV[1])
local limit = tonumber(ARGV[2])
local recovery = tonumber(ARGV[4])
local cap = math.max(1, math.floor(current_cap(KEYS[1], now, limit, recovery) * tonumber(ARGV[3])))
redis.call('HSET', KEYS[1], 'cap', cap, 'since', int(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((limit - cap + 1) * recovery / 1000))
return cap
"""


class SharedAccount:
    """One account's keys in one Redis, and the connection to it (opened on first use).

    Keys are named by a hash of the API's base URL and the login: neither the login nor the
    password is ever written to Redis or into a message.
    """

    def __init__(self, limits: str | SharedLimits, *, base_url: str, login: str) -> None:
        if not isinstance(limits, SharedLimits):
            limits = SharedLimits(limits)
        try:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import ExponentialWithJitterBackoff
        except ImportError:
            raise ConfigurationError(_INSTALL_HINT) from None
        self.limits = limits
        self.where = masked_url(limits.url)
        try:
            self.redis: Redis = Redis.from_url(
                limits.url,
                socket_timeout=SHARED_REDIS_TIMEOUT,
                socket_connect_timeout=SHARED_REDIS_CONNECT_TIMEOUT,
                retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.5), SHARED_REDIS_RETRIES),
            )
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"shared_limits={self.where!r}: {exc}") from None
        digest = hashlib.sha256(f"{base_url}\n{login}".encode()).hexdigest()[:24]
        self.prefix = f"{SHARED_KEY_PREFIX}:{{{digest}}}"
        self.process = os.urandom(6).hex()  # names this process's leases
        self._scripts: dict[str, AsyncScript] = {}

    def __repr__(self) -> str:
        return f"<SharedAccount {self.where} {self.prefix}>"

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    async def check(self) -> None:
        """Raise :class:`SharedLimitsUnavailable` unless Redis answers (before any call)."""
        from redis.exceptions import RedisError

        try:
            await self.redis.ping()
        except (RedisError, OSError) as exc:
            raise SharedLimitsUnavailable(
                f"shared limits: Redis at {self.where} does not answer ({exc}); "
                "start it, or fix the URL (shared_limits= / --shared-limits / "
                "DATAFORSEO_BULK_SHARED_LIMITS); no call was sent"
            ) from None

    async def run(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run one of the scripts above; a Redis that fails is :class:`SharedLimitsLost`."""
        return await self._guarded(lambda: self._script(script)(keys=list(keys), args=list(args)))

    async def wait_for_wake_up(self, seconds: float) -> None:
        await self._guarded(lambda: self.redis.blpop([self.key("wake")], timeout=seconds))

    async def _guarded(self, command: Callable[[], Awaitable[Any]]) -> Any:
        from redis.exceptions import RedisError

        try:
            return await command()
        except (RedisError, OSError) as exc:
            raise SharedLimitsLost(
                f"lost the Redis of shared limits ({self.where}: {exc}); nothing more was sent, "
                "calls in flight finished; run again when Redis is back (a checkpoint keeps what finished)"
            ) from None

    def _script(self, body: str) -> AsyncScript:
        script = self._scripts.get(body)
        if script is None:
            # register_script loads it again by itself after a Redis restart (NOSCRIPT).
            script = self._scripts[body] = self.redis.register_script(_PRELUDE + body)
        return script

    async def aclose(self) -> None:
        await self.redis.aclose()


def _now_arg(clock: Clock | None) -> Callable[[], str]:
    """What the scripts get as ``now``: '' (Redis's clock) or the given clock in microseconds."""
    if clock is None:
        return lambda: ""
    return lambda: str(round(clock.now() * _MICRO))


class SharedRateMeter:
    """:class:`~dataforseo_bulk.pacing.RateMeter`'s schedule, kept in Redis for the account."""

    def __init__(
        self,
        account: SharedAccount,
        limit: int,
        period: float,
        *,
        submit: Callable[[Callable[[], Awaitable[Any]]], None],
        clock: Clock = LOOP_CLOCK,
        redis_clock: Clock | None = None,
    ) -> None:
        self.limit = limit
        self.period = period
        self.interval = slot_interval(limit, period, minimum=SHARED_RATE_WINDOW_MARGIN_MIN)
        self.lateness = lateness_allowed(period, minimum=SHARED_RATE_WINDOW_MARGIN_MIN)
        self._account = account
        self._key = account.key("schedule")
        self._submit = submit
        self._clock = clock
        self._now = _now_arg(redis_clock)
        self._paused_until = -math.inf  # a pause this process asked for, before Redis has it
        self._floor = 0  # µs on Redis's clock: this process's last slot plus an interval

    async def acquire(self) -> None:
        interval = round(self.interval * _MICRO)
        period = round(self.period * _MICRO)
        clock = self._clock
        while True:
            own_pause = self._paused_until - clock.now()
            if own_pause > 0:
                await clock.sleep(own_pause)
            booked = await self._account.run(_BOOK, [self._key], [self._now(), interval, period, self._floor])
            wait, self._floor = int(booked[0]) / _MICRO, int(booked[1]) + interval
            slot = clock.now() + wait
            # A pause that begins while we wait (here or anywhere) moves us behind it. Redis is
            # asked a little before the slot, so its round trip never delays the call itself.
            if wait > SHARED_PAUSE_CHECK_LEAD:
                await clock.sleep(wait - SHARED_PAUSE_CHECK_LEAD)
                if await self._account.run(_PAUSED_LEFT, [self._key], [self._now()]) > 0:
                    continue
            delay = slot - clock.now()
            if delay > 0:
                await clock.sleep(delay)
            woke = clock.now()
            if woke >= self._paused_until and woke - slot <= self.lateness:
                return

    def pause(self, seconds: float) -> None:
        """Hold every client of the account for ``seconds`` (the API said 40202)."""
        self._paused_until = max(self._paused_until, self._clock.now() + seconds)
        args = [self._now(), round(seconds * _MICRO), round(self.period * _MICRO)]
        self._submit(lambda: self._account.run(_PAUSE, [self._key], args))


class SharedConcurrencyMeter:
    """:class:`~dataforseo_bulk.pacing.ConcurrencyMeter`'s cap, as leases in Redis."""

    def __init__(
        self,
        account: SharedAccount,
        limit: int,
        *,
        submit: Callable[[Callable[[], Awaitable[Any]]], None],
        backoff_factor: float = CONCURRENCY_BACKOFF_FACTOR,
        recovery_seconds: float = CONCURRENCY_RECOVERY_SECONDS,
        redis_clock: Clock | None = None,
        wake_poll: float = SHARED_WAKE_POLL_SECONDS,
    ) -> None:
        self.limit = limit
        self._account = account
        self._keys = [account.key("leases"), account.key("cap")]
        self._wake_key = account.key("wake")
        self._submit = submit
        self._factor = backoff_factor
        self._recovery = round(recovery_seconds * _MICRO)
        self._lease = round(account.limits.lease_seconds * _MICRO)
        self._now = _now_arg(redis_clock)
        self._wake_poll = wake_poll
        self._cap = limit
        self._tokens = (f"{account.process}:{n}" for n in itertools.count())
        self._turn = anyio.Lock()  # one task of this process at a time asks Redis for a slot
        self.held: list[str] = []  # the leases this process holds now

    @property
    def cap(self) -> int:
        """The shared cap as last seen (or as this process just lowered it)."""
        return self._cap

    async def acquire(self) -> None:
        token = next(self._tokens)
        async with self._turn:
            while True:
                granted, cap = await self._account.run(
                    _CAP + _LEASE, self._keys, [self._now(), token, self._lease, self.limit, self._recovery]
                )
                self._cap = int(cap)
                if granted:
                    break
                await self._account.wait_for_wake_up(self._wake_poll)
        self.held.append(token)

    def release(self) -> None:
        token = self.held.pop()
        args = [self._lease, self.limit, token]
        self._submit(lambda: self._account.run(_GIVE_BACK, [self._keys[0], self._wake_key], args))

    def shrink(self) -> None:
        """The API said too many simultaneous calls: lower the account's cap for a while."""
        self._cap = max(1, math.floor(self._cap * self._factor))
        args = [self._now(), self.limit, self._factor, self._recovery]
        self._submit(lambda: self._account.run(_CAP + _SHRINK, [self._keys[1]], args))

    async def renew(self) -> None:
        if self.held:
            await self._account.run(_RENEW, [self._keys[0]], [self._now(), self._lease, *self.held])


class SharedPacer(Pacer):
    """A :class:`Pacer` whose meters live in Redis. ``running()`` checks Redis, renews the
    leases held, and writes what the meters hand over (slots given back, pauses, shrinks) in
    order, so that the engine's calls to them stay synchronous, as with the local meters."""

    rate: SharedRateMeter
    concurrency: SharedConcurrencyMeter

    def __init__(
        self,
        account: SharedAccount,
        *,
        rate_limit: int,
        rate_period: float,
        max_concurrency: int,
        clock: Clock = LOOP_CLOCK,
        redis_clock: Clock | None = None,
    ) -> None:
        self._account = account
        self._clock = clock
        self._send, self._receive = anyio.create_memory_object_stream[Callable[[], Awaitable[Any]]](math.inf)
        self._warned = False
        super().__init__(
            SharedRateMeter(
                account, rate_limit, rate_period, submit=self._submit, clock=clock, redis_clock=redis_clock
            ),
            SharedConcurrencyMeter(account, max_concurrency, submit=self._submit, redis_clock=redis_clock),
        )

    def _submit(self, write: Callable[[], Awaitable[Any]]) -> None:
        # After the job, nothing is written: a lease not given back runs out by itself.
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._send.send_nowait(write)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self._account.check()
        async with anyio.create_task_group() as tg:
            writing, renewing = anyio.CancelScope(), anyio.CancelScope()
            tg.start_soon(self._write_in_order, writing)
            tg.start_soon(self._renew, renewing)
            try:
                yield
            finally:
                renewing.cancel()
                writing.cancel()  # the writer stops between two writes; what it left is written
                # here, even when the job was cancelled (slots given back at once), but briefly.
                with anyio.CancelScope(shield=True), anyio.move_on_after(SHARED_FLUSH_SECONDS):
                    self._send.close()
                    async for write in self._receive:
                        await self._write(write)
                self._receive.close()

    async def _write_in_order(self, scope: anyio.CancelScope) -> None:
        with scope:
            async for write in self._receive:
                with anyio.CancelScope(shield=True):  # a write is never cut in half
                    await self._write(write)

    async def _write(self, write: Callable[[], Awaitable[Any]]) -> None:
        try:
            await write()
        except SharedLimitsLost as exc:
            # What is lost here runs out by itself (a lease) or is moot (a pause); the next slot
            # asked for stops the job.
            if not self._warned:
                log.warning("%s", exc)
                self._warned = True

    async def _renew(self, scope: anyio.CancelScope) -> None:
        with scope:
            while True:
                await self._clock.sleep(self._account.limits.lease_seconds / 3)
                try:
                    await self.concurrency.renew()
                except SharedLimitsLost as exc:
                    log.warning("%s", exc)
