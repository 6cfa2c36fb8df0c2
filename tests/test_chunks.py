"""Chunk forming, as tables: the size limit, and the root-domain limit of bulk_pages_summary."""

from __future__ import annotations

import pytest

from dataforseo_bulk.chunks import cut_chunk, halves


def form(targets: list[str], size: int, group_of=None, max_groups=None, batch: int = 3) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Feed ``targets`` in batches and cut chunks the way the engine does; return the chunks."""
    chunks: list[list[str]] = []
    pending: list[str] = []
    for start in range(0, len(targets), batch):
        pending.extend(targets[start : start + batch])
        while cut := cut_chunk(pending, size, group_of, max_groups):
            chunks.append(pending[:cut])
            pending = pending[cut:]
    while pending:
        cut = cut_chunk(pending, size, group_of, max_groups, final=True)
        chunks.append(pending[:cut])
        pending = pending[cut:]
    return chunks


def last_label(target: str) -> str:
    return target.rsplit(".", 1)[-1]


@pytest.mark.parametrize(
    ("n", "size", "expected_sizes"),
    [(0, 3, []), (1, 3, [1]), (3, 3, [3]), (7, 3, [3, 3, 1]), (2500, 1000, [1000, 1000, 500])],
)
def test_size_limit(n: int, size: int, expected_sizes: list[int]) -> None:
    targets = [f"t{i}.com" for i in range(n)]
    chunks = form(targets, size, batch=max(1, size // 2))
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
    for batch in (1, 2, 10):  # however the input arrives
        assert form(targets, 4, last_label, max_groups, batch=batch) == expected


def test_no_chunk_before_a_limit_is_reached() -> None:
    assert cut_chunk(["a.x", "b.x"], 4) == 0
    assert cut_chunk(["a.x", "b.x"], 4, last_label, 2) == 0
    assert cut_chunk(["a.x", "b.x"], 4, final=True) == 2


def test_halves() -> None:
    assert halves(["a", "b", "c"]) == (["a"], ["b", "c"])


@pytest.mark.parametrize(
    ("pending", "group_of", "max_groups", "cut"),
    [
        (["a.com", "b.com", "c.com"], None, None, 3),  # full: cut now, not when more comes
        (["a.com", "b.com", "c.com"], last_label, 10, 3),
        (["a.com", "b.com"], None, None, 0),  # not full, input not ended: wait
        (["a.com", "b.com"], last_label, 10, 0),
        # One limit without the other is no group limit at all.
        (["a.com", "b.org", "c.net"], last_label, None, 3),
        (["a.com", "b.org", "c.net"], None, 1, 3),
    ],
    ids=["full", "full-grouped", "not-full", "not-full-grouped", "no-max-groups", "no-group-of"],
)
def test_a_chunk_is_cut_as_soon_as_it_is_full(pending, group_of, max_groups, cut: int) -> None:  # type: ignore[no-untyped-def]
    assert cut_chunk(pending, 3, group_of, max_groups) == cut
