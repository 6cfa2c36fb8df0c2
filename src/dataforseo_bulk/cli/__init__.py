"""The ``dataforseo-bulk`` command: bulk jobs from files, the emulator, and an offline demo.

Exit codes: 0 every target answered; 1 some targets failed (invalid, refused, missing);
2 the job did not finish (fatal API answer, budget reached, interrupted) or the command was
wrong (bad option, missing credentials, unreadable input).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from .. import __version__
from .._constants import (
    COST_PER_CALL_USD,
    COST_PER_TARGET_USD,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_PERIOD,
    DEFAULT_READ_TIMEOUT,
    ENV_LOGIN,
    ENV_PASSWORD,
    ENV_SHARED_LIMITS,
    MAX_CHUNK_SIZE,
    SANDBOX_URL,
)
from ..client import BulkClient
from ..endpoints import (
    BULK_BACKLINKS,
    BULK_NEW_LOST_BACKLINKS,
    BULK_NEW_LOST_REFERRING_DOMAINS,
    BULK_PAGES_SUMMARY,
    BULK_RANKS,
    BULK_REFERRING_DOMAINS,
    BULK_SPAM_SCORE,
    Endpoint,
    as_row,
)
from ..engine import ChunkOutcome
from ..errors import AccountRefused, ConfigurationError, JobAborted
from ..params import DEFAULT_RANK_SCALE, RANK_SCALES
from ..result import FailureKind, JobStats
from ..targets import InvalidTarget, normalize_target
from . import options
from .account import add_account_command, add_balance_option, dry_run_account, show_account
from .cache import (
    add_cache_command,
    add_cache_options,
    cache_knobs,
    check_cache_file,
    is_url,
    run_cache_command,
    without_cached,
)
from .inputs import Undecodable, count_targets, open_input, read_targets
from .interrupt import INTERRUPTED, until_interrupted
from .outputs import Writer, open_output
from .plan import plan
from .progress import ProgressDisplay
from .waits import announce_long_waits

if TYPE_CHECKING:
    from ..checkpoint import Checkpoint

EXIT_OK, EXIT_SOME_FAILED, EXIT_ABORTED = 0, 1, 2


@dataclass(frozen=True)
class JobCommand:
    """One endpoint as a subcommand: the endpoint and how its options become parameters."""

    name: str
    endpoint: Endpoint[Any]
    help: str
    add_options: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    params: Callable[[argparse.Namespace], dict[str, Any]] = lambda args: {}


def _add_rank_scale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rank-scale",
        choices=RANK_SCALES,
        default=DEFAULT_RANK_SCALE,
        help=f"ranks from 0 to 100 or from 0 to 1000 (default {DEFAULT_RANK_SCALE})",
    )


def _add_date_from(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--date-from",
        type=options.date_from,
        metavar="YYYY-MM-DD",
        help="count what was found and lost since this day, within the last year in UTC "
        "(default: the API's, one month ago)",
    )


def _add_pages_summary_options(parser: argparse.ArgumentParser) -> None:
    _add_rank_scale(parser)
    parser.add_argument(
        "--no-include-subdomains",
        dest="include_subdomains",
        action="store_false",
        help="count only the target itself, not its subdomains (the API counts them by default)",
    )


def _ranks_params(args: argparse.Namespace) -> dict[str, Any]:
    return BULK_RANKS.check_params({"rank_scale": args.rank_scale})


def _new_lost_backlinks_params(args: argparse.Namespace) -> dict[str, Any]:
    return BULK_NEW_LOST_BACKLINKS.check_params({"date_from": args.date_from})


def _new_lost_referring_domains_params(args: argparse.Namespace) -> dict[str, Any]:
    return BULK_NEW_LOST_REFERRING_DOMAINS.check_params({"date_from": args.date_from})


def _pages_summary_params(args: argparse.Namespace) -> dict[str, Any]:
    return BULK_PAGES_SUMMARY.check_params(
        {"include_subdomains": args.include_subdomains, "rank_scale": args.rank_scale}
    )


# One-number endpoints go through as_row() so the output column is the item field (rank, spam_score).
JOB_COMMANDS: list[JobCommand] = [
    JobCommand("backlinks", BULK_BACKLINKS, "live backlink count of each target (bulk_backlinks)"),
    JobCommand(
        "ranks",
        as_row(BULK_RANKS),
        "rank of each target (bulk_ranks)",
        _add_rank_scale,
        _ranks_params,
    ),
    JobCommand("spam-score", as_row(BULK_SPAM_SCORE), "spam score of each target (bulk_spam_score)"),
    JobCommand(
        "referring-domains",
        BULK_REFERRING_DOMAINS,
        "live referring domains and main domains of each target (bulk_referring_domains)",
    ),
    JobCommand(
        "new-lost-backlinks",
        BULK_NEW_LOST_BACKLINKS,
        "backlinks found and lost since a date (bulk_new_lost_backlinks)",
        _add_date_from,
        _new_lost_backlinks_params,
    ),
    JobCommand(
        "new-lost-referring-domains",
        BULK_NEW_LOST_REFERRING_DOMAINS,
        "referring domains found and lost since a date (bulk_new_lost_referring_domains)",
        _add_date_from,
        _new_lost_referring_domains_params,
    ),
    JobCommand(
        "pages-summary",
        BULK_PAGES_SUMMARY,
        "backlink profile of each page or site, at most 100 root domains a call (bulk_pages_summary)",
        _add_pages_summary_options,
        _pages_summary_params,
    ),
]


def parse_rate(text: str) -> tuple[int, float]:
    """``N`` (calls a minute) or ``N/SECONDS``."""
    limit, _, period = text.partition("/")
    try:
        rate = (int(limit), float(period) if period else DEFAULT_RATE_PERIOD)
    except ValueError:
        message = f"--rate {text!r}: give calls a minute (2000) or N/SECONDS (2000/60)"
        raise argparse.ArgumentTypeError(message) from None
    if rate[0] < 1 or rate[1] <= 0:
        raise argparse.ArgumentTypeError(f"--rate {text!r}: both numbers must be positive")
    if not rate[1] < float("inf"):  # inf or nan: refused by BulkClient too; the dry run must say so
        message = f"--rate {text!r}: give the window in seconds as a finite number (2000/60)"
        raise argparse.ArgumentTypeError(message)
    return rate


def _add_job_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="file with one target per line (or a CSV with --column); - for stdin")
    parser.add_argument("-o", "--output", help="OUT.csv, OUT.jsonl or - for stdout (default: stdout)")
    parser.add_argument(
        "--format", choices=options.OUTPUT_FORMATS, help="output format (default: from the suffix)"
    )
    parser.add_argument("--column", help="read targets from this column of a CSV with a header row")
    parser.add_argument(
        "--checkpoint", metavar="FILE", help="SQLite file: resume a stopped job without paying twice"
    )
    parser.add_argument(
        "--max-cost",
        type=options.knob("max_cost"),
        metavar="USD",
        help="never send a call that could take spending past this (default: no cap)",
    )
    add_cache_options(parser)
    parser.add_argument(
        "--rate",
        type=parse_rate,
        default=(DEFAULT_RATE_LIMIT, DEFAULT_RATE_PERIOD),
        metavar="N[/SECONDS]",
        help=f"calls allowed per window (default {DEFAULT_RATE_LIMIT}/{DEFAULT_RATE_PERIOD:g})",
    )
    parser.add_argument(
        "--concurrency",
        type=options.knob("max_concurrency"),
        default=DEFAULT_MAX_CONCURRENCY,
        metavar="N",
        help=f"calls in flight at once (default {DEFAULT_MAX_CONCURRENCY}, the API's limit)",
    )
    parser.add_argument(
        "--chunk-size",
        type=options.knob("chunk_size"),
        default=MAX_CHUNK_SIZE,
        metavar="N",
        help=f"targets per call, 1 to {MAX_CHUNK_SIZE} (default {MAX_CHUNK_SIZE}: fewest calls, lowest cost)",
    )
    parser.add_argument(
        "--max-retries",
        type=options.knob("max_retries"),
        default=DEFAULT_MAX_RETRIES,
        metavar="N",
        help=f"retries of a call after a transient failure (default {DEFAULT_MAX_RETRIES}; "
        "each may be billed)",
    )
    parser.add_argument(
        "--timeout",
        type=options.seconds("--timeout"),
        default=DEFAULT_READ_TIMEOUT,
        metavar="SECONDS",
        help=f"give up on one call after this long and retry it (default {DEFAULT_READ_TIMEOUT:g}; "
        "live tasks end at 120 s on the server)",
    )
    parser.add_argument(
        "--shared-limits",
        metavar="URL",
        help="share the account's limits with its other workers through this Redis "
        f"(redis://host:6379/0; default: ${ENV_SHARED_LIMITS}); see docs/scaling.md",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--sandbox", action="store_true", help=f"use the free sandbox ({SANDBOX_URL})")
    where.add_argument(
        "--base-url", type=options.base_url, help="API base URL (e.g. an emulator on http://127.0.0.1:8765)"
    )
    parser.add_argument("--login", help=f"API login (default: ${ENV_LOGIN})")
    parser.add_argument("--password", help=f"API password (default: ${ENV_PASSWORD}; prefer the variable)")
    parser.add_argument(
        "--dry-run", action="store_true", help="no calls: count targets, calls, cost and time"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    add_balance_option(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dataforseo-bulk",
        description="Bulk DataForSEO Backlinks jobs: paced, retried, budgeted, resumable.",
        epilog="Exit codes: 0 all answered, 1 some targets failed, 2 aborted or usage error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for job in JOB_COMMANDS:
        sub = commands.add_parser(job.name, help=job.help, description=job.help)
        _add_job_options(sub)
        job.add_options(sub)
        sub.set_defaults(job=job)
    demo = commands.add_parser("demo", help="offline: a 100,000-target job against the built-in emulator")
    demo.add_argument(
        "--targets",
        type=options.at_least("--targets", 1, integer=True, example="1000"),
        default=100_000,
        help="how many targets (default 100000)",
    )
    demo.add_argument("-o", "--output", help="CSV file for the results (default: a temporary file)")
    demo.add_argument(
        "--latency-ms",
        type=options.at_least("--latency-ms", 0, integer=False, example="40"),
        default=40.0,
        help="emulated latency per call, ± half of it as jitter (default 40)",
    )
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    add_cache_command(commands)
    add_account_command(commands)
    emulate = commands.add_parser("emulate", help="run the DataForSEO emulator on loopback")
    from ..emulator import build_parser as emulator_parser

    emulator_parser(emulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulate":
        from ..emulator import main as emulate

        return emulate(list(argv or sys.argv[1:])[1:], prog=f"{options.PROG} emulate")
    options.show_library_warnings()
    try:
        if args.command == "demo":
            options.check_output(args.output, None, format_option=False)
            return _ended(anyio.run(until_interrupted, _demo, args))
        if args.command == "cache":
            return run_cache_command(args)
        if args.command == "account":
            return show_account(args)
        _check_files(args)  # the files first: no credentials or network needed to see them wrong
        if args.dry_run:
            return _dry_run(args)
        options.check_credentials(args.login, args.password)
        return _ended(anyio.run(until_interrupted, _run_job_command, args))
    except ConfigurationError as exc:
        print(f"dataforseo-bulk: {exc}", file=sys.stderr)
        return EXIT_ABORTED
    except OSError as exc:  # a file that failed mid-job (disk full, a closed pipe): one line
        name = f" {exc.filename!r}" if exc.filename else ""
        print(f"dataforseo-bulk: cannot go on{name}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ABORTED
    except KeyboardInterrupt:  # Ctrl-C before or after the event loop (see interrupt.py)
        return _ended(None)
    except Exception as exc:
        if type(exc).__module__ != "sqlite3":  # sqlite3 is imported only with a checkpoint
            raise
        # The checkpoint failed mid-job (disk full, the file removed): what was committed is kept.
        checkpoint = getattr(args, "checkpoint", None)
        print(f"dataforseo-bulk: checkpoint {checkpoint!r} failed: {exc}", file=sys.stderr)
        return EXIT_ABORTED


def _ended(code: int | None) -> int:
    """A command's exit status; ``None``: it was interrupted (Ctrl-C, SIGTERM), said in one line."""
    if code is None:
        print(f"dataforseo-bulk: {INTERRUPTED}", file=sys.stderr)
        return EXIT_ABORTED
    return code


