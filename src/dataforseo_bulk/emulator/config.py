"""The emulator's settings: one frozen, validated value."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from .faults import DEFAULT_FAULTS, FAULT_KINDS

DEFAULT_LOGIN: Final = "emulator"
DEFAULT_PASSWORD: Final = "emulator-password"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """How the emulator behaves. Every field has a default: ``EmulatorConfig()`` is an honest,
    unlimited, instant server with credentials ``emulator`` / ``emulator-password``."""

    login: str = DEFAULT_LOGIN
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    #: Accepted calls per sliding window of ``rate_period`` seconds (``None``: unlimited).
    rate_limit: int | None = None
    rate_period: float = 60.0
    #: Calls processed at once (``None``: unlimited).
    max_concurrency: int | None = None
    latency_ms: float = 0.0
    #: Latency is ``latency_ms`` ± a uniform draw of at most ``jitter_ms`` (never below 0).
    jitter_ms: float = 0.0
    #: Probability that an otherwise good call is hit by a fault.
    fault_rate: float = 0.0
    #: The kinds drawn from: by default every kind but the long ``slow`` (opt-in).
    faults: frozenset[str] = DEFAULT_FAULTS
    seed: int | None = None
    #: How long the ``slow`` fault holds its answer.
    slow_seconds: float = 200.0
    #: The account's balance in USD (``None``: unlimited). A call whose cost, added to what was
    #: charged so far, would exceed it is refused with envelope 40210 "Insufficient funds.".
    balance_usd: float | None = None
    #: Share of targets answered with ``null`` values (the API's "no data"); which targets is a
    #: pure function of the target (:func:`~.endpoints.answers_null`).
    null_rate: float = 0.0
    #: Share of otherwise good calls answered 20000 with ``result`` ``null`` or ``[]`` (charged
    #: $0.02, the per-request price: the safe side of an unverified bill).
    empty_result_rate: float = 0.0

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ValueError("EmulatorConfig: " + "; ".join(problems))
        # Accept any iterable of names but store a frozenset, so the value stays hashable.
        object.__setattr__(self, "faults", frozenset(self.faults))

    def _problems(self) -> list[str]:
        problems: list[str] = []
        if not isinstance(self.login, str) or not self.login or ":" in self.login:
            problems.append(f"login must be a non-empty string without ':' (Basic auth), got {self.login!r}")
        if not isinstance(self.password, str) or not self.password:
            problems.append("password must be a non-empty string")
        if self.rate_limit is not None and not (_is_int(self.rate_limit) and self.rate_limit >= 1):
            problems.append(f"rate_limit must be an int >= 1, or None for no limit; got {self.rate_limit!r}")
        if not (_is_number(self.rate_period) and self.rate_period > 0):
            problems.append(f"rate_period must be a number of seconds > 0, e.g. 60; got {self.rate_period!r}")
        concurrency = self.max_concurrency
        if concurrency is not None and not (_is_int(concurrency) and concurrency >= 1):
            problems.append(
                f"max_concurrency must be an int >= 1, or None for no limit; got {self.max_concurrency!r}"
            )
        for name in ("latency_ms", "jitter_ms", "slow_seconds"):
            value = getattr(self, name)
            if not (_is_number(value) and value >= 0):
                problems.append(f"{name} must be a number >= 0; got {value!r}")
        if not (_is_number(self.fault_rate) and 0.0 <= self.fault_rate <= 1.0):
            problems.append(f"fault_rate is a probability from 0.0 to 1.0; got {self.fault_rate!r}")
        for name in ("null_rate", "empty_result_rate"):
            value = getattr(self, name)
            if not (_is_number(value) and 0.0 <= value <= 1.0):
                problems.append(f"{name} is a share from 0.0 to 1.0; got {value!r}")
        if isinstance(self.faults, str):
            problems.append(f"faults must be a set of names, e.g. frozenset({{{self.faults!r}}}), not a str")
        else:
            unknown = sorted(set(self.faults) - FAULT_KINDS)
            if unknown:
                problems.append(f"unknown fault kind(s) {unknown}; choose from {sorted(FAULT_KINDS)}")
            elif self.fault_rate > 0 and not self.faults:
                problems.append("fault_rate > 0 needs at least one kind in faults (or set fault_rate=0)")
        if self.balance_usd is not None and not (_is_number(self.balance_usd) and self.balance_usd >= 0):
            problems.append(
                f"balance_usd must be a number of USD >= 0, e.g. 0.25, or None for no limit; "
                f"got {self.balance_usd!r}"
            )
        if self.seed is not None and not _is_int(self.seed):
            problems.append(f"seed must be an int or None; got {self.seed!r}")
        return problems
