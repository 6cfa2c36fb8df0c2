"""What differs between DataForSEO's bulk endpoints, described as data for the one engine.

An :class:`Endpoint` names the path, the item field that echoes the target, how an item
becomes the value the caller gets, and the per-call limits. The engine knows nothing else
about an endpoint, so a new one is a new description, not new pacing, retry or merge code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._constants import MAX_CHUNK_SIZE

V = TypeVar("V")


class ItemError(ValueError):
    """An item in a successful answer does not have the shape the endpoint promises."""


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[V]):
    name: str  # e.g. "bulk_backlinks"
    value: Callable[[dict[str, Any]], V]  # item -> what the caller gets; raises ItemError
    key_field: str = "target"  # the item field that echoes the target as sent
    max_targets: int = MAX_CHUNK_SIZE
    #: A second per-call limit: at most this many distinct ``root_domain(target)`` per call.
    max_root_domains: int | None = None
    root_domain: Callable[[str], str] | None = None

    @property
    def path(self) -> str:
        return f"/v3/backlinks/{self.name}/live"


def int_field(name: str) -> Callable[[dict[str, Any]], int]:
    """An item's single integer field, e.g. ``backlinks``."""

    def value(item: dict[str, Any]) -> int:
        found = item.get(name)
        if type(found) is int:  # bool is an int subclass; it is not a count
            return found
        raise ItemError(f"item field {name!r} is {found!r}, not an integer")

    return value


BULK_BACKLINKS: Endpoint[int] = Endpoint("bulk_backlinks", int_field("backlinks"))