# --- jobs ----------------------------------------------------------------------------
def _client(args: argparse.Namespace, base_url: str | None = None) -> BulkClient:
    knobs: dict[str, Any] = {
        "rate_limit": args.rate[0],
        "rate_period": args.rate[1],
        "max_concurrency": args.concurrency,
        "chunk_size": args.chunk_size,
        "max_retries": args.max_retries,
        "timeout": args.timeout,
        "max_cost": args.max_cost,
        **cache_knobs(args),
        "check_balance": args.check_balance,
        "on_retry": announce_long_waits(),
        "shared_limits": args.shared_limits,
    }
    url = base_url or (SANDBOX_URL if args.sandbox else args.base_url)
    if url:
        knobs["base_url"] = url
    return BulkClient(args.login, args.password, **knobs)


async def _run_job_command(args: argparse.Namespace) -> int:
    job: JobCommand = args.job
    client = _client(args)  # validates every knob and the credentials before any reading or call
    check_cache_file(args)  # a bad cache file is refused before the output is opened
    params = job.endpoint.check_params(job.params(args))
    await client.check_shared_limits()  # an unreachable Redis refuses before any file is touched
    total = None if args.quiet else count_targets(args.input, args.column)
    # A file's size, when known, goes with its lines: the client then refuses, before any call or
    # any row, a job whose worst case the account's balance cannot pay for (read once, free).
    counted = _size_to_check(args, total) if args.check_balance else None
    # The input is opened first: the output is not even begun if the input cannot be read. The
    # output's rows reach its file only when the job has finished (see outputs.Output).
    with (
        open_input(args.input) as handle,
        open_output(args.output, args.format, columns=job.endpoint.columns) as output,
    ):
        undecodable = Undecodable(output.write)
        lines = read_targets(handle, args.column, undecodable)
        code = await run_job(
            client,
            job.endpoint,
            lines if counted is None else _Counted(lines, counted),
            output,
            params=params,
            checkpoint=args.checkpoint,
            display=None if args.quiet else ProgressDisplay(total),
            undecodable=undecodable,
        )
        if code != EXIT_ABORTED:
            output.complete()
        return code


