"""Every tunable of the client in one place, each with the reason for its value.

Facts about the API come from ``shared/reference/dataforseo-api-notes.md``; where the notes
call a fact unverified, the value here is the safe side of both answers.
"""

from __future__ import annotations

from typing import Final

# --- where -------------------------------------------------------------------------------
DEFAULT_BASE_URL: Final = "https://api.dataforseo.com"
#: The free sandbox: same paths, same limits, dummy data, never billed.
SANDBOX_URL: Final = "https://sandbox.dataforseo.com"
#: Hosts to which credentials may travel over plain http (they never leave the machine).
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
ENV_LOGIN: Final = "DATAFORSEO_LOGIN"
ENV_PASSWORD: Final = "DATAFORSEO_PASSWORD"
USER_AGENT: Final = "dataforseo-bulk"

# --- account limits ----------------------------------------------------------------------
#: Calls per ``DEFAULT_RATE_PERIOD`` seconds. The notes say 2000/min, raised to 10000/min in
#: October 2026 for some accounts; 2000 is right for every account.
DEFAULT_RATE_LIMIT: Final = 2000
DEFAULT_RATE_PERIOD: Final = 60.0
#: The API refuses a 31st simultaneous call with 40209.
DEFAULT_MAX_CONCURRENCY: Final = 30
#: Workers beyond the cap in flight, as a fraction of it (at least one). A spare worker holds
#: its next call ready (chunk taken, body encoded) and waits for a slot, so that a slot freed by
#: an answer is refilled before that answer is checked and recorded, not after. Worth ~0.5 % of
#: a concurrency-bound job of 1000-target calls (docs/performance.md); costs one chunk each.
SPARE_WORKERS_FRACTION: Final = 0.1
#: Targets in one task; the API takes at most 1000.
MAX_CHUNK_SIZE: Final = 1000
#: The server counts calls on its own clock, after transit jitter; pacing holds the window
#: this much longer than the account's period so no server-side window ever sees one call
#: too many. 0.5 % costs 0.5 % of the rate-bound throughput; for short (time-scaled) periods
#: the margin is at least RATE_WINDOW_MARGIN_MIN seconds, the jitter seen on loopback.
RATE_WINDOW_MARGIN: Final = 0.005
RATE_WINDOW_MARGIN_MIN: Final = 0.05
#: A call woken later than this share of the margin after its slot books a new slot (the
#: process stalled; going would bunch it with the calls booked after it). The rest of the
#: margin is for transit jitter.
RATE_LATE_WAKE_SHARE: Final = 0.5

# --- reaction to the API's own pushback --------------------------------------------------
#: On 40202 the whole dispatcher pauses for this fraction of the rate period (15 s at
#: 2000/60): the API counts per minute, and hammering on during a refusal only buys more.
RATE_LIMITED_PAUSE_FRACTION: Final = 0.25
#: On 40209 the cap on calls in flight is multiplied by this factor ...
CONCURRENCY_BACKOFF_FACTOR: Final = 0.5
#: ... and grows back by one slot each time this many seconds pass without another 40209.
CONCURRENCY_RECOVERY_SECONDS: Final = 5.0

# --- limits shared through Redis (shared_limits.py, docs/scaling.md) ----------------------
ENV_SHARED_LIMITS: Final = "DATAFORSEO_BULK_SHARED_LIMITS"
#: A slot in flight is leased for this long and renewed every third of it while its call
#: runs; a process killed with its slots held gives them back when the lease runs out. Long
#: enough that a busy event loop never misses a renewal, short enough that a dead worker's
#: share of the account's 30 comes back within seconds.
SHARED_LEASE_SECONDS: Final = 15.0
#: A process waiting for a slot in flight blocks on the account's wake-up list this long
#: before it asks again: a release wakes it at once; an expired lease (a dead holder sends
#: no wake-up) is noticed within this time.
SHARED_WAKE_POLL_SECONDS: Final = 0.25
#: A rate slot booked further off than this is checked for a pause (set by another client
#: meanwhile) this long before it: the check's round trip to Redis happens while the call
#: waits anyway, never between its slot and its start (on a loaded host that trip is jittery).
SHARED_PAUSE_CHECK_LEAD: Final = 0.1
#: The shared schedule's margin over the rate period is at least this (RATE_WINDOW_MARGIN_MIN
#: alone): several processes, Redis between them, more jitter between a slot and its call's
#: arrival on a loaded host. From a period of 30 s up (the real 60 s: 300 ms) the 0.5 % margin
#: is larger and the schedule is the single process's; only time-scaled windows see it.
SHARED_RATE_WINDOW_MARGIN_MIN: Final = 0.15
#: No Redis command may hang a job: a Redis that does not answer within this time is lost.
SHARED_REDIS_TIMEOUT: Final = 5.0
SHARED_REDIS_CONNECT_TIMEOUT: Final = 2.0
#: A failed Redis command is tried again this many times (10 ms, then doubling), so a blip
#: or a failover does not stop a job, and a Redis that is gone is declared lost within ~1 s.
SHARED_REDIS_RETRIES: Final = 3
#: At the end of a job, what is still queued for Redis (slots given back) gets this long.
SHARED_FLUSH_SECONDS: Final = 2.0
#: Keys are ``<prefix>:{<account hash>}:<name>`` (the braces keep one account's keys in one
#: Redis Cluster slot, so each script touches one slot).
SHARED_KEY_PREFIX: Final = "dataforseo-bulk"

