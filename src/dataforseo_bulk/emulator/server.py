"""Serving the emulator over loopback with uvicorn: in a running event loop, or from the CLI.

uvicorn is an optional extra (``pip install 'dataforseo-bulk[emulator]'``) and is imported only
here, inside the functions that need it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Generator, Sequence
from typing import Final

import anyio

from .app import ConnectionDropped, create_app
from .config import DEFAULT_PASSWORD, EmulatorConfig
from .faults import DEFAULT_FAULTS, FAULT_DESCRIPTIONS, FAULT_KINDS, LONG_FAULTS
from .ledger import Ledger

PASSWORD_ENV: Final = "DATAFORSEO_EMULATOR_PASSWORD"
DEFAULT_PORT: Final = 8765
#: On exit, requests still running after this many seconds are cancelled (a ``slow`` fault
#: would otherwise hold shutdown for ``slow_seconds``).
GRACEFUL_SHUTDOWN_SECONDS: Final = 2
_INSTALL_HINT: Final = "the emulator server needs uvicorn: pip install 'dataforseo-bulk[emulator]'"


class _HideEmulatedDrops(logging.Filter):
    """uvicorn logs an app exception as an error; a ``drop`` fault is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: without it, each answer on a kept-alive connection
        # waits ~40 ms for the client's delayed ACK (Nagle), and the emulator looks slow.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def serve(
    config: EmulatorConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ledger: Ledger | None = None,
) -> AsyncIterator[str]:
    """Run the emulator in the current (asyncio) event loop; yields its base URL.

    The socket is bound before uvicorn starts, so ``port=0`` works and the URL is known when
    the block starts. Leaving the block stops the server. Signals are left to the caller.
    """
    try:
        import uvicorn
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            yield  # the host program owns signal handling

    sock = _bind(host, port)
    server = Server(
        uvicorn.Config(
            create_app(config, ledger),
            interface="asgi3",
            lifespan="on",
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
    )
    uvicorn_errors = logging.getLogger("uvicorn.error")
    hide_drops = _HideEmulatedDrops()
    uvicorn_errors.addFilter(hide_drops)
    running = asyncio.create_task(server.serve(sockets=[sock]), name="dataforseo-emulator")
    try:
        while not server.started:
            if running.done():
                raise RuntimeError(f"the emulator could not start on {host}:{port}")
            await asyncio.sleep(0.005)
        yield _url(sock)
    finally:
        server.should_exit = True
        # Shielded: a cancelled host (Ctrl-C on the demo) would otherwise cancel uvicorn's task
        # through this await, cutting requests and the lifespan mid-way (each logged with a
        # traceback); uvicorn's own graceful shutdown ends them instead.
        with anyio.CancelScope(shield=True), contextlib.suppress(SystemExit):  # SystemExit: startup failed
            await running
        sock.close()
        uvicorn_errors.removeFilter(hide_drops)


# --- the command line --------------------------------------------------------------------


def parse_rate(text: str) -> tuple[int, float] | None:
    """``LIMIT/SECONDS`` (``2000/60``) → ``(2000, 60.0)``; ``none`` → no rate limit."""
    if text.strip().lower() in ("none", "off", "unlimited"):
        return None
    limit, slash, period = text.partition("/")
    try:
        parsed = (int(limit), float(period) if slash else 60.0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected LIMIT/SECONDS such as 2000/60, or none; got {text!r}"
        ) from None
    if parsed[0] < 1 or parsed[1] <= 0:
        raise argparse.ArgumentTypeError(f"LIMIT must be >= 1 and SECONDS > 0; got {text!r}")
    return parsed


def parse_concurrency(text: str) -> int | None:
    """A positive int, or ``none`` for no limit."""
    if text.strip().lower() in ("none", "off", "unlimited"):
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of requests >= 1, or none; got {text!r}")
    return value


def _number(text: str, *, high: float, expected: str) -> float:
    """A finite number from 0 to ``high``, or a usage error saying what was ``expected``."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and 0 <= value <= high):
        raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
    return value


def parse_balance(text: str) -> float | None:
    """USD >= 0 (``0.25``), or ``none`` for an unlimited balance."""
    if text.strip().lower() in ("none", "off", "unlimited"):
        return None
    return _number(text, high=math.inf, expected="USD >= 0 such as 0.25, or none")


def parse_non_negative(text: str) -> float:
    """A finite number >= 0 (milliseconds, seconds)."""
    return _number(text, high=math.inf, expected="a number >= 0 such as 40")


def parse_probability(text: str) -> float:
    """A probability from 0 to 1 (``0.2``: one good call in five is hit)."""
    return _number(text, high=1.0, expected="a probability from 0 to 1 such as 0.2")


def parse_port(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 (any free one) to 65535; got {text!r}")
    return port


def parse_faults(text: str) -> frozenset[str]:
    """A comma list of fault kinds (``http500,drop``), ``all`` or ``none``."""
    if text.strip().lower() == "all":
        return FAULT_KINDS
    if text.strip().lower() == "none":
        return frozenset()
    names = frozenset(name.strip() for name in text.split(",") if name.strip())
    unknown = sorted(names - FAULT_KINDS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown fault kind(s) {', '.join(unknown)}; choose from {', '.join(sorted(FAULT_KINDS))}"
        )
    return names


def build_parser(
    parser: argparse.ArgumentParser | None = None, *, prog: str | None = None
) -> argparse.ArgumentParser:
    """The emulator's flags, added to ``parser`` (e.g. a ``dataforseo-bulk emulate`` subparser) or
    to a new parser named ``prog``. Defaults mirror the real account limits: 2000 calls/60 s, 30
    at once."""
    if parser is None:
        parser = argparse.ArgumentParser(
            prog=prog or "python -m dataforseo_bulk.emulator",
            description="A local stand-in for DataForSEO's bulk Backlinks endpoints.",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    if parser.epilog is None:
        faults_help = "\n".join(f"  {name:15} {text}" for name, text in sorted(FAULT_DESCRIPTIONS.items()))
        parser.epilog = f"fault kinds:\n{faults_help}"
        if parser.formatter_class is argparse.HelpFormatter:  # keep the list one kind per line
            parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    add("--port", type=parse_port, default=DEFAULT_PORT,
        help="port, 0 for any free one (default: %(default)s)")  # fmt: skip
    add("--rate", type=parse_rate, default=(2000, 60.0), metavar="LIMIT/SECONDS",
        help="accepted calls per sliding window, or none (default: 2000/60)")  # fmt: skip
    add("--concurrency", type=parse_concurrency, default=30, metavar="N",
        help="requests processed at once, or none (default: %(default)s)")  # fmt: skip
    add("--latency-ms", type=parse_non_negative, default=0.0, metavar="MS",
        help="added latency per call (default: %(default)s)")  # fmt: skip
    add("--jitter-ms", type=parse_non_negative, default=0.0, metavar="MS",
        help="uniform ± jitter on the latency (default: %(default)s)")  # fmt: skip
    add("--fault-rate", type=parse_probability, default=0.0, metavar="P",
        help="probability of a fault per good call, 0 to 1 (default: 0)")  # fmt: skip
    long_faults = ", ".join(sorted(LONG_FAULTS))
    add("--faults", type=parse_faults, default=DEFAULT_FAULTS, metavar="KIND,KIND",
        help=f"fault kinds to draw from, all or none (default: all but the long {long_faults})")  # fmt: skip
    add("--seed", type=int, default=None, help="seed for faults, jitter and task ids")
    add(
        "--slow-seconds",
        type=parse_non_negative,
        default=200.0,
        help="how long the slow fault waits (default: %(default)s)",
    )
    add("--null-rate", type=parse_probability, default=0.0, metavar="P",
        help="share of targets answered with null values, the API's 'no data' (default: 0)")  # fmt: skip
    add("--empty-result-rate", type=parse_probability, default=0.0, metavar="P",
        help="share of good calls answered Ok. with result [] (default: 0)")  # fmt: skip
    add("--balance", type=parse_balance, default=None, metavar="USD",
        help="account balance; a call that would pass it gets 40210 (default: none)")  # fmt: skip
    add("--login", default="emulator", help="API login to accept (default: %(default)s)")
    add("--password", default=os.environ.get(PASSWORD_ENV, DEFAULT_PASSWORD),
        help=f"API password to accept (default: ${PASSWORD_ENV} or {DEFAULT_PASSWORD})")  # fmt: skip
    add("--ledger", default=None, metavar="PATH", help="SQLite ledger file (default: in a new temp dir)")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The :class:`EmulatorConfig` for parsed :func:`build_parser` flags (``ValueError`` if invalid)."""
    rate: tuple[int, float] | None = args.rate
    return EmulatorConfig(
        login=args.login,
        password=args.password,
        rate_limit=rate[0] if rate else None,
        rate_period=rate[1] if rate else 60.0,
        max_concurrency=args.concurrency,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        fault_rate=args.fault_rate,
        faults=args.faults,
        seed=args.seed,
        slow_seconds=args.slow_seconds,
        balance_usd=args.balance,
        null_rate=args.null_rate,
        empty_result_rate=args.empty_result_rate,
    )


async def serve_until_signalled(config: EmulatorConfig, *, host: str, port: int, ledger: Ledger) -> None:
    """Serve, announce the URL on stdout, and return on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        async with serve(config, host=host, port=port, ledger=ledger) as url:
            print(f"serving DataForSEO emulator on {url} (ledger: {ledger.path})", flush=True)
            await stop.wait()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


def open_to_others_warning(host: str, password: str) -> str | None:
    """A warning when the emulator listens beyond loopback with the password everyone knows."""
    if host in ("127.0.0.1", "localhost", "::1") or password != DEFAULT_PASSWORD:
        return None
    return (
        f"warning: listening on {host} with the default password: anyone who can reach this machine "
        f"can use the emulator; set ${PASSWORD_ENV} (or --password) to a secret of your own"
    )


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """``python -m dataforseo_bulk.emulator``: serve until interrupted; 0 on a clean exit.

    ``prog`` names the command in usage and error lines (``dataforseo-bulk emulate``)."""
    parser = build_parser(prog=prog)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as error:
        # EmulatorConfig's own checks (the one place they are written), worded for the flags.
        parser.error(str(error).removeprefix("EmulatorConfig: "))
    warning = open_to_others_warning(args.host, args.password)
    if warning:
        print(warning, file=sys.stderr)
    try:
        ledger = Ledger(args.ledger)
    except (OSError, sqlite3.Error) as error:
        parser.error(f"argument --ledger: cannot open {args.ledger!r}: {error}")
    try:
        asyncio.run(serve_until_signalled(config, host=args.host, port=args.port, ledger=ledger))
    except ImportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # platforms without loop signal handlers
        pass
    finally:
        ledger.close()
    return 0
