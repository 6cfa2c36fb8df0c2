"""The account on the command line: ``dataforseo-bulk account``, and what ``--dry-run`` and a job
check against it (the balance, the rate limit the API reports, whether the job fits).

Reading the account is free (``GET /v3/appendix/user_data``). ``--no-balance-check`` skips it,
for credentials without access to it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import anyio

from .._constants import DEFAULT_BASE_URL, ENV_LOGIN, ENV_PASSWORD, SANDBOX_URL
from ..account import Account
from ..client import BulkClient
from ..errors import APIError, ConfigurationError
from .options import check_credentials

EXIT_OK, EXIT_FAILED = 0, 2


def add_where_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--sandbox", action="store_true", help=f"use the free sandbox ({SANDBOX_URL})")
    where.add_argument("--base-url", help="API base URL (e.g. an emulator on http://127.0.0.1:8765)")
    parser.add_argument("--login", help=f"API login (default: ${ENV_LOGIN})")
    parser.add_argument("--password", help=f"API password (default: ${ENV_PASSWORD}; prefer the variable)")


def add_account_command(commands: Any) -> None:
    """``dataforseo-bulk account``: the account in one screen."""
    account = commands.add_parser(
        "account", help="the account's login, balance and rate limit (free)", description=__doc__
    )
    add_where_options(account)


def add_balance_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-balance-check",
        dest="check_balance",
        action="store_false",
        help="do not read the account's balance (free) before the job, nor stop at it",
    )


async def read(args: argparse.Namespace) -> Account:
    check_credentials(args.login, args.password)  # what is missing, in the command line's words
    base_url = SANDBOX_URL if args.sandbox else (args.base_url or DEFAULT_BASE_URL)
    async with BulkClient(args.login, args.password, base_url=base_url) as client:
        return await client.account()


def show_account(args: argparse.Namespace) -> int:
    """Print the account; one line and exit 2 when it cannot be read."""
    try:
        account = anyio.run(read, args)
    except APIError as exc:
        print(f"dataforseo-bulk: cannot read the account: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(account.summary())
    return EXIT_OK


def fits_line(account: Account, cost: float) -> str:
    """Whether a job of worst-case ``cost`` fits the balance, as one line."""
    if account.balance_usd is None:
        return "  fits      unknown: the account's answer carries no balance"
    if account.fits(cost):
        return f"  fits      yes: up to ${cost:.4f} of the ${account.balance_usd:.4f} balance"
    return (
        f"  fits      NO: up to ${cost:.4f} but the balance is ${account.balance_usd:.4f}; "
        "the job would be refused before any paid call"
    )


def dry_run_account(args: argparse.Namespace, cost: float) -> str:
    """The dry run's account lines: balance, reported rate limit, whether ``cost`` fits."""
    if not args.check_balance:
        return "  account   not read (--no-balance-check)"
    try:
        account = anyio.run(read, args)
    except (APIError, ConfigurationError) as exc:
        return f"  account   not read: {exc}"
    rate = account.rate_limit_per_minute
    return "\n".join(
        [
            f"  account   {account.login or '?'}: balance "
            + ("not reported" if account.balance_usd is None else f"${account.balance_usd:,.4f}"),
            f"  limit     {'not reported' if rate is None else f'{rate:,} calls/min'} on the bulk endpoints"
            f" (this job paces at {args.rate[0]}/{args.rate[1]:g}s)",
            fits_line(account, cost),
        ]
    )
