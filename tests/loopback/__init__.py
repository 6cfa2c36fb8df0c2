"""Loopback tests: the client against the emulator over real sockets (``serve()``).

They prove that nothing is lost and nothing is paid twice without reason: every distinct input
string ends in ``result`` or ``result.failed``, every value is the emulator's, and the
emulator's ledger accounts for every call and every cent. Shared helpers live here.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any

from dataforseo_bulk import BulkClient, RetryPolicy
from dataforseo_bulk.emulator import DEFAULT_LOGIN, DEFAULT_PASSWORD, Ledger

LOGIN = DEFAULT_LOGIN
PASSWORD = DEFAULT_PASSWORD
#: Real retries with real (short) waits, enough of them that 20 % faults never exhaust them.
FAST_RETRY = RetryPolicy(max_retries=8, initial=0.01, maximum=0.05)
#: Charged by the emulator, but the client never gets a usable answer: the connection is cut
#: mid-body (``drop``), the answer comes after the client's timeout (``slow``), or the JSON is
#: cut in half (``malformed``). See ``emulator/faults.py`` (CHARGED_FAULTS) and ``app.py``.
UNUSABLE_CHARGED_FAULTS = frozenset({"drop", "slow", "malformed"})
#: Answers that carry no DataForSEO envelope, so the client cannot know their cost (HTML 50x
#: pages) on top of the unusable ones.
UNKNOWN_COST_FAULTS = UNUSABLE_CHARGED_FAULTS | {"http502", "http503", "http504"}


def client(url: str, **knobs: Any) -> BulkClient:
    """A client on the emulator at ``url``; fast retries and a generous rate unless overridden."""
    settings: dict[str, Any] = {
        "retry_policy": FAST_RETRY,
        "rate_limit": 100_000,
        "rate_period": 1.0,
        "timeout": 30.0,
    }
    settings.update(knobs)
    return BulkClient(LOGIN, PASSWORD, base_url=url, **settings)


def charged_targets_by_call(ledger: Ledger) -> dict[int, list[str]]:
    """``seq`` of each call → the targets charged in it, read from the ledger's
    ``charged_items`` table (documented in docs/emulator.md: plain sqlite3 works)."""
    by_call: dict[int, list[str]] = defaultdict(list)
    db = sqlite3.connect(f"{ledger.path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        for seq, target in db.execute("SELECT seq, target FROM charged_items ORDER BY seq"):
            by_call[seq].append(target)
    finally:
        db.close()
    return dict(by_call)
