"""The CLI's option checks and messages, in the CLI's own words.

Every value is checked by the same code the Python API uses (the knob model, the parameter
checks, the base URL check), but a refusal names the option (``--max-cost``), the environment
variable (``DATAFORSEO_PASSWORD``) or the format (``YYYY-MM-DD``), never a Python keyword.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from .._constants import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_PERIOD,
    ENV_LOGIN,
    ENV_PASSWORD,
    MAX_CHUNK_SIZE,
)
from .._knobs import check_option
from ..errors import (
    AccountRefused,
    APIUnreachable,
    BalanceExhausted,
    BudgetExceeded,
    ConfigurationError,
    JobAborted,
    unreachable_advice,
)
from ..params import check_date_from, earliest_date_from, utc_today

PROG: Final = "dataforseo-bulk"
OUTPUT_FORMATS: Final = ("csv", "jsonl")
_KNOB_DEFAULTS: Final[Mapping[str, Any]] = {
    "rate_limit": DEFAULT_RATE_LIMIT,
    "rate_period": DEFAULT_RATE_PERIOD,
    "max_concurrency": DEFAULT_MAX_CONCURRENCY,
    "chunk_size": MAX_CHUNK_SIZE,
    "max_retries": DEFAULT_MAX_RETRIES,
    "max_cost": None,
}


def knob(name: str) -> Callable[[str], Any]:
    """An argparse ``type=`` for one of the client's knobs, checked by the client's own model."""

    def convert(text: str) -> Any:
        try:
            return check_option(name, text, dict(_KNOB_DEFAULTS))
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def seconds(option: str) -> Callable[[str], float]:
    """An argparse ``type=`` for a number of seconds greater than 0."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(
                f"{option} {text}: give seconds greater than 0, e.g. {option} 60"
            )
        return value

    return convert


def at_least(option: str, low: float, *, integer: bool, example: str) -> Callable[[str], Any]:
    """An argparse ``type=`` for a number from ``low`` up (``--targets``, ``--latency-ms``)."""

    def convert(text: str) -> Any:
        try:
            value: float = int(text) if integer else float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= low):
            kind = "a whole number" if integer else "a number"
            raise argparse.ArgumentTypeError(
                f"{option} {text}: give {kind} ≥ {low:g}, e.g. {option} {example}"
            )
        return value

    return convert


def date_from(text: str) -> str:
    """``--date-from``: a day as ``YYYY-MM-DD`` within the last year (UTC), by the API's rule."""
    try:
        return check_date_from(text)
    except ConfigurationError:
        today = utc_today()
        try:
            day: dt.date | None = dt.date.fromisoformat(text) if len(text) == len("YYYY-MM-DD") else None
        except ValueError:
            day = None
        problem = (
            "is not a day as YYYY-MM-DD"
            if day is None
            else f"is in the future (today is {today} in UTC)"
            if day > today
            else "is more than a year ago"
        )
        raise argparse.ArgumentTypeError(
            f"--date-from {text} {problem}: give a day as YYYY-MM-DD from {earliest_date_from(today)} "
            f"to {today} (UTC; the API keeps one year of new and lost data)"
        ) from None


def base_url(text: str) -> str:
    """``--base-url``: the client's own check, worded for the option."""
    from ..client import _check_base_url, carries_credentials  # the one check of a base URL

    if carries_credentials(text):  # never repeated on the screen
        raise argparse.ArgumentTypeError(
            "--base-url may not carry a user name or password ('user:password@'): give the API's "
            f"address alone and the credentials in {ENV_LOGIN} and {ENV_PASSWORD} (or --login and --password)"
        )
    try:
        return _check_base_url(text)
    except ConfigurationError as exc:
        # "base_url='…': give an https:// URL" or "base_url='…' is not a URL (Invalid port: 'x')":
        # the same words after the option's name (a reason may hold ": " too).
        reason = str(exc).partition(repr(text))[2]
        raise argparse.ArgumentTypeError(f"--base-url {text}{reason}") from None


def check_credentials(login: str | None, password: str | None) -> None:
    """Credentials from the options or the environment; a message naming what is missing."""
    login = login or os.environ.get(ENV_LOGIN)
    password = password or os.environ.get(ENV_PASSWORD)
    where = "from https://app.dataforseo.com/api-access"
    if not login and not password:
        raise ConfigurationError(
            f"no API credentials: set {ENV_LOGIN} and {ENV_PASSWORD} ({where}), "
            "or give --login and --password"
        )
    if not password:
        raise ConfigurationError(
            f"no API password for login {login!r}: set {ENV_PASSWORD} ({where}), or give --password"
        )
    if not login:
        raise ConfigurationError(f"no API login to go with the password: set {ENV_LOGIN}, or give --login")


def check_output(path: str | None, fmt: str | None, *, format_option: bool = True) -> None:
    """A usable ``-o``: a file (not a directory) whose format is known, said before any work."""
    if path is None or path == "-":
        return
    if path.endswith(("/", os.sep)) or Path(path).is_dir():
        raise ConfigurationError(
            f"-o {path}: that is a directory; give a file, e.g. -o {Path(path) / 'out.csv'}"
        )
    suffix = Path(path).suffix.lstrip(".").lower()
    if fmt is None and suffix not in OUTPUT_FORMATS:
        named = f"its suffix {'.' + suffix!r} is" if suffix else "it has no suffix, which is"
        fix = (
            "name the file .csv or .jsonl, or pass --format csv|jsonl"
            if format_option
            else ("name the file .csv (the demo writes CSV)")
        )
        raise ConfigurationError(f"-o {path}: {named} not a known output format; {fix}")


def targets(count: int) -> str:
    """``1 target``, ``2 targets``, ``1,000 targets``."""
    return f"{count:,} target" + ("" if count == 1 else "s")


def abort_line(exc: JobAborted) -> str:
    """Why a job stopped, in the CLI's words."""
    if isinstance(exc, BudgetExceeded):
        return (
            f"budget reached: ${exc.spent:.5f} spent or held by calls in flight, of --max-cost "
            f"{exc.max_cost:g}; the next call could cost up to ${exc.next_call:.5f}. Raise --max-cost "
            "to go on (with the same --checkpoint nothing is paid twice)"
        )
    if isinstance(exc, AccountRefused):
        return f"the API refused the account: {exc.error} (see docs/errors.md for this code)"
    if isinstance(exc, BalanceExhausted):
        if exc.estimate is not None:
            return (
                f"not started: the job is estimated at up to ${exc.estimate:.5f} and the account's "
                f"balance is ${exc.balance:.5f}. Add funds, split the input, or pass --no-balance-check"
            )
        return (
            f"balance reached: ${exc.spent:.5f} spent or held by calls in flight, of the account's "
            f"${exc.balance:.5f}; the next call could cost up to ${exc.next_call:.5f}. Add funds to go on "
            "(with the same --checkpoint nothing is paid twice)"
        )
    if isinstance(exc, APIUnreachable):
        return (
            f"no call reached the API, nothing was sent or billed: {exc.error}. "
            f"{unreachable_advice(exc.error, '--base-url')}"
        )
    return str(exc)


class _Warnings(logging.Handler):
    """The library's warnings and errors (concurrency above the API's 30, a rate-limit pause, the
    answer that stopped a job) as CLI lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{PROG}: {record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)


def show_library_warnings() -> None:
    logger = logging.getLogger("dataforseo_bulk")
    if not any(isinstance(handler, _Warnings) for handler in logger.handlers):
        handler = _Warnings(logging.WARNING)
        logger.addHandler(handler)
