"""The seven bulk endpoints in one table, so every request goes down one code path.

Each :class:`EndpointSpec` says which extra request fields the endpoint accepts (and how each
is checked), which fields its items carry in the API's order (and which :mod:`.values`
function computes each), which field echoes the target, and whether the result has a
``total_count``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from types import MappingProxyType
from typing import Final

from . import values as v
from .validation import date_from_is_valid, include_subdomains_is_valid, rank_scale_is_valid

#: How an endpoint field is checked: (value as sent, today in UTC) → acceptable.
FieldCheck = Callable[[object, dt.date], bool]
Item = dict[str, object]


def echo_target(target: str, params: v.Params) -> str:
    """The key field (``target`` or ``url``): the target string exactly as sent."""
    return target


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    name: str
    #: Extra request fields beyond ``targets`` and ``tag``, with their checks.
    extra_fields: Mapping[str, FieldCheck]
    #: Item fields in the order the API writes them, each with the function computing it.
    item_fields: tuple[tuple[str, v.ValueFn], ...]
    key_field: str = "target"
    has_total_count: bool = False
    #: At most this many distinct root domains among the targets (``None``: no such rule).
    max_root_domains: int | None = None

    @property
    def path(self) -> str:
        return f"/v3/backlinks/{self.name}/live"


_NO_FIELDS: Final[Mapping[str, FieldCheck]] = MappingProxyType({})
_DATE_FROM: Final[Mapping[str, FieldCheck]] = MappingProxyType({"date_from": date_from_is_valid})

_SPECS: Final = (
    EndpointSpec(
        "bulk_backlinks",
        _NO_FIELDS,
        (("target", echo_target), ("backlinks", v.backlinks)),
    ),
    EndpointSpec(
        "bulk_ranks",
        MappingProxyType({"rank_scale": rank_scale_is_valid}),
        (("target", echo_target), ("rank", v.rank)),
    ),
    EndpointSpec(
        "bulk_spam_score",
        _NO_FIELDS,
        (("type", v.target_type), ("target", echo_target), ("spam_score", v.spam_score)),
    ),
    EndpointSpec(
        "bulk_referring_domains",
        _NO_FIELDS,
        (
            ("target", echo_target),
            ("referring_domains", v.referring_domains),
            ("referring_domains_nofollow", v.referring_domains_nofollow),
            ("referring_main_domains", v.referring_main_domains),
            ("referring_main_domains_nofollow", v.referring_main_domains_nofollow),
        ),
    ),
    EndpointSpec(
        "bulk_new_lost_backlinks",
        _DATE_FROM,
        (("target", echo_target), ("new_backlinks", v.new_backlinks), ("lost_backlinks", v.lost_backlinks)),
    ),
    EndpointSpec(
        "bulk_new_lost_referring_domains",
        _DATE_FROM,
        (
            ("target", echo_target),
            ("new_referring_domains", v.new_referring_domains),
            ("lost_referring_domains", v.lost_referring_domains),
            ("new_referring_main_domains", v.new_referring_main_domains),
            ("lost_referring_main_domains", v.lost_referring_main_domains),
        ),
    ),
    EndpointSpec(
        "bulk_pages_summary",
        MappingProxyType(
            {"include_subdomains": include_subdomains_is_valid, "rank_scale": rank_scale_is_valid}
        ),
        (
            ("type", v.target_type),
            ("url", echo_target),
            ("rank", v.rank),
            ("main_domain_rank", v.main_domain_rank),
            ("backlinks", v.backlinks),
            ("first_seen", v.first_seen),
            ("lost_date", v.lost_date),
            ("backlinks_spam_score", v.backlinks_spam_score),
            ("broken_backlinks", v.broken_backlinks),
            ("broken_pages", v.broken_pages),
            ("referring_domains", v.referring_domains),
            ("referring_domains_nofollow", v.referring_domains_nofollow),
            ("referring_main_domains", v.referring_main_domains),
            ("referring_main_domains_nofollow", v.referring_main_domains_nofollow),
            ("referring_ips", v.referring_ips),
            ("referring_subnets", v.referring_subnets),
            ("referring_pages", v.referring_pages),
            ("referring_pages_nofollow", v.referring_pages_nofollow),
            *((name, v.link_map(name)) for name in v.MAP_KEYS),
        ),
        key_field="url",
        has_total_count=True,
        max_root_domains=100,
    ),
)

#: The seven bulk endpoints by name (the ``{name}`` of ``/v3/backlinks/{name}/live``).
ENDPOINTS: Final[Mapping[str, EndpointSpec]] = MappingProxyType({spec.name: spec for spec in _SPECS})


def endpoint(name: str) -> EndpointSpec:
    try:
        return ENDPOINTS[name]
    except KeyError:
        raise ValueError(f"unknown endpoint {name!r}; use one of: {', '.join(ENDPOINTS)}") from None


#: Fields that keep their value in an item answered with nulls: the echo and the target's kind.
_NEVER_NULL: Final = frozenset({"target", "url", "type"})


def answers_null(target: str, null_rate: float) -> bool:
    """Whether the emulator answers ``target`` with ``null`` values at this ``null_rate``: a pure
    function of the target (``draw("null", target) < null_rate * 2**64``), the same on every call."""
    return null_rate > 0 and v.draw("null", target) < null_rate * 2**64


def build_item(spec: EndpointSpec, target: str, params: v.Params, *, null: bool = False) -> Item:
    """The item for ``target``; with ``null``, every value field is ``null`` (the API's "no data")."""
    if null:
        fields = spec.item_fields
        return {name: compute(target, params) if name in _NEVER_NULL else None for name, compute in fields}
    return {name: compute(target, params) for name, compute in spec.item_fields}


def expected_item(endpoint_name: str, target: str, **params: object) -> Item:
    """The item the emulator answers for ``target`` on ``endpoint_name`` with these request fields.

    ``expected_item("bulk_ranks", "cnn.com", rank_scale="one_hundred")`` gives
    ``{"target": "cnn.com", "rank": ...}``; a field the endpoint does not take raises ``TypeError``.
    """
    spec = endpoint(endpoint_name)
    unknown = params.keys() - spec.extra_fields.keys()
    if unknown:
        allowed = ", ".join(spec.extra_fields) or "none"
        raise TypeError(f"{endpoint_name} has no field(s) {sorted(unknown)}; its extra fields: {allowed}")
    return build_item(spec, target, params)


def _order_key(target: str) -> bytes:
    return blake2b(target.encode(), digest_size=8).digest()


def answer_order(targets: Sequence[str]) -> list[str]:
    """The distinct targets in the order the emulator answers them: sorted by BLAKE2b-64 of the
    target; when that happens to be the request order, reversed. With two or more distinct
    targets the answer order always differs from the request, so matching by position fails."""
    distinct = list(dict.fromkeys(targets))
    ordered = sorted(distinct, key=_order_key)
    if ordered == distinct and len(ordered) > 1:
        ordered.reverse()
    return ordered


def build_items(
    spec: EndpointSpec, targets: Sequence[str], params: v.Params, *, null_rate: float = 0.0
) -> list[Item]:
    """One item per distinct target, in :func:`answer_order`; those :func:`answers_null` picks
    have ``null`` values."""
    return [
        build_item(spec, target, params, null=answers_null(target, null_rate))
        for target in answer_order(targets)
    ]
