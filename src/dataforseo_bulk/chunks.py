"""Chunks: the unit of one call. Targets are grouped lazily, at most ``size`` per chunk.

A chunk carries normalized, distinct targets and a ``tag`` that ties the API's answer to
it (the API echoes the tag in ``data``). Sub-chunks made by retries of missing targets or
by bisection of a 40501 keep their parent's index and get a suffix in the tag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChunkRef:
    """Which chunk an error or a failure is about."""

    index: int
    size: int
    tag: str

    def __str__(self) -> str:
        return f"chunk {self.index}, {self.size} targets, tag {self.tag!r}"


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    targets: list[str]
    tag: str

    @property
    def ref(self) -> ChunkRef:
        return ChunkRef(self.index, len(self.targets), self.tag)

    def part(self, targets: list[str], suffix: str) -> Chunk:
        """A sub-chunk of this one (bisection, missing-target retry)."""
        return Chunk(self.index, targets, f"{self.tag}{suffix}")


def cut_chunk(
    pending: list[str],
    size: int,
    group_of: Callable[[str], str] | None = None,
    max_groups: int | None = None,
    *,
    final: bool = False,
) -> int:
    """Where the next chunk ends in ``pending``: 0 if no full chunk is there yet.

    A chunk holds at most ``size`` targets and, with ``group_of``, at most ``max_groups``
    distinct groups (bulk_pages_summary: 100 root domains). It is cut when either limit is
    reached; with ``final`` (the input has ended) what remains is cut as well.
    """
    if group_of is None or max_groups is None:
        if len(pending) >= size:
            return size
        return len(pending) if final else 0
    groups: set[str] = set()
    for index, target in enumerate(pending):
        if index == size:
            return size
        group = group_of(target)
        if group not in groups:
            if len(groups) == max_groups:
                return index
            groups.add(group)
    return len(pending) if final or len(pending) >= size else 0


def halves(targets: list[str]) -> tuple[list[str], list[str]]:
    middle = len(targets) // 2
    return targets[:middle], targets[middle:]
