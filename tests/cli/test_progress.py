"""The progress display: the line it draws, and when it draws it (on a fake clock)."""

from __future__ import annotations

import io

import pytest

from dataforseo_bulk.cli.progress import ProgressDisplay, describe, summary
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
        (  # an ETA over an hour
            progress(1, calls=1, cost=0.02003, elapsed=2.0),
            5001,
            "[............................] 1/5,001 targets   0%  1 calls 0.5/s  $0.0200  ETA 2:46:40",
        ),
        (  # more done than counted (a total from another input): clamped, never past the bar
            progress(12, calls=1, elapsed=1.0),
            10,
            "[############################] 12/10 targets 100%  1 calls 1.0/s  $0.2500",
        ),
    ],
)
def test_describe(p: Progress, total: int | None, line: str) -> None:
    assert describe(p, total) == line


def test_live_bar_redraws_in_place_at_most_ten_times_a_second() -> None:
    clock, out = FakeClock(), io.StringIO()
    display = ProgressDisplay(10_000, stream=out, live=True, clock=clock)
    display.update(progress(1000))
    clock.now += 0.0625
    display.update(progress(2000))  # too soon: not drawn
    clock.now += 0.0625
    display.update(progress(3000))
    draws = out.getvalue().split("\r\033[K")
    assert draws[0] == ""
    assert [d.split("]")[1].split(" targets")[0] for d in draws[1:]] == [" 1,000/10,000", " 3,000/10,000"]
    assert "\n" not in out.getvalue()

    clock.now += 0.0625
    display.update(progress(4000))  # not drawn yet: finish draws it, then the summary
    display.finish(JobStats(targets=4000, ok=4000, calls=4, cost_usd=0.2, elapsed=1.5), headline="done")
    text = out.getvalue()
    last_draw = text.rsplit("\r\033[K", 1)[1]
    assert last_draw.startswith("[####") and " 4,000/10,000 targets" in last_draw
    assert (
        last_draw.split("\n", 1)[1]
        == summary(JobStats(targets=4000, ok=4000, calls=4, cost_usd=0.2, elapsed=1.5), headline="done")
        + "\n"
    )


def test_plain_lines_every_period_and_the_last_state_once() -> None:
    clock, out = FakeClock(), io.StringIO()
    display = ProgressDisplay(None, stream=out, live=False, plain_every=10.0, clock=clock)
    for step in range(25):  # one update a second for 25 s
        display.update(progress(step * 100))
        clock.now += 1.0
    lines = out.getvalue().splitlines()
    assert lines == ["progress: 0 targets  5 calls 0.5/s  $0.2500",
                     "progress: 1,000 targets  5 calls 0.5/s  $0.2500",
                     "progress: 2,000 targets  5 calls 0.5/s  $0.2500"]  # fmt: skip
    display.finish(JobStats(), headline="done")
    lines = out.getvalue().splitlines()
    assert lines[3] == "progress: 2,400 targets  5 calls 0.5/s  $0.2500"
    assert lines[4] == "done"

    # A last state already on show is not printed twice.
    out2 = io.StringIO()
    display = ProgressDisplay(None, stream=out2, live=False, clock=clock)
    display.update(progress(7))
    display.finish(JobStats(), headline="done")
    assert [line for line in out2.getvalue().splitlines() if line.startswith("progress:")] == [
        "progress: 7 targets  5 calls 0.5/s  $0.2500"
    ]


def test_live_defaults_to_whether_the_stream_is_a_terminal() -> None:
    clock = FakeClock()
    tty, pipe = FakeTTY(), io.StringIO()
    for stream in (tty, pipe):
        ProgressDisplay(10, stream=stream, clock=clock).update(progress(5))
    assert tty.getvalue().startswith("\r\033[K[") and not tty.getvalue().endswith("\n")
    assert pipe.getvalue().startswith("progress: [") and pipe.getvalue().endswith("\n")


def test_finish_without_any_progress_prints_only_the_summary() -> None:
    out = io.StringIO()
    ProgressDisplay(10, stream=out, live=False).finish(JobStats(), headline="done")
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
        "  cost      $1.0006 (+ 1 calls whose answer was lost: maybe billed)",
        "  time      1:02:05 (3725.2 s)",
    ]
    assert summary(JobStats(cost_usd=0.05), headline="done").splitlines()[3] == "  cost      $0.0500"
