"""``--dry-run``: what a job would do, counted as the job counts, without a call.

Pure counting over the input (and, with a checkpoint, a read-only look at what it holds), so
the numbers are those the real run reports: ``targets`` (distinct input strings), ``duplicate``
(exact repeats, and other spellings of a target already read), ``invalid``, and the ``ok`` and
``failed`` rows the run ends with if every call it makes succeeds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..chunks import cut_chunk
from ..endpoints import Endpoint
from ..engine import OutcomeStore
from ..result import TargetFailure
from ..targets import InvalidTarget, normalize_target

_LOOKUP_BATCH = 900


@dataclass
class Plan:
    targets: int = 0
    duplicate: int = 0
    invalid: int = 0
    resumed: int = 0  # normalized targets the checkpoint already holds
    resumed_failed_rows: int = 0  # rows answered from the checkpoint with a failure
    #: Distinct input strings (spellings) per normalized valid target, in input order.
    spellings: dict[str, int] = field(default_factory=dict)
    to_send: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.invalid + self.resumed_failed_rows

    @property
    def ok(self) -> int:
        return self.targets - self.failed

    def calls(self, size: int, endpoint: Endpoint[Any]) -> int:
        """How many calls the job would make: chunks cut as the engine cuts them (root domains too)."""
        targets, calls = self.to_send, 0
        while targets:
            cut = cut_chunk(targets, size, endpoint.root_domain, endpoint.max_root_domains, final=True)
            targets = targets[cut:]
            calls += 1
        return calls


def plan(inputs: Iterable[str], store: OutcomeStore | None) -> Plan:
    """Count ``inputs`` as a job would, and look up in ``store`` what it already holds."""
    result = Plan()
    seen: set[str] = set()
    spellings = result.spellings
    for raw in inputs:
        if raw in seen:
            result.duplicate += 1
            continue
        seen.add(raw)
        target = normalize_target(raw)
        if isinstance(target, InvalidTarget):
            result.invalid += 1
        elif target in spellings:
            result.duplicate += 1
            spellings[target] += 1
        else:
            spellings[target] = 1
    result.targets = len(seen)
    distinct = list(spellings)
    if store is None:
        result.to_send = distinct
        return result
    for start in range(0, len(distinct), _LOOKUP_BATCH):
        part = distinct[start : start + _LOOKUP_BATCH]
        found = store.lookup(part)
        result.resumed += len(found)
        result.resumed_failed_rows += sum(
            spellings[t] for t, stored in found.items() if isinstance(stored.answer, TargetFailure)
        )
        result.to_send += [t for t in part if t not in found]
    return result
