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
    """Why a target has no value, in one word (``TargetFailure.kind``)."""

    INVALID = "invalid"  # rejected before sending (the reason says why); never sent
    PERMANENT = "permanent"  # the API refused the chunk for good (code + API message)
    RETRIES_EXHAUSTED = "retries_exhausted"  # transient errors outlasted max_retries
    MISSING = "missing"  # absent from successful answers, also after asking again
    BAD_ITEM = "bad_item"  # the API's item for this target did not have the promised shape
    ABORTED = "aborted"  # read, but the job stopped (fatal answer, budget, cancel) before an answer
    NO_DATA = "no_data"  # the API answered Ok. with no result (null or []), also when asked again


@dataclass(frozen=True, slots=True)
class TargetFailure:
    """Why a target has no value: one entry of ``result.failed``.

    * **kind** - a :class:`FailureKind`: ``invalid`` (never sent), ``permanent`` (the API
      refused it), ``retries_exhausted``, ``missing``, ``bad_item``, ``aborted`` (the job stopped
      first; rerun with the same checkpoint).
    * **reason** - in words: the validation problem, or the API's own message.
    * **code** - DataForSEO's status code (e.g. 40501), when the API gave one.
    * **http_status** - the HTTP status of the answer, when there was one.
    * **chunk** - the call the target was in (a :class:`ChunkRef`: index and tag), when sent.
    """

    kind: FailureKind
    reason: str
    code: int | None = None
    http_status: int | None = None
    chunk: ChunkRef | None = None


@dataclass(frozen=True, slots=True)
class JobStats:
    """The counts of one job (``result.stats``, ``outcomes.stats()``).

    ``targets == ok + failed`` (distinct input strings); ``duplicate`` inputs are not counted
    again. ``calls`` includes retries. ``cost_usd`` is the sum of the ``cost`` the API reported;
    ``unknown_cost_calls`` counts calls whose answer was lost (they may have been billed too).
    ``elapsed`` is in seconds.
    """

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

    def __repr__(self) -> str:
        # Money to the API's own granularity ($0.00003 a target), time to the hundredth.
        fields = ", ".join(
            f"{name}={getattr(self, name)}"
            for name in ("targets", "ok", "failed", "duplicate", "invalid", "calls", "retries")
        )
        return (
            f"JobStats({fields}, cost_usd={round(self.cost_usd, 5)}, "
            f"unknown_cost_calls={self.unknown_cost_calls}, resumed={self.resumed}, "
            f"elapsed={round(self.elapsed, 2)})"
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """Handed to ``on_progress`` after every chunk: counts so far, ``cost_usd`` in USD,
    ``elapsed`` in seconds since the job started."""

    chunks_done: int
    targets_done: int
    calls: int
    retries: int
    cost_usd: float
    elapsed: float


class BulkResult(Mapping[str, V], Generic[V]):
    """What a job returns: a read-only ``Mapping[str, V]`` of answered targets → value.

    Keys are your own strings exactly as given (each spelling of a target gets its answer).
    Every distinct input is in exactly one of ``result`` and ``result.failed``:

    * ``result[target]`` - the value (an ``int`` for ``bulk_backlinks``; see the method);
    * ``result.failed`` - target → :class:`TargetFailure` (why there is no value);
    * ``result.stats`` - a :class:`JobStats`: calls, retries, cost, time.
    """

    __slots__ = ("_failed", "_values", "stats")

    def __init__(self, values: dict[str, V], failed: dict[str, TargetFailure], stats: JobStats) -> None:
        self._values = values
        self._failed = failed
        self.stats = stats

    @property
    def failed(self) -> Mapping[str, TargetFailure]:
        """Every target without a value → why (read-only)."""
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