class _Counted(Iterable[str]):
    """An input read lazily that knows its size (counted from a regular file beforehand)."""

    def __init__(self, lines: Iterable[str], size: int) -> None:
        self._lines = lines
        self._size = size

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)

    def __len__(self) -> int:
        return self._size


def _size_to_check(args: argparse.Namespace, total: int | None) -> int | None:
    """The input's size to hold against the balance before the job (``None``: unknown, or not
    to check: a checkpoint or a cache may answer part of it for free; the job's own cap holds)."""
    resuming = args.checkpoint is not None and os.path.exists(args.checkpoint)
    if resuming or args.cache is not None:
        return None
    return total if total is not None else count_targets(args.input, args.column)


def _check_files(args: argparse.Namespace) -> None:
    """A usage error before anything is opened: ``-o`` naming the input, the checkpoint or the
    results cache (the same file under any name), or the checkpoint naming the input or the
    cache. A job would destroy it. Also
    an output whose format is unknown: all of this before any call (the balance's included)."""
    output = None if args.output in (None, "-") else args.output
    source = None if args.input == "-" else args.input
    cache = None if args.cache is None or is_url(args.cache) else args.cache  # a file, not Redis
    for one, other, what in (
        (output, source, "the input"),
        (output, args.checkpoint, "the checkpoint"),
        (output, cache, "the results cache"),
        (args.checkpoint, source, "the input"),
        (args.checkpoint, cache, "the results cache"),
    ):
        if one is not None and other is not None and _same_file(one, other):
            option = "-o" if one is output else "--checkpoint"
            raise ConfigurationError(f"{option} {one!r} is {what} ({other!r}): give another file name")
    options.check_output(args.output, args.format)


