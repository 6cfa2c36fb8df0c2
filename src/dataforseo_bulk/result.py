"""What a job hands back: a read-only map target → value, the failures, the stats.

Keys are the caller's own strings, exactly as given. Every distinct input string is in
exactly one of ``result`` (a value) or ``result.failed`` (a :class:`TargetFailure`).
"""

from __future__ import annotations

import enum
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from .chunks import ChunkRef

V = TypeVar("V")


class FailureKind(enum.Enum):
    INVALID = "invalid"  # rejected before sending (the reason says why); never sent
    PERMANENT = "permanent"  # the API refused the chunk for good (code + API message)
    RETRIES_EXHAUSTED = "retries_exhausted"  # transient errors outlasted max_retries
    MISSING = "missing"  # absent from successful answers, also after asking again
    BAD_ITEM = "bad_item"  # the API's item for this target did not have the promised shape
    ABORTED = "aborted"  # read, but the job stopped (fatal answer, budget, cancel) before an answer
    NO_DATA = "no_data"  # the API answered Ok. with no result (null or []), also when asked again


@dataclass(frozen=True, slots=True)
class TargetFailure:
    """Why a target has no value. ``code`` is DataForSEO's status code when there was one."""

    kind: FailureKind
    reason: str
    code: int | None = None
    http_status: int | None = None
    chunk: ChunkRef | None = None


@dataclass(frozen=True, slots=True)
class JobStats:
    targets: int = 0  # distinct input strings
    ok: int = 0
    failed: int = 0
    duplicate: int = 0  # inputs that repeated an earlier one, exactly or after normalisation
    invalid: int = 0
    calls: int = 0  # every attempt that went out, retries included
    retries: int = 0
    cost_usd: float = 0.0  # sum of the `cost` of every answer
    unknown_cost_calls: int = 0  # calls whose answer never arrived: maybe billed, cost unknown
    resumed: int = 0  # targets answered from a checkpoint, without a call
    cached: int = 0  # targets answered from the results cache, without a call
    saved_usd: float = 0.0  # what the cached targets would have cost, in full chunks
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class Progress:
    """Handed to the progress hook after every chunk."""

    chunks_done: int
    targets_done: int
    calls: int
    retries: int
    cost_usd: float
    elapsed: float


class BulkResult(Mapping[str, V], Generic[V]):
    """Read-only ``Mapping[str, V]`` of answered targets, with ``failed`` and ``stats``."""

    __slots__ = ("_failed", "_values", "stats")

    def __init__(self, values: dict[str, V], failed: dict[str, TargetFailure], stats: JobStats) -> None:
        self._values = values
        self._failed = failed
        self.stats = stats

    @property
    def failed(self) -> Mapping[str, TargetFailure]:
        return MappingProxyType(self._failed)

    def __getitem__(self, target: str) -> V:
        return self._values[target]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    # The Mapping mixins work through __getitem__ one key at a time; the dict does it in C.
    def __contains__(self, target: object) -> bool:
        return target in self._values

    def get(self, target: str, default: Any = None) -> Any:
        return self._values.get(target, default)

    def keys(self) -> KeysView[str]:
        return self._values.keys()

    def values(self) -> ValuesView[V]:
        return self._values.values()

    def items(self) -> ItemsView[str, V]:
        return self._values.items()

    def __repr__(self) -> str:
        return (
            f"<BulkResult ok={len(self._values)} failed={len(self._failed)} cost=${self.stats.cost_usd:.4f}>"
        )
