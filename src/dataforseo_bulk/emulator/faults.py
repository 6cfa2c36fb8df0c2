"""Seeded fault injection: which fault (if any) hits a call, and what each kind does.

Only calls that passed auth, body, limits and validation can be hit. With probability
``fault_rate`` a call gets one kind, drawn uniformly from the enabled kinds (in sorted order,
so a seed gives the same sequence whatever the set's iteration order).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Final

#: Every fault kind with what it does; the keys are the names accepted by ``faults=`` / ``--faults``.
FAULT_DESCRIPTIONS: Final[Mapping[str, str]] = {
    "http500": "HTTP 500 with an error envelope (50000, no tasks); not charged",
    "http500_ok": "HTTP 500, but the body is a complete 20000 answer with all its items; charged",
    "http502": "HTTP 502 with a short HTML body; not charged",
    "http503": "HTTP 503 with a short HTML body; not charged",
    "http504": "HTTP 504 with a short HTML body; not charged",
    "envelope_50000": "HTTP 200, envelope 50000 'Internal Error.', no tasks; not charged",
    "task_50000": "HTTP 200, envelope 20000, the task 50000 'Internal Error.', cost 0",
    "task_50301": "HTTP 200, envelope 20000, the task 50301 '3rd Party API Service Unavailable.', cost 0",
    "task_50401": "HTTP 200, envelope 20000, the task 50401 'Internal Error - Timeout.', cost 0",
    "task_40202": "HTTP 200, envelope 20000, the task 40202 (rate limit), cost 0",
    "drop": "charged; the response announces its Content-Length, then the connection is cut mid-body",
    "slow": "charged; the answer waits slow_seconds (until the client gives up)",
    "malformed": "charged; HTTP 200 with a truncated, invalid JSON body",
    "missing_items": "charged for the items returned; at least one item is left out of the answer",
}
FAULT_KINDS: Final = frozenset(FAULT_DESCRIPTIONS)
#: Faults that hold a call for long (``slow``: ``slow_seconds``, 200 s by default): opt-in, by name
#: or ``all``, so that the default mix runs a job in seconds.
LONG_FAULTS: Final = frozenset({"slow"})
#: The kinds drawn from unless told otherwise: every fault a client must survive, answered at once.
DEFAULT_FAULTS: Final = FAULT_KINDS - LONG_FAULTS
#: Task-level faults: the fault kind → the task status code it sets.
TASK_FAULT_CODES: Final[Mapping[str, int]] = {
    "task_50000": 50000,
    "task_50301": 50301,
    "task_50401": 50401,
    "task_40202": 40202,
}
#: Faults whose answer is computed and billed although the client may never see it whole.
CHARGED_FAULTS: Final = frozenset({"http500_ok", "drop", "slow", "malformed", "missing_items"})


class FaultInjector:
    def __init__(self, rate: float, kinds: Iterable[str], seed: int | None) -> None:
        self.rate = rate
        self.kinds = tuple(sorted(kinds))
        self.rng = random.Random(seed)

    def draw(self) -> str | None:
        """The fault for the next call, or ``None``. Draws nothing when the rate is 0, so a
        seed's sequence is not disturbed by fault-free configurations."""
        if self.rate <= 0 or not self.kinds or self.rng.random() >= self.rate:
            return None
        return self.rng.choice(self.kinds)

    def items_to_drop(self, count: int) -> set[int]:
        """Positions of the items ``missing_items`` leaves out: at least one, at most a tenth
        (rounded up) of the answer."""
        if count <= 0:
            return set()
        how_many = self.rng.randint(1, max(1, -(-count // 10)))
        return set(self.rng.sample(range(count), how_many))