def _same_file(one: str, other: str) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:  # one of them does not exist (yet): the same path is the same file
        return os.path.realpath(one) == os.path.realpath(other)


async def run_job(
    client: BulkClient,
    endpoint: Endpoint[Any],
    targets: Iterable[str],
    writer: Writer,
    *,
    params: dict[str, Any] | None = None,
    checkpoint: str | None = None,
    display: ProgressDisplay | None = None,
    check: Callable[[ChunkOutcome[Any]], None] | None = None,
    undecodable: Undecodable | None = None,
) -> int:
    """The path every job command shares: stream outcomes to the writer, then a summary."""
    stats: JobStats | None = None
    headline = "done"
    code = EXIT_OK
    try:
        async with client:
            try:
                async with client.stream(
                    targets,
                    endpoint=endpoint,
                    params=params,
                    checkpoint=checkpoint,
                    on_progress=display.update if display else None,
                ) as outcomes:
                    try:
                        async for outcome in outcomes:
                            writer.write(outcome)
                            if check is not None:
                                check(outcome)
                    finally:
                        stats = outcomes.stats()
            except JobAborted as exc:
                why = _wrong_address(exc, client, endpoint) or options.abort_line(exc)
                headline = f"aborted: {why}"
                code = EXIT_ABORTED
    except BaseException:  # interrupted (a cancellation) or an error: no summary, the ticker stops
        if display is not None:
            display.close()
        raise
    if stats is None:  # refused before the job began (the balance, the account): one line
        if display is not None:
            display.close()
        print(f"dataforseo-bulk: {headline}", file=sys.stderr)
        return code
    if undecodable is not None:
        stats = undecodable.added_to(stats)
    if code == EXIT_OK and not stats.targets:
        headline = "no targets in the input"
        if display is None:
            print(f"dataforseo-bulk: {headline}", file=sys.stderr)
    if code == EXIT_OK and stats.failed:
        headline = f"done, {options.targets(stats.failed)} failed (see the error columns)"
        code = EXIT_SOME_FAILED
    if display is not None:
        display.finish(stats, headline=headline)
    elif code == EXIT_ABORTED:
        print(f"dataforseo-bulk: {headline}", file=sys.stderr)
    return code


