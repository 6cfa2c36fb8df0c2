"""The results cache on the command line: ``--cache FILE|URL --max-age AGE`` on every job
command, what ``--dry-run`` says about it, and ``dataforseo-bulk cache stats|prune FILE``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._constants import DEFAULT_BASE_URL, MAX_CHUNK_SIZE, SANDBOX_URL
from ..cache import ResultCache, describe_age, open_cache, parse_age, scope_of
from ..errors import ConfigurationError

if TYPE_CHECKING:  # imported where used: sqlite3 only when a cache is
    from ..cache_sqlite import SQLiteCache


def _age(text: str) -> dt.timedelta:
    try:
        return parse_age(text)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache",
        metavar="FILE|URL",
        help="results cache shared by jobs, an SQLite file or a redis:// URL (shared by hosts): "
        "targets with a fresh answer in it are not bought again, and new answers are added "
        "(needs --max-age)",
    )
    parser.add_argument(
        "--max-age",
        type=_age,
        metavar="AGE",
        help="with --cache: use cached answers up to this old: 7d, 12h, 30m, 45s; 0 buys every "
        "answer again and stores it",
    )


def cache_knobs(args: argparse.Namespace) -> dict[str, Any]:
    """The client's ``cache=`` and ``max_age=`` from the options (none without ``--cache``)."""
    if args.cache is None:
        if args.max_age is not None:
            raise ConfigurationError("--max-age needs --cache FILE (the results cache to use)")
        return {}
    if args.max_age is None:
        raise ConfigurationError(
            "--cache needs --max-age: how old a cached answer may be, e.g. --max-age 7d "
            "(or 12h, 30m, 45s; 0 buys every answer again)"
        )
    return {"cache": args.cache, "max_age": args.max_age}


def check_cache_file(args: argparse.Namespace) -> None:
    """Open and close the cache (file or Redis), so a bad one is refused before the output is
    touched."""
    if args.cache is not None:
        with _open(args.cache):
            pass


@contextmanager
def _open(cache: str) -> Iterator[ResultCache]:
    store, _ = open_cache(cache)
    try:
        yield store
    finally:
        store.close()


def is_url(cache: str) -> bool:
    return "://" in cache  # a Redis URL: open_cache refuses any other scheme


def without_cached(
    args: argparse.Namespace, targets: list[str], params: dict[str, Any]
) -> tuple[list[str], str]:
    """For ``--dry-run``: the targets the cache would not answer, and a line saying how many it would.

    Reads the cache without changing it; a cache file that does not exist yet answers nothing.
    """
    knobs = cache_knobs(args)
    if not is_url(args.cache) and not Path(args.cache).exists():
        from .._sqlite import check_path

        check_path(Path(args.cache), what="cache")
        return targets, f"  cache     0 targets answered from the cache ({args.cache} does not exist yet)\n"
    from ..client import _check_base_url

    base_url = _check_base_url(SANDBOX_URL if args.sandbox else args.base_url or DEFAULT_BASE_URL)
    scope = scope_of(base_url, args.job.endpoint.name, params)
    max_age = knobs["max_age"].total_seconds()
    rest: list[str] = []
    cached = 0
    with _open(args.cache) as cache:
        for start in range(0, len(targets), MAX_CHUNK_SIZE):  # one lookup per chunk, as a job does
            part = targets[start : start + MAX_CHUNK_SIZE]
            found = cache.fresh(scope, part, max_age)
            cached += len(found)
            rest += [t for t in part if t not in found]
    age = describe_age(args.max_age)
    return rest, (
        f"  cache     {cached:,} targets answered from the cache (answers up to {age} old); "
        f"{len(rest):,} left to buy\n"
    )


# --- dataforseo-bulk cache stats|prune FILE -------------------------------------------------
def add_cache_command(commands: Any) -> None:
    """The ``cache`` command and its two subcommands, on the top-level subparsers."""
    cache = commands.add_parser("cache", help="look after a results cache file: stats, prune")
    actions = cache.add_subparsers(dest="cache_action", required=True, metavar="ACTION")
    stats = actions.add_parser("stats", help="answers held, per endpoint and parameters, oldest and newest")
    stats.add_argument("file", help="the cache file (--cache FILE of the jobs)")
    prune = actions.add_parser("prune", help="delete old answers and give their space back")
    prune.add_argument("file", help="the cache file (--cache FILE of the jobs)")
    prune.add_argument(
        "--older-than",
        type=_age,
        required=True,
        metavar="AGE",
        help="delete answers bought this long ago or earlier: 30d, 12h, ...",
    )


def run_cache_command(args: argparse.Namespace) -> int:
    if is_url(args.file):
        raise ConfigurationError(
            f"cache {args.cache_action} works on a cache file, not a Redis URL: Redis deletes old "
            "answers by itself (each has a time to live) and holds only hashes of the endpoints "
            "and parameters; ask Redis itself (redis-cli INFO keyspace)"
        )
    path = Path(args.file)
    if not path.is_file():
        raise ConfigurationError(f"no cache file {str(path)!r}: give the file the jobs used with --cache")
    with _open_file(path) as cache:
        if args.cache_action == "prune":
            deleted = cache.prune(args.older_than.total_seconds())
            left = cache.stats()
            print(
                f"pruned {deleted:,} answers bought {describe_age(args.older_than)} ago or earlier; "
                f"{left.entries:,} left, file {_size(left.file_bytes)}"
            )
            return 0
        stats = cache.stats()
    print(f"{path}: {stats.entries:,} answers, file {_size(stats.file_bytes)}")
    for scope in stats.scopes:
        what = json.loads(scope.scope)
        params = "".join(f" {k}={v}" for k, v in sorted(what["params"].items()))
        print(
            f"  {what['endpoint']}{params} at {what['api']}: {scope.entries:,} answers, "
            f"bought {_when(scope.oldest)} to {_when(scope.newest)}"
        )
    return 0


@contextmanager
def _open_file(path: Path) -> Iterator[SQLiteCache]:
    from ..cache_sqlite import SQLiteCache  # lazy: sqlite3 only when a cache is used

    with SQLiteCache(path) as cache:
        yield cache


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"
