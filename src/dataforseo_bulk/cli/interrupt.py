"""Ctrl-C and SIGTERM stop a command inside its event loop, never as a KeyboardInterrupt.

asyncio's runner turns a first Ctrl-C into a cancellation of the main task, but a second one
(or a SIGTERM once SIGINT is ignored) into a ``KeyboardInterrupt`` raised wherever the code
happens to be: in a worker, in the middle of a checkpoint's commit. The job's tasks then die
out of order ("Task exception was never retrieved", a traceback, a wrong exit status). So for
the whole of a command both signals are taken by the event loop instead
(``loop.add_signal_handler``: Python's own handler only notes the signal, whatever code is
running): the first cancels the command's scope, and the command unwinds as under any
cancellation (what finished is in the checkpoint, the output's rows go to its partial file);
those that come while it unwinds change nothing.

A signal the command was started with ignored stays ignored, as Python itself and POSIX
shells keep it (a job started with ``&`` by a script ignores the terminal's Ctrl-C).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

A = TypeVar("A")

#: What stops a command: Ctrl-C and ``kill``'s default.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The line a stopped command ends with (after ``dataforseo-bulk: ``).
INTERRUPTED = "interrupted; finished chunks are kept"


async def until_interrupted(command: Callable[[A], Awaitable[int]], args: A) -> int | None:
    """``await command(args)``; ``None`` if a stop signal cancelled it (once it has unwound)."""
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    scope = anyio.CancelScope()
    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) is signal.SIG_IGN:
            continue
        try:
            loop.add_signal_handler(sig, scope.cancel)  # a second signal: cancel() again, a no-op
        except (RuntimeError, ValueError):  # main() called outside the main thread: no signals there
            break
        handled.append(sig)
    try:
        with scope:
            return await command(args)
        return None
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
            if scope.cancel_called:
                # Stopped: what is left is one line and the exit. A second Ctrl-C now would
                # only turn exit status 2 into a death by signal (130, 143).
                signal.signal(sig, signal.SIG_IGN)
