"""The extra request fields of the bulk endpoints, checked before any call.

Each ``check_*`` function takes what a caller passed and returns the value to send, or raises
:class:`ConfigurationError` with a message that says how to fix the call. Pure: the only
clock is ``today``, a UTC date the caller may inject (tests do).

The rules are the API's, as the reference notes give them and the emulator enforces them:

* ``rank_scale``: ``"one_hundred"`` or ``"one_thousand"`` (the API's default);
* ``include_subdomains``: a ``bool`` (the API's default is ``True``);
* ``date_from``: ``yyyy-mm-dd``, not after today and not before the same day one year ago,
  both in UTC (29 February goes back to 28 February). The API's default is one month ago.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final, Literal, get_args

from .errors import ConfigurationError

RankScale = Literal["one_hundred", "one_thousand"]
RANK_SCALES: Final[tuple[RankScale, ...]] = get_args(RankScale)
DEFAULT_RANK_SCALE: Final[RankScale] = "one_thousand"
DEFAULT_INCLUDE_SUBDOMAINS: Final = True

_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def utc_today() -> dt.date:
    """Today's date in UTC: the API checks ``date_from`` against it, whatever the caller's zone."""
    return dt.datetime.now(dt.UTC).date()


def earliest_date_from(today: dt.date) -> dt.date:
    """The oldest ``date_from`` the API takes: the same day one year before ``today``."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February: a year before has none
        return today.replace(year=today.year - 1, day=28)


def check_rank_scale(value: object) -> RankScale:
    if isinstance(value, str):
        for scale in RANK_SCALES:
            if value == scale:
                return scale
    raise ConfigurationError(
        f"rank_scale={value!r} is not valid: give 'one_hundred' (ranks from 0 to 100) or "
        f"'one_thousand' (ranks from 0 to 1000, the API's default)"
    )


def check_include_subdomains(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigurationError(
        f"include_subdomains={value!r} is not valid: give True (count the backlinks of the target's "
        "subdomains too, the API's default) or False"
    )


def check_date_from(value: object, *, today: dt.date | None = None) -> str:
    """``value`` (a ``datetime.date`` or a ``"yyyy-mm-dd"`` string) as the ``yyyy-mm-dd`` to send."""
    today = today if today is not None else utc_today()
    earliest = earliest_date_from(today)
    allowed = f"give a date from {earliest} to {today} (the API keeps one year of new and lost data)"
    if isinstance(value, dt.datetime):
        raise ConfigurationError(
            f"date_from={value!r} is a datetime: give a date, e.g. date_from=value.date(), "
            f"or a 'yyyy-mm-dd' string; {allowed}"
        )
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ConfigurationError(f"date_from={value!r} is not a calendar date: {allowed}") from None
    else:
        raise ConfigurationError(
            f"date_from={value!r} is not valid: give a datetime.date or a 'yyyy-mm-dd' string "
            f"such as {str(today - dt.timedelta(days=30))!r}; {allowed}"
        )
    if day > today:
        raise ConfigurationError(f"date_from='{day}' is in the future (today is {today} in UTC): {allowed}")
    if day < earliest:
        raise ConfigurationError(f"date_from='{day}' is more than a year ago: {allowed}")
    return day.isoformat()
