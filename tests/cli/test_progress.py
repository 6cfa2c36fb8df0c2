"""The progress display: the line it draws, and when it draws it (on a fake clock)."""

from __future__ import annotations

import io
import threading

import pytest

from dataforseo_bulk.cli.progress import ProgressDisplay, RateEstimate, describe, eta, summary
from dataforseo_bulk.result import JobStats, Progress


def progress(done: int, *, calls: int = 5, cost: float = 0.25, elapsed: float = 10.0) -> Progress:
    return Progress(
        chunks_done=calls, targets_done=done, calls=calls, retries=0, cost_usd=cost, elapsed=elapsed
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("p", "total", "line"),
    [
        (
            progress(2500),
            10_000,
            "[#######.....................] 2,500/10,000 targets  25%  5 calls 0.5/s  $0.2500  ETA 0:00:30",
        ),
        (  # no total (stdin): a count, no bar, no ETA
            progress(2500),
            None,
            "2,500 targets  5 calls 0.5/s  $0.2500",
        ),
        (  # done: a full bar and no ETA
            progress(10_000, calls=10, cost=0.5, elapsed=4.0),
            10_000,
            "[############################] 10,000/10,000 targets 100%  10 calls 2.5/s  $0.5000",
        ),
        (  # nothing done yet, no time passed: no division by zero, no ETA
            progress(0, calls=0, cost=0.0, elapsed=0.0),
            10_000,
            "[............................] 0/10,000 targets   0%  0 calls 0.0/s  $0.0000",
        ),
        (  # one call answered: too early for an ETA
            progress(1, calls=1, cost=0.02003, elapsed=2.0),
            5001,
            "[............................] 1/5,001 targets   0%  1 call 0.5/s  $0.0200",
        ),
        (  # an ETA over an hour
            progress(5, calls=5, cost=0.1, elapsed=10.0),
            5001,
            "[............................] 5/5,001 targets   0%  5 calls 0.5/s  $0.1000  ETA 2:46:32",
        ),
        (  # more done than counted (a total from another input): clamped, never past the bar
            progress(12, calls=1, elapsed=1.0),
            10,
            "[############################] 12/10 targets 100%  1 call 1.0/s  $0.2500",
        ),
    ],
)
def test_describe(p: Progress, total: int | None, line: str) -> None:
    assert describe(p, total) == line


def test_live_bar_is_drawn_by_rich_then_the_summary() -> None:
    out = FakeTTY()
    display = ProgressDisplay(10_000, stream=out, live=True)
    display.update(progress(1000))
    display.update(progress(4000))
    stats = JobStats(targets=4000, ok=4000, calls=4, cost_usd=0.2, elapsed=1.5)
    display.finish(stats, headline="done")
    text = out.getvalue()
    assert "4,000/10,000 targets  40%" in text and "progress:" not in text
    assert "\033[?25l" in text and "\033[?25h" in text  # the cursor is hidden while drawing, then back
    assert text.endswith(summary(stats, headline="done") + "\n")


def test_plain_lines_say_the_time_and_the_latest_state() -> None:
    clock, out = FakeClock(), io.StringIO()
    display = ProgressDisplay(None, stream=out, live=False, clock=clock, ticker=False)
    clock.now += 10.0
    display.tick()  # no chunk has finished yet: still a line
    display.update(progress(1000))  # the first answer: shown at once
    clock.now += 10.0
    display.update(progress(1500))
    display.tick()
    display.update(progress(2400))  # not shown yet: finish shows it, once
    display.finish(JobStats(), headline="done")
    assert out.getvalue().splitlines()[:5] == [
        "progress: 0:00:10 no answer yet",
        "progress: 0:00:10 1,000 targets  5 calls 0.5/s  $0.2500",
        "progress: 0:00:20 1,500 targets  5 calls 0.5/s  $0.2500",
        "progress: 0:00:20 2,400 targets  5 calls 0.5/s  $0.2500",
        "done",
    ]

    # A last state already on show is not printed twice.
    out2 = io.StringIO()
    display = ProgressDisplay(None, stream=out2, live=False, clock=clock, ticker=False)
    display.update(progress(7))
    display.finish(JobStats(), headline="done")
    assert [line for line in out2.getvalue().splitlines() if line.startswith("progress:")] == [
        "progress: 0:00:00 7 targets  5 calls 0.5/s  $0.2500"
    ]


class Lines(io.StringIO):
    """A stream that says when a line was written (the ticker runs in its own thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Event()

    def write(self, text: str) -> int:
        self.written.set()
        return super().write(text)


def test_plain_lines_come_on_time_even_when_no_chunk_finishes() -> None:
    out = Lines()
    display = ProgressDisplay(100, stream=out, live=False, plain_every=0.01)
    assert out.written.wait(timeout=30)  # no update at all: the ticker still reports
    display.finish(JobStats(), headline="done")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("progress: ") and lines[0].endswith("no answer yet")
    assert lines[-1] == "  time      0:00:00 (0.0 s)"


def test_live_defaults_to_whether_the_stream_is_a_terminal() -> None:
    tty, pipe = FakeTTY(), io.StringIO()
    for stream in (tty, pipe):
        display = ProgressDisplay(10, stream=stream, ticker=False)
        display.update(progress(5))
        display.finish(JobStats(), headline="done")
    assert "\033[" in tty.getvalue() and "progress:" not in tty.getvalue()
    assert pipe.getvalue().startswith("progress: ") and "\033[" not in pipe.getvalue()


def test_no_eta_before_a_few_calls_then_from_the_recent_rate() -> None:
    rate = RateEstimate(window=30.0)
    first = progress(1, calls=1, elapsed=2.0)  # one early answer says nothing about the pace
    rate.add(first)
    assert eta(first, 5001, rate.per_second()) is None
    for second in range(3, 63):  # then 100 targets a second, steadily
        rate.add(progress(100 * second, calls=second, elapsed=float(second)))
    now = progress(100 * 62, calls=62, elapsed=62.0)
    assert rate.per_second() == pytest.approx(100.0)
    assert eta(now, 10_000, rate.per_second()) == pytest.approx(38.0)
    assert eta(progress(10_000, calls=70), 10_000, 100.0) is None  # done: no ETA


def test_finish_without_any_progress_prints_only_the_summary() -> None:
    out = io.StringIO()
    ProgressDisplay(10, stream=out, live=False, ticker=False).finish(JobStats(), headline="done")
    assert out.getvalue().splitlines()[0] == "done"


def test_summary_names_every_count_and_lost_answers() -> None:
    stats = JobStats(
        targets=20_000, ok=19_990, failed=10, duplicate=5, invalid=3, calls=23, retries=2,
        cost_usd=1.0006, unknown_cost_calls=1, resumed=4000, elapsed=3725.25,
    )  # fmt: skip
    assert summary(stats, headline="aborted: budget").splitlines() == [
        "aborted: budget",
        "  targets   20,000 distinct: 19,990 ok, 10 failed (3 invalid), 5 duplicate inputs",
        "  calls     23 (2 retries); 4,000 targets answered from the checkpoint",
        "  cost      $1.0006 (+ 1 call whose answer was lost: maybe billed)",
        "  time      1:02:05 (3725.2 s)",
        "  speed     4 targets/s, 0.0 calls/s",
    ]
    assert summary(JobStats(cost_usd=0.05), headline="done").splitlines()[3] == "  cost      $0.0500"
