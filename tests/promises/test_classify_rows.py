"""Rows of docs/errors.md's tables that the classification table tests did not pin down: the
action of an answer (pause, or none), the statuses and codes at the edges, and the message a
retry or a failure reports. Written for the surviving mutants of classify.py.
"""

from __future__ import annotations

import pytest

from dataforseo_bulk.answer import Answer
from dataforseo_bulk.classify import Action, Decision, Kind, classify

ROWS = [
    # (what came back, the decision)
    # HTTP statuses without a DataForSEO body: 429 is transient (its Retry-After, if any, is
    # waited out by the retry policy: see test_waits.py); other 4xx/5xx are permanent.
    (Answer(429), Decision(Kind.TRANSIENT, None, "HTTP 429 without a DataForSEO answer", Action.NONE)),
    (Answer(503), Decision(Kind.TRANSIENT, None, "HTTP 503 without a DataForSEO answer", Action.NONE)),
    (Answer(418), Decision(Kind.PERMANENT, None, "HTTP 418 without a DataForSEO answer", Action.NONE)),
    (Answer(501), Decision(Kind.PERMANENT, None, "HTTP 501 without a DataForSEO answer", Action.NONE)),
    (Answer(200), Decision(Kind.TRANSIENT, None, "HTTP 200 without a DataForSEO answer", Action.NONE)),
    (Answer(201), Decision(Kind.PERMANENT, None, "HTTP 201 without a DataForSEO answer", Action.NONE)),
    # 401, 402, 403 are fatal whatever envelope code they carry.
    (Answer(402, 50000, "Internal Error."), Decision(Kind.FATAL, 50000, "Internal Error.", Action.NONE)),
    (Answer(401, 50000, "x"), Decision(Kind.FATAL, 50000, "x", Action.NONE)),
    (Answer(403, 50000, "x"), Decision(Kind.FATAL, 50000, "x", Action.NONE)),
    (Answer(500, 50000, "Internal Error."), Decision(Kind.TRANSIENT, 50000, "Internal Error.", Action.NONE)),
    # envelope codes: 40202 pauses, 40209 shrinks, the others have no action
    (Answer(200, 40202, "rate"), Decision(Kind.TRANSIENT, 40202, "rate", Action.PAUSE)),
    (Answer(200, 40209, "many"), Decision(Kind.TRANSIENT, 40209, "many", Action.SHRINK)),
    # an "Ok." envelope without a task, or an "Ok." task without its result: retried, and said so
    (Answer(200, 20000, "Ok."), Decision(Kind.TRANSIENT, None, "answer without a task", Action.NONE)),
    (
        Answer(200, 20000, "Ok.", 20000, "Ok."),
        Decision(Kind.TRANSIENT, 20000, "Ok. answer without its result", Action.NONE),
    ),
]


@pytest.mark.parametrize(("answer", "decision"), ROWS, ids=[repr(a)[:60] for a, _ in ROWS])
def test_each_answer_gets_its_decision(answer: Answer, decision: Decision) -> None:
    assert classify(answer, n_targets=5) == decision


def test_a_40501_on_targets_is_split_only_when_there_is_more_than_one_target() -> None:
    answer = Answer(200, 20000, "Ok.", 40501, "Invalid Field: 'targets'.")
    assert classify(answer).action is Action.NONE  # one target by default: nothing to split
    assert classify(answer, n_targets=1).action is Action.NONE
    assert classify(answer, n_targets=2).action is Action.SPLIT
