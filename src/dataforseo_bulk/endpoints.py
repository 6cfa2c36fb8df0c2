"""What differs between DataForSEO's bulk endpoints, described as data for the one engine.

An :class:`Endpoint` names the path, the item field that echoes the target, how an item
becomes the value the caller gets, the per-call limits, and the extra request fields it takes
with their checks. The engine knows nothing else about an endpoint, so a new one is a new
description, not new pacing, retry or merge code.

The seven bulk endpoints (value per target; extra parameters):

* ``BULK_BACKLINKS``: ``int | None``, the item's ``backlinks``; none.
* ``BULK_RANKS``: ``int | None``, the item's ``rank``; ``rank_scale``.
* ``BULK_SPAM_SCORE``: ``int | None``, the item's ``spam_score``; none.

A one-number value is ``None`` when the API sent ``null`` for it: the official schema declares
every value field optional, and a ``null`` is the API's "no data" for a target it answered
(and billed). It is an answer, kept like any other (a checkpoint never buys it again).
* ``BULK_REFERRING_DOMAINS``: :class:`~.items.ReferringDomainsItem`; none.
* ``BULK_NEW_LOST_BACKLINKS``: :class:`~.items.NewLostBacklinksItem`; ``date_from``.
* ``BULK_NEW_LOST_REFERRING_DOMAINS``: :class:`~.items.NewLostReferringDomainsItem`; ``date_from``.
* ``BULK_PAGES_SUMMARY``: :class:`~.items.PagesSummaryItem` (keyed by ``url``);
  ``include_subdomains``, ``rank_scale``.

``BULK_PAGES_SUMMARY`` also takes at most 100 distinct root domains a call (Public Suffix List,
:mod:`.domains`); the engine's chunk builder honours it.

The item models (:mod:`.items`) are loaded when a typed endpoint parses its first item or
:attr:`Endpoint.item_model` is read. (This was to keep pydantic out of start-up; pydantic is
now imported with the client, whose knobs it checks, so only building the models is saved.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from ._constants import MAX_CHUNK_SIZE
from .domains import root_domain as psl_root_domain
from .errors import ConfigurationError
from .params import check_date_from, check_include_subdomains, check_rank_scale, utc_today

if TYPE_CHECKING:  # pydantic and the item models are loaded on first use (see the docstring)
    from pydantic import BaseModel

    from .items import (
        NewLostBacklinksItem,
        NewLostReferringDomainsItem,
        PagesSummaryItem,
        ReferringDomainsItem,
    )

V = TypeVar("V")
M = TypeVar("M", bound="BaseModel")

#: Checks one extra request field: (value the caller gave, today in UTC) → the value to send.
#: Raises :class:`ConfigurationError` with a message that says how to fix the call.
ParamCheck = Callable[[object, dt.date], object]
NO_PARAMS: Final[Mapping[str, ParamCheck]] = MappingProxyType({})
#: Fields of every task that the client fills in itself (one chunk's targets, its tag).
RESERVED_PARAMS: Final = frozenset({"targets", "tag"})


class ItemError(ValueError):
    """An item in a successful answer does not have the shape the endpoint promises."""


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[V]):
    """One bulk endpoint, described as data: the seven are ``BULK_*`` and :data:`ENDPOINTS`.

    Pass one (or its ``name``) to :meth:`BulkClient.run` / :meth:`BulkClient.stream`.
    """

    name: str  # e.g. "bulk_backlinks"
    value: Callable[[dict[str, Any]], V]  # item -> what the caller gets; raises ItemError
    key_field: str = "target"  # the item field that echoes the target as sent
    max_targets: int = MAX_CHUNK_SIZE
    #: A second per-call limit: at most this many distinct ``root_domain(target)`` per call.
    max_root_domains: int | None = None
    root_domain: Callable[[str], str] | None = None
    #: The extra request fields this endpoint takes, each with its check (see :meth:`check_params`).
    parameters: Mapping[str, ParamCheck] = field(default_factory=lambda: NO_PARAMS)
    #: The item field that is the whole value, for endpoints answering one number per target.
    value_field: str | None = None
    #: Returns the pydantic model of the value, for endpoints answering a typed item (see
    #: :attr:`item_model`): a function, so that the model is imported when first needed.
    load_item_model: Callable[[], type[BaseModel]] | None = None
    #: Item fields an output row keeps beside a one-number value (``type`` on spam scores).
    row_fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # The generated repr would print the value function (<function int_field.<locals>...>).
        value = self.value_field
        if value is None and self.load_item_model is not None:  # _pages_summary_item: PagesSummaryItem
            value = "".join(word.capitalize() for word in self.load_item_model.__name__.split("_"))
        return f"<Endpoint {self.name} {self.path}" + (f" -> {value}>" if value else ">")

    @property
    def item_model(self) -> type[BaseModel] | None:
        """The pydantic model of the value, for endpoints answering a typed item, else ``None``."""
        return self.load_item_model() if self.load_item_model is not None else None

    @property
    def path(self) -> str:
        return f"/v3/backlinks/{self.name}/live"

    @property
    def columns(self) -> tuple[str, ...]:
        """The output columns of a value, after the target: the one-number endpoint's item field,
        or the item model's fields as dumped (the API's order). Known before any answer arrives."""
        if self.value_field is not None:
            return (*self.row_fields, self.value_field)
        model = self.item_model
        if model is not None:
            return tuple(name for name, info in model.model_fields.items() if not info.exclude)
        return ()

    def check_params(
        self, params: Mapping[str, object] | None, *, today: dt.date | None = None
    ) -> dict[str, Any]:
        """The request fields to send for ``params``, checked before any call.

        A ``None`` value leaves the field out (the API's default applies). Raises
        :class:`ConfigurationError` for a field this endpoint does not take, ``targets`` or
        ``tag`` (the client fills those in), or a value the field's check refuses.
        """
        if params is not None and not isinstance(params, Mapping):
            raise TypeError(
                f"params must be a dict of request fields, e.g. {{'rank_scale': 'one_hundred'}}, "
                f"not {type(params).__name__}"
            )
        checked: dict[str, Any] = {}
        for name, value in (params or {}).items():
            if name in RESERVED_PARAMS:
                raise ConfigurationError(
                    f"params may not set {name!r}: the client fills in targets and tag of each call"
                )
            check = self.parameters.get(name)
            if check is None:
                takes = ", ".join(self.parameters) or "no extra parameters"
                raise ConfigurationError(f"{self.name} has no parameter {name!r}; it takes: {takes}")
            if value is not None:
                checked[name] = check(value, today or utc_today())
        return checked


def int_field(name: str) -> Callable[[dict[str, Any]], int | None]:
    """An item's single integer field, e.g. ``backlinks``; ``None`` when the API sent ``null``."""

    def value(item: dict[str, Any]) -> int | None:
        found = item.get(name)
        if type(found) is int:  # bool is an int subclass; it is not a count
            return found
        if found is None and name in item:  # the API's "no data": an answer, not a broken item
            return None
        raise ItemError(f"item field {name!r} is {found!r}, not an integer")

    return value


def model_value(model: type[M]) -> Callable[[dict[str, Any]], M]:
    """An item parsed into ``model``; a field of the wrong type is an :class:`ItemError`."""
    from pydantic import ValidationError  # already imported with the model; see the docstring

    def value(item: dict[str, Any]) -> M:
        try:
            return model.model_validate(item)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "item"
            raise ItemError(
                f"item field {where!r} is {first.get('input')!r}: {first['msg']} ({model.__name__})"
            ) from None

    return value


def on_first_use(make: Callable[[], Callable[[dict[str, Any]], V]]) -> Callable[[dict[str, Any]], V]:
    """The value function ``make()`` returns, made when the first item arrives (for the item
    models, which import pydantic: see the module docstring)."""
    made: Callable[[dict[str, Any]], V] | None = None

    def value(item: dict[str, Any]) -> V:
        nonlocal made
        if made is None:
            made = make()
        return made(item)

    return value


def as_row(endpoint: Endpoint[Any]) -> Endpoint[Any]:
    """``endpoint`` with a one-number value given as ``{value_field: number}``, so an output
    writer names the column after the item field (``rank``, ``spam_score``); other endpoints
    are returned as they are. The path, limits and parameters are the same description's."""
    column, value, kept = endpoint.value_field, endpoint.value, endpoint.row_fields
    if column is None:
        return endpoint

    def row(item: dict[str, Any]) -> dict[str, Any]:
        return {**{name: item.get(name) for name in kept}, column: value(item)}

    return dataclasses.replace(endpoint, value=row)


def _rank_scale(value: object, today: dt.date) -> object:
    return check_rank_scale(value)


def _include_subdomains(value: object, today: dt.date) -> object:
    return check_include_subdomains(value)


def _date_from(value: object, today: dt.date) -> object:
    return check_date_from(value, today=today)


# The item models, imported on first use: importing them imports pydantic (~0.1 s).
def _referring_domains_item() -> type[ReferringDomainsItem]:
    from .items import ReferringDomainsItem

    return ReferringDomainsItem


def _new_lost_backlinks_item() -> type[NewLostBacklinksItem]:
    from .items import NewLostBacklinksItem

    return NewLostBacklinksItem


def _new_lost_referring_domains_item() -> type[NewLostReferringDomainsItem]:
    from .items import NewLostReferringDomainsItem

    return NewLostReferringDomainsItem


def _pages_summary_item() -> type[PagesSummaryItem]:
    from .items import PagesSummaryItem

    return PagesSummaryItem


_DATE_FROM: Final[Mapping[str, ParamCheck]] = MappingProxyType({"date_from": _date_from})

BULK_BACKLINKS: Final[Endpoint[int | None]] = Endpoint(
    "bulk_backlinks", int_field("backlinks"), value_field="backlinks"
)
BULK_RANKS: Final[Endpoint[int | None]] = Endpoint(
    "bulk_ranks",
    int_field("rank"),
    parameters=MappingProxyType({"rank_scale": _rank_scale}),
    value_field="rank",
)
BULK_SPAM_SCORE: Final[Endpoint[int | None]] = Endpoint(
    "bulk_spam_score", int_field("spam_score"), value_field="spam_score", row_fields=("type",)
)
BULK_REFERRING_DOMAINS: Final[Endpoint[ReferringDomainsItem]] = Endpoint(
    "bulk_referring_domains",
    on_first_use(lambda: model_value(_referring_domains_item())),
    load_item_model=_referring_domains_item,
)
BULK_NEW_LOST_BACKLINKS: Final[Endpoint[NewLostBacklinksItem]] = Endpoint(
    "bulk_new_lost_backlinks",
    on_first_use(lambda: model_value(_new_lost_backlinks_item())),
    parameters=_DATE_FROM,
    load_item_model=_new_lost_backlinks_item,
)
BULK_NEW_LOST_REFERRING_DOMAINS: Final[Endpoint[NewLostReferringDomainsItem]] = Endpoint(
    "bulk_new_lost_referring_domains",
    on_first_use(lambda: model_value(_new_lost_referring_domains_item())),
    parameters=_DATE_FROM,
    load_item_model=_new_lost_referring_domains_item,
)
BULK_PAGES_SUMMARY: Final[Endpoint[PagesSummaryItem]] = Endpoint(
    "bulk_pages_summary",
    on_first_use(lambda: model_value(_pages_summary_item())),
    key_field="url",
    max_root_domains=100,
    root_domain=psl_root_domain,
    parameters=MappingProxyType({"include_subdomains": _include_subdomains, "rank_scale": _rank_scale}),
    load_item_model=_pages_summary_item,
)

#: The seven bulk endpoints by name (the ``{name}`` of ``/v3/backlinks/{name}/live``).
ENDPOINTS: Final[Mapping[str, Endpoint[Any]]] = MappingProxyType(
    {
        endpoint.name: endpoint
        for endpoint in (
            BULK_BACKLINKS,
            BULK_RANKS,
            BULK_SPAM_SCORE,
            BULK_REFERRING_DOMAINS,
            BULK_NEW_LOST_BACKLINKS,
            BULK_NEW_LOST_REFERRING_DOMAINS,
            BULK_PAGES_SUMMARY,
        )
    }
)


def endpoint_named(name: str) -> Endpoint[Any]:
    """The bulk endpoint called ``name`` in the API (``"bulk_ranks"``); a :class:`ConfigurationError`
    listing the names for any other string."""
    endpoint = ENDPOINTS.get(name)
    if endpoint is None:
        raise ConfigurationError(f"no bulk endpoint is called {name!r}: give one of {', '.join(ENDPOINTS)}")
    return endpoint
