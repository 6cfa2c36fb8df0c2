"""Chunk forming, as tables: the size limit, and the root-domain limit of bulk_pages_summary."""

from __future__ import annotations

import pytest

from dataforseo_bulk.chunks import ChunkBuilder, batched, halves


def form(targets: list[str], builder: ChunkBuilder) -> list[list[str]]:
    """Drive a builder the way the engine does and return the chunks it makes."""
    chunks: list[list[str]] = []
    for target in targets:
        if not builder.fits(target):
            chunks.append(builder.take())
        builder.add(target)
        if builder.full:
            chunks.append(builder.take())
    if builder.targets:
        chunks.append(builder.take())
    return chunks


def last_label(target: str) -> str:
    return target.rsplit(".", 1)[-1]


@pytest.mark.parametrize(
    ("n", "size", "expected_sizes"),
    [(0, 3, []), (1, 3, [1]), (3, 3, [3]), (7, 3, [3, 3, 1]), (2500, 1000, [1000, 1000, 500])],
)
def test_size_limit(n: int, size: int, expected_sizes: list[int]) -> None:
    targets = [f"t{i}.com" for i in range(n)]
    chunks = form(targets, ChunkBuilder(size))
    assert [len(c) for c in chunks] == expected_sizes
    assert [t for c in chunks for t in c] == targets  # nothing lost, order kept


@pytest.mark.parametrize(
    ("targets", "max_groups", "expected"),
    [
        (["a.x", "b.x", "c.y", "d.z"], 2, [["a.x", "b.x", "c.y"], ["d.z"]]),
        (["a.x", "b.y", "c.x", "d.y", "e.z"], 2, [["a.x", "b.y", "c.x", "d.y"], ["e.z"]]),
        (["a.x", "b.y", "c.z"], 1, [["a.x"], ["b.y"], ["c.z"]]),
        (["a.x", "b.x", "c.x", "d.x", "e.x"], 1, [["a.x", "b.x", "c.x", "d.x"], ["e.x"]]),  # size 4 binds
    ],
    ids=["third group starts a chunk", "known groups keep filling", "one group each", "size still binds"],
)
def test_group_limit(targets: list[str], max_groups: int, expected: list[list[str]]) -> None:
    builder = ChunkBuilder(4, group_of=last_label, max_groups=max_groups)
    assert form(targets, builder) == expected


def test_refill_recounts_groups() -> None:
    builder = ChunkBuilder(10, group_of=last_label, max_groups=1)
    builder.add("a.x")
    builder.refill(builder.take()[:0])  # everything answered from a checkpoint
    assert builder.fits("b.y")


def test_batched_and_halves() -> None:
    assert list(batched(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert halves(["a", "b", "c"]) == (["a"], ["b", "c"])
