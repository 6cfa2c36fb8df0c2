"""Long waits said out loud: a chunk held for 50303/50304 (minutes) or a proxy's Retry-After
would otherwise look like a stalled job between two progress lines."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Final, TextIO

from ..engine import RetryDetails

#: Waits at least this long are announced; shorter ones are ordinary retries.
ANNOUNCE_WAITS_FROM: Final = 10.0


def describe_wait(details: RetryDetails) -> str:
    """One line: which chunk waits, how long, and the answer that asked for it."""
    http = f"HTTP {details.http_status}" if details.http_status not in (None, 200) else None
    why = " / ".join(str(part) for part in (details.code, http) if part)
    return (
        f"dataforseo-bulk: waiting {details.wait:.0f} s before retrying {details.chunk} "
        f"(attempt {details.attempt} answered {why or 'nothing'}: {details.message})"
    )


def announce_long_waits(stream: TextIO | None = None) -> Callable[[RetryDetails], None]:
    def on_retry(details: RetryDetails) -> None:
        if details.wait >= ANNOUNCE_WAITS_FROM:
            print(describe_wait(details), file=stream or sys.stderr, flush=True)

    return on_retry
