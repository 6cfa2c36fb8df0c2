"""The ``dataforseo-bulk`` command: bulk jobs from files, the emulator, and an offline demo.

Exit codes: 0 every target answered; 1 some targets failed (invalid, refused, missing);
2 the job did not finish (fatal API answer, budget reached, interrupted) or the command was
wrong (bad option, missing credentials, unreadable input).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from .._constants import (
    COST_PER_CALL_USD,
    COST_PER_TARGET_USD,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_PERIOD,
    ENV_LOGIN,
    ENV_PASSWORD,
    ENV_SHARED_LIMITS,
    MAX_CHUNK_SIZE,
    SANDBOX_URL,
)
from ..chunks import cut_chunk
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
from ..errors import ConfigurationError, JobAborted
from ..params import DEFAULT_RANK_SCALE, check_date_from, check_rank_scale
from ..result import JobStats
from ..targets import InvalidTarget, normalize_target
from .inputs import count_targets, open_input, read_targets
from .outputs import Writer, open_output
from .progress import ProgressDisplay

EXIT_OK, EXIT_SOME_FAILED, EXIT_ABORTED = 0, 1, 2


@dataclass(frozen=True)
class JobCommand:
    """One endpoint as a subcommand: the endpoint and how its options become parameters."""

    name: str
    endpoint: Endpoint[Any]
    help: str
    add_options: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    params: Callable[[argparse.Namespace], dict[str, Any]] = lambda args: {}


def _option_type(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type=`` from a parameter check: a bad value is a usage error (exit 2) with
    the check's message, before any file is opened or any call made (also with --dry-run)."""

    def convert(text: str) -> Any:
        try:
            return check(text)
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _add_rank_scale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rank-scale",
        type=_option_type(check_rank_scale),
        default=DEFAULT_RANK_SCALE,
        metavar="{one_hundred,one_thousand}",
        help=f"ranks from 0 to 100 or from 0 to 1000 (default {DEFAULT_RANK_SCALE})",
    )