def _wrong_address(exc: JobAborted, client: BulkClient, endpoint: Endpoint[Any]) -> str:
    """For an answer that says the address is wrong (HTTP 404, 40400, 40402): what was called."""
    if not isinstance(exc, AccountRefused):
        return ""
    error = exc.error
    if error.http_status != 404 and error.status_code not in (40400, 40402):
        return ""
    return f"{error}; no such API endpoint at {client.base_url + endpoint.path}: check --base-url"


def _dry_run(args: argparse.Namespace) -> int:
    """No network: what the job would send, cost and take at the configured rate.

    It checks what the real run checks before its first call (the files, the output's place,
    the checkpoint's job) and, with a checkpoint, counts only what is left to send.
    """
    endpoint: Endpoint[Any] = args.job.endpoint
    params = endpoint.check_params(args.job.params(args))
    with open_input(args.input) as handle, _checkpoint_to_read(args, endpoint, params) as store:
        if args.output not in (None, "-"):
            with open_output(args.output, args.format, columns=endpoint.columns):
                pass  # made and thrown away: the output's place can be written
        undecodable = Undecodable()
        counts = plan(read_targets(handle, args.column, undecodable), store)
    stats = undecodable.added_to(
        JobStats(
            targets=counts.targets,
            ok=counts.ok,
            failed=counts.failed,
            duplicate=counts.duplicate,
            invalid=counts.invalid,
        )
    )
    cached = ""
    if args.cache is not None or args.max_age is not None:
        counts.to_send, cached = without_cached(args, counts.to_send, params)
    sending = len(counts.to_send)
    chunk = min(args.chunk_size, endpoint.max_targets)
    calls = counts.calls(chunk, endpoint)
    limit, period = args.rate
    shortest = max(0, calls - 1) * period / limit
    resumed = f"{counts.resumed:,} answered from the checkpoint, " if args.checkpoint else ""
    print(
        f"dry run (no calls made):\n"
        f"  targets   {stats.targets:,} distinct inputs: {sending:,} to send, {resumed}"
        f"{stats.invalid:,} invalid, {stats.duplicate:,} duplicate\n"
        f"  rows      {stats.ok:,} ok, {stats.failed:,} failed if every call succeeds\n"
        f"{cached}"
        f"  calls     {calls:,} of at most {chunk} targets\n"
        f"  cost      ${calls * COST_PER_CALL_USD + sending * COST_PER_TARGET_USD:.4f} estimated "
        "(without retries)\n"
        f"  time      at least {shortest:.1f} s at {limit}/{period:g}s (more if latency binds at "
        f"{args.concurrency} in flight)"
    )
    print(dry_run_account(args, calls * COST_PER_CALL_USD + sending * COST_PER_TARGET_USD))
    return EXIT_OK


@contextlib.contextmanager
def _checkpoint_to_read(
    args: argparse.Namespace, endpoint: Endpoint[Any], params: dict[str, Any]
) -> Iterator[Checkpoint | None]:
    """The checkpoint, opened read-only as the real run would open it; None if it is not made yet."""
    if args.checkpoint is None:
        yield None
        return
    from ..checkpoint import Checkpoint, check_new

    if not os.path.exists(args.checkpoint):
        check_new(args.checkpoint)
        yield None
        return
    with Checkpoint(args.checkpoint, endpoint=endpoint.name, params=params, readonly=True) as store:
        yield store


