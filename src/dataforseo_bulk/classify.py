"""Classification: what one answer means, and what to do about it. Pure; no I/O.

The API signals at three levels and each is checked on its own: the HTTP status, the
envelope ``status_code`` and the task ``status_code``. (An HTTP 500 carrying a complete
"Ok." answer exists, and it was paid for.) Every code the reference names for live calls is
in :data:`CODE_CLASSES` (the task-queue codes 20100, 40601 and 40602 are not: a live call
never returns them). A code that is not there is *unknown* and fails closed: never retried
(a retry is a new paid call), never taken as success.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .answer import Answer


class Kind(enum.Enum):
    OK = "ok"
    TRANSIENT = "transient"  # retry, backed off, bounded
    PERMANENT = "permanent"  # this chunk as sent fails; its targets go to `failed`
    FATAL = "fatal"  # no call can succeed; stop the job


class Action(enum.Enum):
    NONE = "none"
    PAUSE = "pause"  # 40202: pause the whole dispatcher
    SHRINK = "shrink"  # 40209: lower the cap on calls in flight
    SPLIT = "split"  # 40501 on 'targets': bisect the chunk to isolate the bad targets
    NO_DATA = "no_data"  # 20000 with result null or []: ask once more, then answered without data


OK_CODES = frozenset({20000})
TRANSIENT_CODES = frozenset(
    {40101, 40103, 40202, 40209, 50000, 50001, 50301, 50302, 50303, 50304, 50401, 50402}
)
PERMANENT_CODES = frozenset(
    {40000, 40001, 40002, 40003, 40004, 40006, 40102, 40401, 40403, 40404}
    | set(range(40405, 40409))
    | {40501, 40502, 40503, 40504, 40505, 40506, 50100}
)
# 40400 and 40402 (like HTTP 404) say the request itself is wrong (a wrong base URL or path):
# every call would get the same answer, and it says nothing about the targets (none may be
# recorded as failed in a checkpoint).
FATAL_CODES = frozenset(
    {40100, 40104, 40200, 40201, 40203, 40204, 40205, 40206, 40207, 40210} | {40400, 40402}
)

#: Every DataForSEO status code this client knows, and its class.
CODE_CLASSES: dict[int, Kind] = {
    **{c: Kind.OK for c in OK_CODES},
    **{c: Kind.TRANSIENT for c in TRANSIENT_CODES},
    **{c: Kind.PERMANENT for c in PERMANENT_CODES},
    **{c: Kind.FATAL for c in FATAL_CODES},
}

#: HTTP statuses outside 200, as the API and the proxies in front of it use them.
HTTP_CLASSES: dict[int, Kind] = {
    401: Kind.FATAL,  # wrong credentials (envelope 40100)
    402: Kind.FATAL,  # billing problem
    403: Kind.FATAL,  # IP not allowed, blocked
    404: Kind.FATAL,  # no such endpoint: a wrong base URL
    408: Kind.TRANSIENT,
    429: Kind.TRANSIENT,
    500: Kind.TRANSIENT,
    502: Kind.TRANSIENT,
    503: Kind.TRANSIENT,
    504: Kind.TRANSIENT,
}

# A 429 (from a proxy: the API itself signals 40202) is waited out as its Retry-After asks
# (backoff.wait_before_retry), not with 40202's pause of unknown length.
_ACTIONS = {40202: Action.PAUSE, 40209: Action.SHRINK}


@dataclass(frozen=True, slots=True)
class Decision:
    kind: Kind
    code: int | None  # the DataForSEO code that decided (task's, else envelope's), if any
    message: str
    action: Action = Action.NONE


def classify(answer: Answer, *, n_targets: int = 1) -> Decision:
    """Decide what ``answer`` means for the chunk of ``n_targets`` targets that asked for it."""
    if answer.error is not None:
        # No answer at all (network), or one we could not read: worth a bounded retry.
        return Decision(Kind.TRANSIENT, None, answer.error)
    http = answer.http_status or 0
    if answer.envelope_code is None:
        kind = HTTP_CLASSES.get(http, Kind.PERMANENT) if http != 200 else Kind.TRANSIENT
        return Decision(
            kind, None, f"HTTP {http} without a DataForSEO answer", _ACTIONS.get(http, Action.NONE)
        )
    if answer.envelope_code != 20000:
        # An envelope-level code speaks for the whole request, often for the whole account:
        # one we do not know stops the job rather than spend on.
        code = answer.envelope_code
        kind = CODE_CLASSES.get(code, Kind.FATAL)
        if http in (401, 402, 403):
            kind = Kind.FATAL
        return Decision(kind, code, answer.envelope_message, _ACTIONS.get(code, Action.NONE))
    if answer.task_code is None:
        return Decision(Kind.TRANSIENT, None, "answer without a task")
    code = answer.task_code
    if code == 20000:
        if answer.items is not None:
            # Complete and well-formed: keep it whatever the HTTP status says (HTTP 500 + Ok.).
            return Decision(Kind.OK, code, answer.task_message)
        if answer.result_empty:
            message = "Ok. answer without data (result null or [])"
            return Decision(Kind.TRANSIENT, code, message, Action.NO_DATA)
        return Decision(Kind.TRANSIENT, code, "Ok. answer without its result")
    kind = CODE_CLASSES.get(code, Kind.PERMANENT)
    if kind is Kind.OK:  # a success code other than 20000 is not a result for a live call
        kind = Kind.PERMANENT
    action = _ACTIONS.get(code, Action.NONE)
    if code == 40501 and n_targets > 1 and _names_targets(answer.task_message):
        action = Action.SPLIT
    return Decision(kind, code, answer.task_message, action)


def _names_targets(message: str) -> bool:
    # "Invalid Field: 'targets'." — other 40501s (tag, parameters) cannot be split away.
    return "target" in message.lower() or "'" not in message
