"""Progress for people: a live bar on a terminal, plain periodic lines otherwise.

The bar shows targets done of total (when the input is a file the total is counted first),
calls per second, the spend so far and an ETA. Redrawn at most 10 times a second, so a fast
job does not spend its time printing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from ..result import JobStats, Progress

BAR_WIDTH = 28


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def describe(p: Progress, total: int | None) -> str:
    """One line: done/total, percentage, calls/s, spend, ETA. Pure, for tests and both modes."""
    rate = p.calls / p.elapsed if p.elapsed > 0 else 0.0
    parts = []
    if total:
        fraction = min(1.0, p.targets_done / total)
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        parts.append(f"[{bar}] {p.targets_done:,}/{total:,} targets {fraction:4.0%}")
        if 0 < p.targets_done < total and p.elapsed > 0:
            parts.append(f"ETA {_duration(p.elapsed * (total - p.targets_done) / p.targets_done)}")
    else:
        parts.append(f"{p.targets_done:,} targets")
    parts.insert(1, f"{p.calls:,} calls {rate:.1f}/s")
    parts.insert(2, f"${p.cost_usd:.4f}")
    return "  ".join(parts)


class ProgressDisplay:
    """Give it every :class:`Progress`; it decides what to show and when."""

    def __init__(
        self,
        total: int | None,
        *,
        stream: TextIO | None = None,
        live: bool | None = None,
        plain_every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self._stream = stream or sys.stderr
        self._live = self._stream.isatty() if live is None else live
        self._every = 0.1 if self._live else plain_every
        self._clock = clock
        self._last_shown = -float("inf")
        self._last: Progress | None = None
        self._shown: Progress | None = None

    def update(self, progress: Progress) -> None:
        self._last = progress
        now = self._clock()
        if now - self._last_shown >= self._every:
            self._last_shown = now
            self._show(progress)

    def _show(self, progress: Progress) -> None:
        self._shown = progress
        line = describe(progress, self.total)
        if self._live:
            self._stream.write(f"\r\033[K{line}")
        else:
            self._stream.write(f"progress: {line}\n")
        self._stream.flush()

    def finish(self, stats: JobStats, *, headline: str) -> None:
        """The last state of the bar (unless it is on show already), then the summary."""
        if self._last is not None and self._last is not self._shown:
            self._show(self._last)
        if self._live:
            self._stream.write("\n")
        self._stream.write(summary(stats, headline=headline) + "\n")
        self._stream.flush()


def summary(stats: JobStats, *, headline: str) -> str:
    lines = [
        headline,
        f"  targets   {stats.targets:,} distinct: {stats.ok:,} ok, {stats.failed:,} failed "
        f"({stats.invalid:,} invalid), {stats.duplicate:,} duplicate inputs",
        f"  calls     {stats.calls:,} ({stats.retries:,} retries); "
        f"{stats.resumed:,} targets answered from the checkpoint",
        *(
            [f"  cache     {stats.cached:,} targets answered from the cache, ${stats.saved_usd:.4f} saved"]
            if stats.cached
            else []
        ),
        f"  cost      ${stats.cost_usd:.4f}"
        + (
            f" (+ {stats.unknown_cost_calls} calls whose answer was lost: maybe billed)"
            if stats.unknown_cost_calls
            else ""
        ),
        f"  time      {_duration(stats.elapsed)} ({stats.elapsed:.1f} s)",
    ]
    return "\n".join(lines)