# --- demo ----------------------------------------------------------------------------
#: The demo's deliberately invalid targets start so (one in 1000), to show how they are reported.
PLANTED_INVALID = "not a target "
#: Rows of the demo's output shown at the end.
DEMO_SAMPLE_ROWS = 3


def demo_targets(n: int) -> list[str]:
    """A realistic list: domains, subdomains and pages, ~1 % other spellings, ~0.1 % invalid."""
    targets: list[str] = []
    for i in range(n):
        if i % 1000 == 999:
            targets.append(f"{PLANTED_INVALID}{i}")
        elif i % 100 == 42:
            plain = (i - 1) - (i - 3) % 3  # the last plain domain before i (j % 3 == 2)
            targets.append(f"  Site{plain}.EXAMPLE.com ")  # another spelling of site{plain}.example.com
        elif i % 3 == 0:
            targets.append(f"https://site{i}.example.com/page/{i}")
        elif i % 3 == 1:
            targets.append(f"www.site{i}.example.org")
        else:
            targets.append(f"site{i}.example.com")
    return targets


async def _demo(args: argparse.Namespace) -> int:
    from ..emulator import EmulatorConfig, expected_backlinks, serve

    config = EmulatorConfig(
        rate_limit=DEFAULT_RATE_LIMIT,
        rate_period=DEFAULT_RATE_PERIOD,
        max_concurrency=DEFAULT_MAX_CONCURRENCY,
        latency_ms=args.latency_ms,
        jitter_ms=args.latency_ms / 2,
        seed=1,
    )
    targets = demo_targets(args.targets)
    output = args.output or os.path.join(tempfile.mkdtemp(prefix="dataforseo-bulk-demo-"), "backlinks.csv")
    wrong: list[str] = []
    planted: dict[str, str] = {}  # the invalid targets the demo put in on purpose -> the reason given
    unplanned: list[str] = []

    def check(outcome: ChunkOutcome[Any]) -> None:
        for raw, value in outcome.values.items():
            target = normalize_target(raw)
            if isinstance(target, InvalidTarget) or value != expected_backlinks(target):
                wrong.append(raw)
        for raw, failure in outcome.failed.items():
            if raw.startswith(PLANTED_INVALID) and failure.kind is FailureKind.INVALID:
                planted[raw] = failure.reason
            else:
                unplanned.append(raw)

    print(f"starting the DataForSEO emulator on loopback; {len(targets):,} targets", file=sys.stderr)
    async with serve(config) as url:
        client = BulkClient(config.login, config.password, base_url=url)
        with open_output(output, None, columns=BULK_BACKLINKS.columns) as writer:
            code = await run_job(
                client,
                BULK_BACKLINKS,
                targets,
                writer,
                display=None if args.quiet else ProgressDisplay(len(targets)),
                check=check,
            )
            if code != EXIT_ABORTED:
                writer.complete()
    if planted:
        example, reason = next(iter(planted.items()))
        print(
            f"the {options.targets(len(planted))} reported invalid were planted by the demo on purpose, "
            f"e.g. {example!r}: {reason}",
            file=sys.stderr,
        )
    print(f"results: {Path(output)}", file=sys.stderr)
    _print_sample(Path(output), next(iter(planted), None))
    if wrong:
        print(
            f"MISMATCH: {len(wrong)} counts differ from the emulator's values, e.g. {wrong[:3]}",
            file=sys.stderr,
        )
        return EXIT_ABORTED
    print("verified: every count equals the emulator's documented value", file=sys.stderr)
    # The planted invalid targets are there to show how they are reported: not a failure.
    return EXIT_OK if code == EXIT_SOME_FAILED and not unplanned else code


def _print_sample(output: Path, failed: str | None) -> None:
    """A few answered rows of the demo's CSV and the row of one planted invalid target."""
    with output.open(encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines()
    answered = [line for line in lines[1:] if not line.startswith(PLANTED_INVALID)]
    shown = lines[:1] + answered[:DEMO_SAMPLE_ROWS]
    if failed is not None:
        shown += [line for line in lines if line.startswith(failed + ",")][:1]
    print("sample rows:\n" + "\n".join(f"  {line}" for line in shown), file=sys.stderr)
