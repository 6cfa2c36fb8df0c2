"""Chunks: the unit of one call. Targets are grouped lazily, at most ``size`` per chunk.

A chunk carries normalized, distinct targets and a ``tag`` that ties the API's answer to
it (the API echoes the tag in ``data``). Sub-chunks made by retries of missing targets or
by bisection of a 40501 keep their parent's index and get a suffix in the tag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
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


class ChunkBuilder:
    """Collects targets into one chunk: at most ``size`` targets and, when ``group_of`` is
    given, at most ``max_groups`` distinct groups (bulk_pages_summary: 100 root domains)."""

    __slots__ = ("_group_of", "_groups", "_max_groups", "size", "targets")

    def __init__(
        self, size: int, *, group_of: Callable[[str], str] | None = None, max_groups: int | None = None
    ) -> None:
        self.size = size
        self._group_of = group_of if max_groups is not None else None
        self._max_groups = max_groups or 0
        self._groups: set[str] = set()
        self.targets: list[str] = []

    def fits(self, target: str) -> bool:
        """Would ``target`` still fit in this chunk?"""
        if len(self.targets) >= self.size:
            return False
        if self._group_of is None:
            return True
        return len(self._groups) < self._max_groups or self._group_of(target) in self._groups

    def add(self, target: str) -> None:
        self.targets.append(target)
        if self._group_of is not None:
            self._groups.add(self._group_of(target))

    @property
    def full(self) -> bool:
        return len(self.targets) >= self.size

    def take(self) -> list[str]:
        taken, self.targets = self.targets, []
        self._groups = set()
        return taken

    def refill(self, targets: list[str]) -> None:
        """Start again from ``targets`` (what is left of a taken chunk)."""
        for target in targets:
            self.add(target)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most ``size`` items, consuming ``items`` lazily."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def halves(targets: list[str]) -> tuple[list[str], list[str]]:
    middle = len(targets) // 2
    return targets[:middle], targets[middle:]
