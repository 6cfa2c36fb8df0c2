"""Progress for people: a live bar on a terminal (rich), plain timed lines otherwise.

Both show targets done of total (when the input is a file the total is counted first), calls
and calls per second, the spend so far and, once a few calls have answered, an ETA from the
rate of the last :data:`RATE_WINDOW` seconds. On a terminal, rich redraws the bar 10 times a
second in its own thread (and prints anything written to stderr meanwhile above it). Elsewhere
(a pipe, a log file, CI) one ``progress:`` line comes with the first answer, then a thread
prints one every ``plain_every`` seconds whether or not a chunk finished, and the last state at
the end. Then a summary: counts, calls and retries, money, time and speed. Why rich and not
tqdm: see docs/cli.md.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final, TextIO

from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn
from rich.progress import Progress as RichProgress

from ..result import JobStats, Progress

BAR_WIDTH: Final = 28
#: No ETA before this many calls have answered: the first answers arrive together after one
#: latency, and a rate from them says nothing about the pace the limits will allow.
MIN_CALLS_FOR_ETA: Final = 5
#: The ETA's rate is the targets answered over the last this many seconds (or since the start).
RATE_WINDOW: Final = 30.0
#: Seconds between plain lines when stderr is not a terminal.
PLAIN_EVERY: Final = 10.0


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


class RateEstimate:
    """Targets per second over the last :data:`RATE_WINDOW` seconds of progress reports."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self._window = window
        self._samples: deque[tuple[float, int]] = deque([(0.0, 0)])

    def add(self, progress: Progress) -> None:
        self._samples.append((progress.elapsed, progress.targets_done))
        while len(self._samples) > 2 and progress.elapsed - self._samples[1][0] >= self._window:
            self._samples.popleft()

    def per_second(self) -> float | None:
        (start, done_then), (now, done) = self._samples[0], self._samples[-1]
        return (done - done_then) / (now - start) if now > start and done > done_then else None


def eta(progress: Progress, total: int | None, rate: float | None) -> float | None:
    """Seconds left, or ``None`` while there is no honest estimate (see :data:`MIN_CALLS_FOR_ETA`)."""
    if not total or rate is None or progress.calls < MIN_CALLS_FOR_ETA or progress.targets_done >= total:
        return None
    return (total - progress.targets_done) / rate


def counts(p: Progress, total: int | None, seconds_left: float | None) -> str:
    """The line's words without the bar: done/total, calls, calls/s, spend, ETA."""
    rate = p.calls / p.elapsed if p.elapsed > 0 else 0.0
    parts = [f"{p.targets_done:,}/{total:,} targets" if total else _count(p.targets_done, "target")]
    if total:
        parts[0] += f" {min(1.0, p.targets_done / total):4.0%}"
    parts += [f"{_count(p.calls, 'call')} {rate:.1f}/s", f"${p.cost_usd:.4f}"]
    if seconds_left is not None:
        parts.append(f"ETA {_duration(seconds_left)}")
    return "  ".join(parts)


def describe(p: Progress, total: int | None, seconds_left: float | None = None) -> str:
    """One plain line: a text bar (with a total), then :func:`counts`. Pure, for tests and logs.

    Without ``seconds_left`` the ETA is from the average rate since the start (once
    :data:`MIN_CALLS_FOR_ETA` calls have answered)."""
    if seconds_left is None and p.elapsed > 0:
        seconds_left = eta(p, total, p.targets_done / p.elapsed if p.targets_done else None)
    line = counts(p, total, seconds_left)
    if not total:
        return line
    filled = int(min(1.0, p.targets_done / total) * BAR_WIDTH)
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {line}"


