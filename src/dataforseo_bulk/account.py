"""The account behind the credentials, from ``GET /v3/appendix/user_data`` (free of charge).

The answer's layout is the vendor's schema (``AppendixUserDataResultInfo`` in the official
``dataforseo-client`` package): ``money.balance`` is what is left in USD, ``money.total`` what
was ever deposited, ``money.limits.day.total`` a daily spending cap set in the dashboard and
``money.statistics.day.total`` what was spent today; ``rates.limits.minute`` holds per-minute
call limits by API and function (``backlinks.bulk_backlinks.live``), with totals
(``total_backlinks``, ``total``). The vendor documents the field names but not every value:
whether a cap of 0 means "none" and which minute limit binds a live bulk call are not stated.
So every field is read defensively: one that is missing, ``null`` or of another type is
``None`` here, never an error, and the per-minute limit that applies to the bulk endpoints is
the smallest ``live`` limit among them, else the Backlinks total, else the account total.

Parsing is pure (:func:`parse_user_data`); :func:`read_account` does the one GET.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import httpx

from .api import failed_call, host_of
from .budget import estimate_cost
from .errors import APIError, APIUnreachable, BalanceExhausted, FatalAnswer, FatalAPIError
from .result import BulkResult, JobStats

log = logging.getLogger("dataforseo_bulk")
USER_DATA_PATH: Final = "/v3/appendix/user_data"
#: The functions this client calls, as ``rates.limits.minute.backlinks`` names them.
BULK_FUNCTIONS: Final = (
    "bulk_backlinks",
    "bulk_ranks",
    "bulk_spam_score",
    "bulk_referring_domains",
    "bulk_new_lost_backlinks",
    "bulk_new_lost_referring_domains",
    "bulk_pages_summary",
)


@dataclass(frozen=True, slots=True)
class Account:
    """What a user deciding whether to start a job needs to know about the account.

    Every field but ``login`` is ``None`` when the answer did not carry it in a usable form.
    """

    login: str | None
    #: USD left to spend (``money.balance``).
    balance_usd: float | None
    #: USD ever deposited (``money.total``).
    deposited_usd: float | None = None
    #: USD spent today (``money.statistics.day.total``).
    spent_today_usd: float | None = None
    #: The daily spending cap set in the dashboard (``money.limits.day.total``); ``None`` when
    #: none is reported (a 0 is taken as "no cap": the vendor does not document it).
    daily_cost_limit_usd: float | None = None
    #: Calls a minute allowed on the bulk endpoints (see the module docstring).
    rate_limit_per_minute: int | None = None
    #: Calls a minute by bulk function (``bulk_backlinks`` ...), where the answer names one.
    rate_limits: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    timezone: str | None = None

    def fits(self, cost_usd: float) -> bool | None:
        """Whether the balance covers ``cost_usd``; ``None`` when the balance is unknown."""
        return None if self.balance_usd is None else cost_usd <= self.balance_usd + 1e-9

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [f"login        {self.login or '?'}"]
        lines.append(f"balance      {_usd(self.balance_usd)}")
        if self.spent_today_usd is not None:
            lines.append(f"spent today  {_usd(self.spent_today_usd)}")
        if self.daily_cost_limit_usd is not None:
            lines.append(f"daily cap    {_usd(self.daily_cost_limit_usd)}")
        rate = "not reported" if self.rate_limit_per_minute is None else f"{self.rate_limit_per_minute:,}"
        lines.append(f"rate limit   {rate} calls/min on the bulk endpoints")
        return "\n".join(lines)


def _usd(value: float | None) -> str:
    return "not reported" if value is None else f"${value:,.4f}"


def _at(data: object, *path: str) -> object:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def _calls(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 1 else None


def parse_account(result: Mapping[str, Any]) -> Account:
    """An :class:`Account` from one ``result`` element of a user_data answer."""
    minute = _at(result, "rates", "limits", "minute")
    limits = {
        name: calls
        for name in BULK_FUNCTIONS
        if (calls := _calls(_at(minute, "backlinks", name, "live"))) is not None
    }
    rate = (
        min(limits.values())
        if limits
        else _calls(_at(minute, "total_backlinks")) or _calls(_at(minute, "total"))
    )
    daily_cap = _number(_at(result, "money", "limits", "day", "total"))
    login = result.get("login")
    timezone = result.get("timezone")
    return Account(
        login=login if isinstance(login, str) else None,
        balance_usd=_number(_at(result, "money", "balance")),
        deposited_usd=_number(_at(result, "money", "total")),
        spent_today_usd=_number(_at(result, "money", "statistics", "day", "total")),
        daily_cost_limit_usd=daily_cap or None,
        rate_limit_per_minute=rate,
        rate_limits=MappingProxyType(limits),
        timezone=timezone if isinstance(timezone, str) else None,
    )


def parse_user_data(http_status: int, content: bytes) -> Account:
    """The account in a user_data answer; :class:`APIError` when the answer is a refusal or
    unreadable (:class:`FatalAPIError` for wrong credentials: no call can succeed)."""
    import pydantic_core  # as answer.py: the JSON reader the client already uses

    try:
        envelope = pydantic_core.from_json(content)
    except ValueError:
        envelope = None
    code = _at(envelope, "status_code")
    message = _at(envelope, "status_message")
    text = message if isinstance(message, str) else f"HTTP {http_status} without a DataForSEO answer"
    if http_status == 401 or code == 40100:
        raise FatalAPIError(text, http_status=http_status, status_code=40100)
    tasks = _at(envelope, "tasks")
    task = tasks[0] if isinstance(tasks, list) and tasks and isinstance(tasks[0], dict) else None
    task_code = _at(task, "status_code")
    if code != 20000 or (task_code is not None and task_code != 20000):
        task_message = _at(task, "status_message")
        raise APIError(
            task_message if isinstance(task_message, str) and task_code != 20000 else text,
            http_status=http_status,
            status_code=task_code if isinstance(task_code, int) and task_code != 20000 else _int(code),
        )
    result = _at(task, "result")
    if not isinstance(result, list) or not result or not isinstance(result[0], dict):
        raise APIError("the user_data answer holds no account", http_status=http_status, status_code=20000)
    return parse_account(result[0])


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class NotConnected(APIError):
    """The account could not be read because no connection could be made (nothing was sent)."""


async def read_account(http: httpx.AsyncClient, base_url: str, auth: httpx.Auth) -> Account:
    """GET the account; a network failure is an :class:`APIError` too (never a bare httpx error)."""
    url = httpx.URL(base_url + USER_DATA_PATH)
    try:
        response = await http.get(url, auth=auth)
    except Exception as exc:  # any transport's failure (httpx's, or a caller's own transport)
        failed = failed_call(exc, host_of(url))
        error = NotConnected if not failed.sent else APIError
        raise error(f"could not read the account: {failed.error}") from None
    return parse_user_data(response.status_code, response.content)


async def balance_at_start(
    read: Callable[[], Awaitable[Account]], *, n_targets: int | None, chunk_size: int
) -> float | None:
    """The balance a job may spend, read as it starts; ``None`` when it could not be read.

    Raises :class:`BalanceExhausted` when ``n_targets`` (the input's size, if known) costs more
    than the balance at worst (every target distinct and valid, no retry), and
    :class:`FatalAnswer` when the credentials are refused: no paid call has been made in
    either case. Any other failure to read the account is logged and the job goes on without
    the balance as a cap (``max_cost`` still applies).
    """
    try:
        account = await read()
    except FatalAPIError as exc:
        raise FatalAnswer(exc, result=BulkResult({}, {}, JobStats())) from None
    except NotConnected as exc:  # the API is out of reach: no job call would connect either
        raise APIUnreachable(exc.message, result=BulkResult({}, {}, JobStats())) from None
    except APIError as exc:
        log.warning("could not read the account's balance (%s); going on without it as a cap", exc)
        return None
    balance = account.balance_usd
    if balance is None:
        log.warning("the account's answer carries no balance; going on without it as a cap")
        return None
    if n_targets is not None:
        estimate = estimate_cost(n_targets, chunk_size=chunk_size)
        if estimate > balance + 1e-9:
            raise BalanceExhausted(balance=balance, estimate=estimate, result=BulkResult({}, {}, JobStats()))
    return balance