# --- retries -----------------------------------------------------------------------------
#: Retries after the first attempt of one call. Each retry of a live call may be billed.
DEFAULT_MAX_RETRIES: Final = 4
BACKOFF_INITIAL: Final = 1.0
BACKOFF_MAX: Final = 30.0
BACKOFF_EXP_BASE: Final = 2.0
#: Full jitter would make the first retry instant half the time; the wait is drawn from
#: [base * (1 - JITTER), base].
BACKOFF_JITTER: Final = 0.5
#: 50303 "Update in progress. Please try after a few minutes." and 50304 "This function
#: temporarily unavailable": a wait in minutes, doubling from LONG_BACKOFF_INITIAL up to
#: LONG_BACKOFF_MAX (a retry in seconds would only be refused again, and each may be billed).
LONG_BACKOFF_INITIAL: Final = 60.0
LONG_BACKOFF_MAX: Final = 300.0
#: A proxy's 429 or 503 may say how long to wait (``Retry-After``, seconds or an HTTP date):
#: honoured, but never longer than this (a misconfigured proxy must not park a job for hours).
RETRY_AFTER_MAX: Final = 120.0
#: Targets missing from a successful answer are asked for again this many times.
MISSING_TARGET_RETRIES: Final = 1
#: A chunk answered 40501 'targets' is bisected to isolate the bad targets; this caps the
#: extra calls spent on one chunk (40501 answers cost nothing, but each still takes a slot).
MAX_SPLIT_CALLS_PER_CHUNK: Final = 64

# --- transport ---------------------------------------------------------------------------
#: The deadline of one whole call (connect, send, wait, read): live tasks time out server-side
#: at 120 s (50401), so wait longer than that; a trickling answer is cut here, not read forever.
DEFAULT_READ_TIMEOUT: Final = 150.0
#: Connecting has its own, short limit: a host that does not answer a SYN is not worth 150 s,
#: and two of these plus one backoff (~21 s) tell a job that the API is unreachable.
DEFAULT_CONNECT_TIMEOUT: Final = 10.0

# --- money -------------------------------------------------------------------------------
COST_PER_CALL_USD: Final = 0.02
COST_PER_TARGET_USD: Final = 0.00003

# --- targets -----------------------------------------------------------------------------
MAX_TAG_LENGTH: Final = 255

# --- stores (checkpoint, results cache) --------------------------------------------------
#: How long a write waits for another process's transaction on the same SQLite file before
#: giving up. Transactions are one chunk's rows (milliseconds), so only a stuck process makes
#: anyone wait this long; a shorter wait would surface "database is locked" under load.
SQLITE_BUSY_TIMEOUT: Final = 60.0
#: A Redis results cache (cache_redis.py) sets this time to live on each answer it stores: the
#: bound on its growth (Redis deletes expired answers by itself, no prune). Longer than any
#: usual max_age (a week, a month); an answer older than this is bought again whatever max_age.
REDIS_CACHE_TTL_SECONDS: Final = 30 * 86_400
#: The cache's Redis commands run on the job's event loop (the store interface is synchronous):
#: a Redis that does not answer may hold the job this long per attempt (3 attempts).
REDIS_CACHE_TIMEOUT: Final = 2.0
#: After a failed command the Redis cache is left alone this long (lookups answer nothing, the
#: targets are bought; answers are not stored), so a Redis that is gone costs one timeout per
#: this period, not one per chunk.
REDIS_CACHE_PAUSE_SECONDS: Final = 30.0
REDIS_CACHE_KEY_PREFIX: Final = "dataforseo-bulk:cache"
