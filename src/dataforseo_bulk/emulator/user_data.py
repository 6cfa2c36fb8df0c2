"""``GET /v3/appendix/user_data``: the account as the emulator keeps it, in the vendor's layout.

The layout follows the official schema (``AppendixUserDataResultInfo`` in the
``dataforseo-client`` package, generated from the vendor's OpenAPI file): ``login``,
``timezone``, ``rates`` (``limits`` and ``statistics``, each by ``day`` and ``minute``, then
by API and function), ``money`` (``total`` deposited, ``balance`` left, ``limits`` and
``statistics``), ``price`` (by API, function and priority) and two subscription dates. The
emulator fills in only what it knows: the backlinks functions it serves. Every number is a
JSON float, as the schema's ``StrictFloat`` fields require.

The call is free, as the vendor's page says ("Your account will not be charged for using
this API"), and it is not counted against the bulk endpoints' rate window.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from .envelope import COST_PER_CALL, COST_PER_ITEM

PATH: Final = "/v3/appendix/user_data"
#: What the emulator reports as the balance of an account configured without one.
UNLIMITED_BALANCE_USD: Final = 1_000_000.0
#: The vendor's default per-minute limit, reported when the emulator has no rate limit.
DEFAULT_MINUTE_LIMIT: Final = 2000.0
BULK_FUNCTIONS: Final = (
    "bulk_backlinks",
    "bulk_ranks",
    "bulk_spam_score",
    "bulk_referring_domains",
    "bulk_new_lost_backlinks",
    "bulk_new_lost_referring_domains",
    "bulk_pages_summary",
)


def minute_limit(rate_limit: int | None, rate_period: float) -> float:
    """The emulator's rate window as calls a minute (the unit the API reports)."""
    if rate_limit is None:
        return DEFAULT_MINUTE_LIMIT
    return float(round(rate_limit * 60.0 / rate_period, 3))


def user_data_result(
    *,
    login: str,
    balance_usd: float | None,
    charged_usd: float,
    minute_calls: float,
    calls_today: int,
    today: dt.date,
) -> dict[str, object]:
    """The one ``result`` element of a user_data answer."""
    deposited = UNLIMITED_BALANCE_USD if balance_usd is None else float(balance_usd)
    balance = round(max(0.0, deposited - charged_usd), 8)
    live_limit = {name: {"live": minute_calls} for name in BULK_FUNCTIONS}
    live_price = {
        name: {
            "live": {
                "priority_normal": [
                    {"cost_type": "per_request", "cost": COST_PER_CALL},
                    {"cost_type": "per_result", "cost": COST_PER_ITEM},
                ]
            }
        }
        for name in BULK_FUNCTIONS
    }
    return {
        "login": login,
        "timezone": "UTC",
        "rates": {
            "limits": {
                "day": {"total": 0.0},  # 0: no daily cap on calls
                "minute": {"total": minute_calls, "backlinks": live_limit, "total_backlinks": minute_calls},
            },
            "statistics": {
                "day": {"value": today.isoformat(), "total": float(calls_today)},
                "minute": {"value": f"{today.isoformat()} 00:00", "total": 0.0},
            },
        },
        "money": {
            "total": round(deposited, 8),
            "balance": balance,
            "limits": {"day": {"total": 0.0}, "minute": {"total": 0.0}},  # 0: no spending cap set
            "statistics": {
                "day": {"value": today.isoformat(), "total": round(float(charged_usd), 8)},
                "minute": {"value": f"{today.isoformat()} 00:00", "total": 0.0},
            },
        },
        "price": {"backlinks": live_price},
        "backlinks_subscription_expiry_date": None,
        "llm_mentions_subscription_expiry_date": None,
    }