def _add_date_from(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--date-from",
        type=_option_type(check_date_from),
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
    return rate


def _add_job_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="file with one target per line (or a CSV with --column); - for stdin")
    parser.add_argument("-o", "--output", help="OUT.csv, OUT.jsonl or - for stdout (default: stdout)")
    parser.add_argument("--format", choices=["csv", "jsonl"], help="output format (default: from the suffix)")
    parser.add_argument("--column", help="read targets from this column of a CSV with a header row")
    parser.add_argument(
        "--checkpoint", metavar="FILE", help="SQLite file: resume a stopped job without paying twice"
    )
    parser.add_argument("--max-cost", type=float, metavar="USD", help="never spend more than this")
    parser.add_argument(
        "--rate",
        type=parse_rate,
        default=(DEFAULT_RATE_LIMIT, DEFAULT_RATE_PERIOD),
        metavar="N[/SECONDS]",
        help=f"calls allowed per window (default {DEFAULT_RATE_LIMIT}/{DEFAULT_RATE_PERIOD:g})",
    )
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_MAX_CONCURRENCY, help="calls in flight (30)"
    )
    parser.add_argument("--chunk-size", type=int, default=MAX_CHUNK_SIZE, help=argparse.SUPPRESS)
    parser.add_argument(
        "--shared-limits",
        metavar="URL",
        help="share the account's limits with its other workers through this Redis "
        f"(redis://host:6379/0; default: ${ENV_SHARED_LIMITS}); see docs/scaling.md",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--sandbox", action="store_true", help=f"use the free sandbox ({SANDBOX_URL})")
    where.add_argument("--base-url", help="API base URL (e.g. an emulator on http://127.0.0.1:8765)")
    parser.add_argument("--login", help=f"API login (default: ${ENV_LOGIN})")
    parser.add_argument("--password", help=f"API password (default: ${ENV_PASSWORD}; prefer the variable)")
    parser.add_argument(
        "--dry-run", action="store_true", help="no calls: count targets, calls, cost and time"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dataforseo-bulk",
        description="Bulk DataForSEO Backlinks jobs: paced, retried, budgeted, resumable.",
        epilog="Exit codes: 0 all answered, 1 some targets failed, 2 aborted or usage error.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for job in JOB_COMMANDS:
        sub = commands.add_parser(job.name, help=job.help, description=job.help)
        _add_job_options(sub)
        job.add_options(sub)
        sub.set_defaults(job=job)
    demo = commands.add_parser("demo", help="offline: a 100,000-target job against the built-in emulator")
    demo.add_argument("--targets", type=int, default=100_000, help="how many targets (default 100000)")
    demo.add_argument("-o", "--output", help="where to write the results (default: a temporary file)")
    demo.add_argument("--latency-ms", type=float, default=40.0, help="emulated latency per call")
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    emulate = commands.add_parser("emulate", help="run the DataForSEO emulator on loopback")
    from ..emulator import build_parser as emulator_parser

    emulator_parser(emulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulate":
        from ..emulator import main as emulate

        return emulate(list(argv or sys.argv[1:])[1:])
    try:
        if args.command == "demo":
            return anyio.run(_demo, args)
        if args.dry_run:
            return _dry_run(args)
        return anyio.run(_run_job_command, args)
    except ConfigurationError as exc:
        print(f"dataforseo-bulk: {exc}", file=sys.stderr)
        return EXIT_ABORTED
    except KeyboardInterrupt:
        print("dataforseo-bulk: interrupted; finished chunks are kept", file=sys.stderr)
        return EXIT_ABORTED


# --- jobs ----------------------------------------------------------------------------
def _client(args: argparse.Namespace, base_url: str | None = None) -> BulkClient:
    knobs: dict[str, Any] = {
        "rate_limit": args.rate[0],
        "rate_period": args.rate[1],
        "max_concurrency": args.concurrency,
        "chunk_size": args.chunk_size,
        "max_cost": args.max_cost,
        "shared_limits": args.shared_limits,
    }
    url = base_url or (SANDBOX_URL if args.sandbox else args.base_url)
    if url:
        knobs["base_url"] = url
    return BulkClient(args.login, args.password, **knobs)


async def _run_job_command(args: argparse.Namespace) -> int:
    job: JobCommand = args.job
    client = _client(args)  # validates every knob and the credentials before any reading or call
    params = job.endpoint.check_params(job.params(args))
    await client.check_shared_limits()  # an unreachable Redis refuses before any file is touched
    total = None if args.quiet else count_targets(args.input, args.column)
    with (
        open_input(args.input) as handle,
        open_output(args.output, args.format, columns=job.endpoint.columns) as writer,
    ):
        return await run_job(
            client,
            job.endpoint,
            read_targets(handle, args.column),
            writer,
            params=params,
            checkpoint=args.checkpoint,
            display=None if args.quiet else ProgressDisplay(total),
        )


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
) -> int:
    """The path every job command shares: stream outcomes to the writer, then a summary."""
    stats: JobStats | None = None
    headline = "done"
    code = EXIT_OK
    with _terminate_as_interrupt():
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
                headline, code = f"aborted: {exc}", EXIT_ABORTED
    assert stats is not None
    if code == EXIT_OK and stats.failed:
        headline, code = f"done, {stats.failed:,} targets failed (see the error columns)", EXIT_SOME_FAILED
    if display is not None:
        display.finish(stats, headline=headline)
    elif code == EXIT_ABORTED:
        print(f"dataforseo-bulk: {headline}", file=sys.stderr)
    return code


class _terminate_as_interrupt:
    """SIGTERM ends a job like Ctrl-C does: stop dispatching, keep what finished."""

    def __enter__(self) -> None:
        self._previous = signal.getsignal(signal.SIGTERM)
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, self._raise)

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        # Do what Ctrl-C does: the event loop's SIGINT handler cancels the main task cleanly.
        on_interrupt = signal.getsignal(signal.SIGINT)
        if callable(on_interrupt):
            on_interrupt(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGTERM, self._previous)


def _dry_run(args: argparse.Namespace) -> int:
    """No network: what the job would send, cost and take at the configured rate."""
    seen: set[str] = set()
    sent: dict[str, None] = {}  # in input order: chunks are cut the way the job would cut them
    valid = invalid = duplicate = 0
    with open_input(args.input) as handle:
        for raw in read_targets(handle, args.column):
            if raw in seen:
                duplicate += 1
                continue
            seen.add(raw)
            target = normalize_target(raw)
            if isinstance(target, InvalidTarget):
                invalid += 1
            elif target in sent:
                duplicate += 1
            else:
                sent[target] = None
                valid += 1
    endpoint: Endpoint[Any] = args.job.endpoint
    chunk = min(args.chunk_size, endpoint.max_targets)
    calls = _calls_needed(list(sent), chunk, endpoint)
    limit, period = args.rate
    shortest = max(0, calls - 1) * period / limit
    print(
        f"dry run (no calls made):\n"
        f"  targets   {len(seen):,} distinct inputs: {valid:,} to send, {invalid:,} invalid, "
        f"{duplicate:,} duplicate\n"
        f"  calls     {calls:,} of at most {chunk} targets\n"
        f"  cost      ${calls * COST_PER_CALL_USD + valid * COST_PER_TARGET_USD:.4f} estimated "
        "(without retries)\n"
        f"  time      at least {shortest:.1f} s at {limit}/{period:g}s (more if latency binds at "
        f"{args.concurrency} in flight)"
    )
    return EXIT_OK


def _calls_needed(targets: list[str], size: int, endpoint: Endpoint[Any]) -> int:
    """How many calls the job would make: chunks cut as the engine cuts them (root domains too)."""
    calls = 0
    while targets:
        cut = cut_chunk(targets, size, endpoint.root_domain, endpoint.max_root_domains, final=True)
        targets = targets[cut:]
        calls += 1
    return calls


# --- demo ----------------------------------------------------------------------------
def demo_targets(n: int) -> list[str]:
    """A realistic list: domains, subdomains and pages, ~1 % other spellings, ~0.1 % invalid."""
    targets: list[str] = []
    for i in range(n):
        if i % 1000 == 999:
            targets.append(f"not a target {i}")
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

    def check(outcome: ChunkOutcome[Any]) -> None:
        for raw, value in outcome.values.items():
            target = normalize_target(raw)
            if isinstance(target, InvalidTarget) or value != expected_backlinks(target):
                wrong.append(raw)

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
    print(f"results: {Path(output)}", file=sys.stderr)
    if wrong:
        print(
            f"MISMATCH: {len(wrong)} counts differ from the emulator's values, e.g. {wrong[:3]}",
            file=sys.stderr,
        )
        return EXIT_ABORTED
    print("verified: every count equals the emulator's documented value", file=sys.stderr)
    # The demo's invalid targets are there on purpose, to show they are reported: not a failure.
    return EXIT_OK if code == EXIT_SOME_FAILED else code
