"""Typed items of the bulk endpoints that answer more than one number per target.

One frozen pydantic model per endpoint, with the item fields of the reference notes in the
order the API writes them. Each field is checked for its type only (no ranges: the API's
scales may change); keys the models do not name are ignored, so a field the API adds later
breaks nothing. The endpoints that answer one number per target (``bulk_backlinks``,
``bulk_ranks``, ``bulk_spam_score``) have no model: their value is that ``int``.

Choices:

* The echoed target (``target``; ``url`` on ``bulk_pages_summary``) is required: it is how an
  item is matched to its target. Every other field may be ``null`` or absent (``None``), as the
  official API schema allows: one metric without data does not throw away a paid-for row.
* Counts are strict integers: ``true`` or ``"12"`` in a count is a broken item, not a number.
* ``first_seen`` and ``lost_date`` are parsed from the API's ``"2019-11-15 12:57:46 +00:00"``
  (or ISO 8601) into aware :class:`datetime.datetime` values; a string in any other shape is
  kept as the API sent it, so a changed date format never turns a paid row into a bad item.
* ``target`` is left out of ``model_dump()``: the result is keyed by the caller's target
  already, and a CSV or JSONL row names the target in the caller's spelling.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr

#: The API's timestamp format, e.g. ``2019-11-15 12:57:46 +00:00``.
API_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"


def _api_time(value: Any) -> Any:
    if isinstance(value, str):
        for parse in (lambda text: dt.datetime.strptime(text, API_TIME_FORMAT), dt.datetime.fromisoformat):
            try:
                return parse(value)
            except ValueError:
                continue
    return value  # a string in another shape stays a string (see the module docstring)


Count = StrictInt | None
Timestamp = Annotated[dt.datetime | StrictStr | None, BeforeValidator(_api_time)]
CountMap = dict[str, StrictInt] | None


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ReferringDomainsItem(_Item):
    """``bulk_referring_domains``: live referring domains of the target."""

    target: StrictStr = Field(exclude=True)
    referring_domains: Count = None
    referring_domains_nofollow: Count = None
    referring_main_domains: Count = None
    referring_main_domains_nofollow: Count = None


class NewLostBacklinksItem(_Item):
    """``bulk_new_lost_backlinks``: backlinks found and lost since ``date_from``."""

    target: StrictStr = Field(exclude=True)
    new_backlinks: Count = None
    lost_backlinks: Count = None


class NewLostReferringDomainsItem(_Item):
    """``bulk_new_lost_referring_domains``: referring domains found and lost since ``date_from``."""

    target: StrictStr = Field(exclude=True)
    new_referring_domains: Count = None
    lost_referring_domains: Count = None
    new_referring_main_domains: Count = None
    lost_referring_main_domains: Count = None


class PagesSummaryItem(_Item):
    """``bulk_pages_summary``: the backlink profile of a page, subdomain or domain.

    ``url`` is the target as sent. The ``referring_links_*`` fields map a key (a TLD, a link
    type, an attribute, a platform type, a semantic location, a country) to a count.
    """

    type: StrictStr | None = None
    url: StrictStr
    rank: Count = None
    main_domain_rank: Count = None
    backlinks: Count = None
    first_seen: Timestamp = None
    lost_date: Timestamp = None
    backlinks_spam_score: Count = None
    broken_backlinks: Count = None
    broken_pages: Count = None
    referring_domains: Count = None
    referring_domains_nofollow: Count = None
    referring_main_domains: Count = None
    referring_main_domains_nofollow: Count = None
    referring_ips: Count = None
    referring_subnets: Count = None
    referring_pages: Count = None
    referring_pages_nofollow: Count = None
    referring_links_tld: CountMap = None
    referring_links_types: CountMap = None
    referring_links_attributes: CountMap = None
    referring_links_platform_types: CountMap = None
    referring_links_semantic_locations: CountMap = None
    referring_links_countries: CountMap = None