class ProgressDisplay:
    """Give it every :class:`Progress` (``update``), then ``finish``; it decides what to show."""

    def __init__(
        self,
        total: int | None,
        *,
        stream: TextIO | None = None,
        live: bool | None = None,
        plain_every: float = PLAIN_EVERY,
        clock: Callable[[], float] = time.monotonic,
        ticker: bool = True,
    ) -> None:
        self.total = total
        self._stream = stream or sys.stderr
        self._live = self._stream.isatty() if live is None else live
        self._every = plain_every
        self._clock = clock
        self._started = clock()
        self._rate = RateEstimate()
        self._last: Progress | None = None
        self._shown: Progress | None = None
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if not self._live and ticker:  # lines on time, whatever the chunks do
            self._thread = threading.Thread(target=self._tick_forever, name="progress", daemon=True)
            self._thread.start()

    def update(self, progress: Progress) -> None:
        first = self._last is None
        self._last = progress
        self._rate.add(progress)
        if self._live:
            self._draw(progress)
        elif first:  # the first answer at once: the job is reaching the API
            self.tick()

    # --- a terminal: rich's bar --------------------------------------------------------------
    def _draw(self, progress: Progress) -> None:
        if self._bar is None:  # started with the first update, so an early error leaves no bar
            console = Console(file=self._stream, force_terminal=True)
            self._bar = RichProgress(
                BarColumn(bar_width=BAR_WIDTH), TextColumn("{task.fields[counts]}"), console=console
            )
            self._task = self._bar.add_task("targets", total=self.total, counts="")
            self._bar.start()
            # If the job ends without finish() (Ctrl-C), the terminal still gets its cursor back.
            atexit.register(self._bar.stop)
        assert self._task is not None
        self._bar.update(
            self._task,
            completed=progress.targets_done,
            counts=counts(progress, self.total, self._eta(progress)),
        )

    # --- not a terminal: a line every few seconds ----------------------------------------------
    def _tick_forever(self) -> None:
        while not self._stop.wait(self._every):
            self.tick()

    def tick(self) -> None:
        """One plain line with the latest state and the time since the start (the thread's beat)."""
        progress = self._last
        elapsed = _duration(self._clock() - self._started)
        if progress is None:
            line = "no answer yet"
        else:
            self._shown = progress
            line = describe(progress, self.total, self._eta(progress))
        self._stream.write(f"progress: {elapsed} {line}\n")
        self._stream.flush()

    def _eta(self, progress: Progress) -> float | None:
        return eta(progress, self.total, self._rate.per_second())

    def close(self) -> None:
        """Stop showing anything, without a summary (a job refused before it began)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.stop()
            atexit.unregister(self._bar.stop)

    def finish(self, stats: JobStats, *, headline: str) -> None:
        """The last state (unless it is on show already), then the summary."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            if self._last is not None:
                self._draw(self._last)
            self._bar.stop()
            atexit.unregister(self._bar.stop)
        elif not self._live and self._last is not None and self._last is not self._shown:
            self.tick()
        self._stream.write(summary(stats, headline=headline) + "\n")
        self._stream.flush()


def summary(stats: JobStats, *, headline: str) -> str:
    answered = stats.targets - stats.resumed
    speed = (
        f"  speed     {answered / stats.elapsed:,.0f} targets/s, {stats.calls / stats.elapsed:,.1f} calls/s"
        if stats.elapsed > 0
        else None
    )
    lines = [
        headline,
        f"  targets   {stats.targets:,} distinct: {stats.ok:,} ok, {stats.failed:,} failed "
        f"({stats.invalid:,} invalid), {stats.duplicate:,} duplicate inputs",
        f"  calls     {stats.calls:,} ({stats.retries:,} {'retry' if stats.retries == 1 else 'retries'}); "
        f"{_count(stats.resumed, 'target')} answered from the checkpoint",
        *(
            [
                f"  cache     {_count(stats.cached, 'target')} answered from the cache, "
                f"${stats.saved_usd:.4f} saved"
            ]
            if stats.cached
            else []
        ),
        f"  cost      ${stats.cost_usd:.4f}"
        + (
            f" (+ {_count(stats.unknown_cost_calls, 'call')} whose answer was lost: maybe billed)"
            if stats.unknown_cost_calls
            else ""
        ),
        f"  time      {_duration(stats.elapsed)} ({stats.elapsed:.1f} s)",
    ]
    return "\n".join(lines + ([speed] if speed else []))
