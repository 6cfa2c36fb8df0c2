"""Money: what a call can cost, and the guard that keeps a job under ``max_cost``. Pure."""

from __future__ import annotations

import math

from ._constants import COST_PER_CALL_USD, COST_PER_TARGET_USD, MAX_CHUNK_SIZE
from .errors import ConfigurationError


def call_cost(n_targets: int) -> float:
    """The most one call for ``n_targets`` targets can cost ($0.02 + $0.00003 a target)."""
    return COST_PER_CALL_USD + COST_PER_TARGET_USD * n_targets


def estimate_cost(n_targets: int, *, chunk_size: int = MAX_CHUNK_SIZE) -> float:
    """The cost in USD of answering ``n_targets`` distinct valid targets without retries, in calls
    of ``chunk_size`` targets (1 to 1000, default 1000): $0.02 a call plus $0.00003 a target."""
    for name, value in (("n_targets", n_targets), ("chunk_size", chunk_size)):
        if type(value) is not int:
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if n_targets < 0:
        raise ConfigurationError(f"n_targets={n_targets!r}: give a count >= 0")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ConfigurationError(f"chunk_size={chunk_size!r}: give a size from 1 to {MAX_CHUNK_SIZE}")
    return math.ceil(n_targets / chunk_size) * COST_PER_CALL_USD + n_targets * COST_PER_TARGET_USD


class Budget:
    """Never dispatch a call that could take spending past ``max_cost`` or the account's
    ``balance`` (as read when the job started).

    Each call reserves its worst-case cost before it goes out and settles to the answer's
    reported ``cost`` when it returns. A call whose answer never arrived (timeout, cut
    connection) may still have been billed, so it settles at its worst case.
    """

    def __init__(self, max_cost: float | None, balance: float | None = None) -> None:
        self.max_cost = max_cost
        self.balance = balance
        self.spent = 0.0
        self.reserved = 0.0

    def reserve(self, worst_case: float) -> bool:
        if self.would_pass(self.max_cost, worst_case) or self.would_pass(self.balance, worst_case):
            return False
        self.reserved += worst_case
        return True

    def would_pass(self, cap: float | None, worst_case: float) -> bool:
        """Whether a call of ``worst_case`` could take spending past ``cap`` (``None``: no cap)."""
        return cap is not None and self.spent + self.reserved + worst_case > cap + 1e-12

    def settle(self, worst_case: float, charged: float | None) -> None:
        self.reserved -= worst_case
        self.spent += worst_case if charged is None else charged
