"""classify: every answer lands in the class the reference recommends.

Reference: shared/reference/dataforseo-api-notes.md, section 1 (status codes, retry class).
Inputs are built as bytes and read with ``parse_answer``, so the parser is exercised too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dataforseo_bulk.answer import Answer, parse_answer
from dataforseo_bulk.classify import CODE_CLASSES, Action, Kind, classify

OK, TRANSIENT, PERMANENT, FATAL = Kind.OK, Kind.TRANSIENT, Kind.PERMANENT, Kind.FATAL

# The reference's table (section 1.2): code -> (message, recommended retry class). Kept apart
# from the module's own table so that a change there is caught here.
REFERENCE: dict[int, tuple[str, Kind]] = {
    20000: ("Ok.", OK),
    40000: ("You can set only one task at a time.", PERMANENT),
    40001: ("This id is used by another client.", PERMANENT),
    40002: ("This id is used by another search engine.", PERMANENT),
    40003: ("This id is used by another search type.", PERMANENT),
    40004: ("This id is used by another function.", PERMANENT),
    40006: ("You can set no more than 100 tasks at a time.", PERMANENT),
    40100: ("You are not authorized to access this resource. Please check your credentials.", FATAL),
    40101: ("Internal SE Server Error.", TRANSIENT),
    40102: ("No Search Results.", PERMANENT),
    40103: ("Task execution failed, please try to resubmit the task.", TRANSIENT),
    40104: ("Please verify your account before using the API.", FATAL),
    40200: ("Payment Required.", FATAL),
    40201: ("Your account has been suspended due to unusual activity.", FATAL),
    40202: ("The rate-limit per minute has been exceeded.", TRANSIENT),
    40203: ("The cost limit has been exceeded.", FATAL),
    40204: ("Access denied. Visit Plans and Subscriptions to activate your subscription.", FATAL),
    40205: ("The duplicate task limit per hour has been exceeded.", FATAL),
    40206: ("The duplicate task limit per day has been exceeded.", FATAL),
    40207: ("Access denied. Your IP is not whitelisted.", FATAL),
    40209: ("Too many simultaneous queries.", TRANSIENT),
    40210: ("Insufficient funds. Your account's balance is too low to complete this request.", FATAL),
    40400: ("Not Found.", FATAL),
    40401: ("Task Not Found.", PERMANENT),
    40402: ("Invalid Path.", FATAL),
    40403: ("Results Expired.", PERMANENT),
    40404: ("No Prepared Data Found. Please Contact Our Support Team.", PERMANENT),
    40405: ("The textual content of the page is insufficient.", PERMANENT),
    40406: ("The page has not been submitted.", PERMANENT),
    40407: ("Duplicate Host.", PERMANENT),
    40408: ("The target URL is invalid.", PERMANENT),
    40501: ("Invalid Field: 'tag'.", PERMANENT),
    40502: ("POST Data Is Empty.", PERMANENT),
    40503: ("POST Data Is Invalid.", PERMANENT),
    40504: ("The number of intersecting keywords exceeds 10 million.", PERMANENT),
    40505: ("You are using old data.", PERMANENT),
    40506: ("Unknown Fields in POST Data.", PERMANENT),
    50000: ("Internal Error.", TRANSIENT),
    50001: ("Error While Checking the Balance.", TRANSIENT),
    50100: ("Not Implemented.", PERMANENT),
    50301: ("3rd Party API Service Unavailable (overloaded).", TRANSIENT),
    50302: ("Internal 3rd Party API Service Unavailable.", TRANSIENT),
    50303: ("Update in progress. Please try after a few minutes.", TRANSIENT),
    50304: ("This function temporarily unavailable. Please contact support.", TRANSIENT),
    50401: ("Internal Error - Timeout.", TRANSIENT),
    50402: ("Target page took too long to respond.", TRANSIENT),
}
# Task-based (not live) codes the reference names: never a result for a live call.
NOT_LIVE = {20100: "Task Created.", 40601: "Task Handed.", 40602: "Task In Queue."}
ERROR_CODES = {code: entry for code, entry in REFERENCE.items() if entry[1] is not OK}
UNKNOWN_CODES = [40208, 40999, 41000, 50500, 60000, 10000]

VENDOR_ITEMS: list[dict[str, Any]] = [
    {"target": "www.trustpilot.com", "backlinks": 66516402},
    {"target": "yelp.com", "backlinks": 72520539},
    {"target": "cnn.com", "backlinks": 44487176},
    {"target": "bbc.com", "backlinks": 32695874},
    {"target": "https://variety.com/", "backlinks": 2383750},
    {"target": "https://ahrefs.com/blog/", "backlinks": 2787},
    {"target": "ibm.com", "backlinks": 13256827},
    {"target": "forbes.com", "backlinks": 20436483},
    {"target": "https://stackoverflow.com/", "backlinks": 28380698},
    {"target": "https://www.apple.com/iphone/", "backlinks": 31797},
]
_MISSING = object()


def task_body(
    code: int = 20000,
    message: str = "Ok.",
    *,
    cost: float = 0.0203,
    result: object = _MISSING,
) -> bytes:
    """An HTTP body: envelope 20000 "Ok." around one task, shaped like the vendor example."""
    if result is _MISSING:
        result = [{"items_count": len(VENDOR_ITEMS), "items": VENDOR_ITEMS}] if code == 20000 else None
    failed = code != 20000
    task = {
        "id": "10131646-1535-0348-0000-5f85d2be4a1b",
        "status_code": code,
        "status_message": message,
        "time": "1.9579 sec.",
        "cost": 0 if failed else cost,
        "result_count": 0 if result is None else 1,
        "path": ["v3", "backlinks", "bulk_backlinks", "live"],
        "data": {"api": "backlinks", "function": "bulk_backlinks", "targets": ["cnn.com", "bbc.com"]},
        "result": result,
    }
    envelope = {
        "version": "0.1.20250526",
        "status_code": 20000,
        "status_message": "Ok.",
        "time": "2.0128 sec.",
        "cost": task["cost"],
        "tasks_count": 1,
        "tasks_error": int(failed),
        "tasks": [task],
    }
    return json.dumps(envelope).encode()


def envelope_body(code: int, message: str) -> bytes:
    """An HTTP body: an envelope-level error, no task (the shape of a 40100 / 40200 answer)."""
    envelope = {
        "version": "0.1.20250526",
        "status_code": code,
        "status_message": message,
        "time": "0 sec.",
        "cost": 0,
        "tasks_count": 0,
        "tasks_error": 0,
        "tasks": None,
    }
    return json.dumps(envelope).encode()


def _kid(code: int, kind: Kind) -> str:
    return f"{code}-{kind.value}"


# --- the table itself --------------------------------------------------------------------


def test_code_classes_hold_exactly_the_reference_codes_for_live_calls() -> None:
    assert {code: kind for code, (_, kind) in REFERENCE.items()} == CODE_CLASSES


@pytest.mark.parametrize("code", UNKNOWN_CODES, ids=str)
def test_unlisted_codes_are_not_classified(code: int) -> None:
    # 40208 in particular: no source lists it, so it must stay unknown (and fail closed).
    assert code not in CODE_CLASSES


# --- task level --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [(code, message, kind) for code, (message, kind) in ERROR_CODES.items()],
    ids=[_kid(code, kind) for code, (_, kind) in ERROR_CODES.items()],
)
def test_task_code_lands_in_its_reference_class(code: int, message: str, kind: Kind) -> None:
    decision = classify(parse_answer(200, task_body(code, message)), n_targets=2)

    assert decision.kind is kind
    assert decision.code == code
    assert decision.message == message, "the task's own words, not the envelope's 'Ok.'"


@pytest.mark.parametrize(("code", "message"), list(NOT_LIVE.items()), ids=[str(c) for c in NOT_LIVE])
def test_task_based_codes_are_not_a_live_result(code: int, message: str) -> None:
    # Even a "success" code other than 20000 does not carry a live result: fail closed.
    decision = classify(parse_answer(200, task_body(code, message, result=None)))

    assert decision.kind is PERMANENT
    assert decision.code == code


@pytest.mark.parametrize("code", UNKNOWN_CODES, ids=str)
def test_unknown_task_code_fails_closed_as_permanent(code: int) -> None:
    decision = classify(parse_answer(200, task_body(code, "Something new.")), n_targets=5)

    assert decision.kind is PERMANENT, "not retried (a retry is a new paid call), not success"
    assert decision.code == code
    assert decision.message == "Something new."
    assert decision.action is Action.NONE


def test_unknown_task_code_with_items_is_still_not_ok() -> None:
    result = [{"items_count": 10, "items": VENDOR_ITEMS}]
    decision = classify(parse_answer(200, task_body(40999, "Partially Ok?", result=result)))

    assert decision.kind is PERMANENT


def test_error_task_carries_its_message_not_the_envelopes_ok() -> None:
    answer = parse_answer(200, task_body(40501, "Invalid Field: 'targets'."))
    assert answer.envelope_message == "Ok."

    decision = classify(answer, n_targets=10)

    assert decision.message == "Invalid Field: 'targets'."
    assert decision.code == 40501


# --- envelope level ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [(code, message, kind) for code, (message, kind) in ERROR_CODES.items()],
    ids=[_kid(code, kind) for code, (_, kind) in ERROR_CODES.items()],
)
def test_envelope_code_lands_in_its_reference_class(code: int, message: str, kind: Kind) -> None:
    decision = classify(parse_answer(200, envelope_body(code, message)), n_targets=2)

    assert decision.kind is kind
    assert decision.code == code
    assert decision.message == message


@pytest.mark.parametrize("code", UNKNOWN_CODES, ids=str)
def test_unknown_envelope_code_stops_the_job(code: int) -> None:
    # An envelope code speaks for the whole request (often the account): do not spend on.
    decision = classify(parse_answer(200, envelope_body(code, "Something new.")))

    assert decision.kind is FATAL
    assert decision.code == code


@pytest.mark.parametrize(
    ("code", "message"),
    list(NOT_LIVE.items()),
    ids=[str(c) for c in NOT_LIVE],
)
def test_task_based_envelope_code_is_not_success(code: int, message: str) -> None:
    decision = classify(parse_answer(200, envelope_body(code, message)))

    assert decision.kind is not OK


# --- HTTP status -------------------------------------------------------------------------

HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@pytest.mark.parametrize(
    ("http_status", "body", "kind", "code"),
    [
        (401, envelope_body(40100, REFERENCE[40100][0]), FATAL, 40100),
        (401, b"", FATAL, None),
        (401, b"<html>401 Authorization Required</html>", FATAL, None),
        (401, envelope_body(50000, "Internal Error."), FATAL, 50000),
        (402, envelope_body(40200, "Payment Required."), FATAL, 40200),
        (402, envelope_body(40210, REFERENCE[40210][0]), FATAL, 40210),
        (402, b"", FATAL, None),
        (403, b"", FATAL, None),
        (404, b"", FATAL, None),
        (404, b"<html>404 Not Found</html>", FATAL, None),
        (404, envelope_body(40400, "Not Found."), FATAL, 40400),
        (404, envelope_body(40402, "Invalid Path."), FATAL, 40402),
        (500, b"", TRANSIENT, None),
        (500, b"Internal Server Error", TRANSIENT, None),
        (500, envelope_body(50000, "Internal Error."), TRANSIENT, 50000),
        (502, b"", TRANSIENT, None),
        (502, HTML_502, TRANSIENT, None),
        (503, b"", TRANSIENT, None),
        (503, b"<html>503 Service Temporarily Unavailable</html>", TRANSIENT, None),
        (504, b"", TRANSIENT, None),
        (504, b"<html>504 Gateway Time-out</html>", TRANSIENT, None),
    ],
    ids=[
        "401-40100-envelope",
        "401-empty",
        "401-html",
        "401-overrides-transient-envelope",
        "402-40200-envelope",
        "402-40210-envelope",
        "402-empty",
        "403-empty",
        "404-empty",
        "404-html",
        "404-40400-envelope",
        "404-40402-envelope",
        "500-empty",
        "500-text",
        "500-50000-envelope",
        "502-empty",
        "502-html",
        "503-empty",
        "503-html",
        "504-empty",
        "504-html",
    ],
)
def test_http_status(http_status: int, body: bytes, kind: Kind, code: int | None) -> None:
    decision = classify(parse_answer(http_status, body), n_targets=10)

    assert decision.kind is kind
    assert decision.code == code
    if code is None:
        assert str(http_status) in decision.message, "the message says which HTTP status it was"


def test_http_500_with_a_complete_ok_answer_is_kept() -> None:
    # Observed live: HTTP 500 around a complete, paid "Ok." answer; throwing it away pays twice.
    answer = parse_answer(500, task_body())
    decision = classify(answer, n_targets=10)

    assert decision.kind is OK
    assert decision.code == 20000
    assert answer.items == VENDOR_ITEMS


@pytest.mark.parametrize(
    "result",
    [None, [], [{"items_count": 10, "items": None}], [{"items_count": 10}]],
    ids=["result-null", "result-empty", "items-null", "items-missing"],
)
@pytest.mark.parametrize("http_status", [200, 500], ids=["http-200", "http-500"])
def test_ok_without_its_result_is_transient(http_status: int, result: object) -> None:
    decision = classify(parse_answer(http_status, task_body(result=result)), n_targets=10)

    assert decision.kind is TRANSIENT


@pytest.mark.parametrize("http_status", [200, 500], ids=["http-200", "http-500"])
def test_ok_envelope_without_a_task_is_transient(http_status: int) -> None:
    decision = classify(parse_answer(http_status, envelope_body(20000, "Ok.")))

    assert decision.kind is TRANSIENT


@pytest.mark.parametrize(
    "body",
    [b"", task_body()[:300], b"<html>oops</html>", b"[]", b'"Ok."', b'{"detail": "x"}'],
    ids=["empty", "truncated-json", "html", "json-array", "json-string", "object-not-envelope"],
)
def test_unreadable_http_200_answer_is_transient(body: bytes) -> None:
    decision = classify(parse_answer(200, body))

    assert decision.kind is TRANSIENT
    assert decision.code is None


@pytest.mark.parametrize(
    "error",
    [
        "no answer within the timeout (ReadTimeout)",
        "network error: ConnectError: [Errno 111] Connection refused",
        "network error: RemoteProtocolError: peer closed connection",
    ],
    ids=["timeout", "refused", "cut"],
)
def test_network_error_is_transient_and_says_why(error: str) -> None:
    decision = classify(Answer(None, error=error), n_targets=10)

    assert decision.kind is TRANSIENT
    assert decision.code is None
    assert decision.message == error
    assert decision.action is Action.NONE


# --- success -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [
        [{"items_count": 10, "items": VENDOR_ITEMS}],
        [{"items_count": 0, "items": None}],
        [{"items_count": 0, "items": []}],
    ],
    ids=["vendor-items", "count-0-items-null", "count-0-items-empty"],
)
def test_complete_ok_answer_is_ok(result: object) -> None:
    decision = classify(parse_answer(200, task_body(result=result)), n_targets=10)

    assert decision.kind is OK
    assert decision.code == 20000
    assert decision.message == "Ok."
    assert decision.action is Action.NONE


# --- actions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "code", "message", "n_targets", "action"),
    [
        ("task", 40202, "The rate-limit per minute has been exceeded.", 10, Action.PAUSE),
        ("envelope", 40202, "The rate-limit per minute has been exceeded.", 10, Action.PAUSE),
        (
            "task",
            40202,
            "The rate-limit per minute has been exceeded (rate_limit_exceeded).",
            1,
            Action.PAUSE,
        ),
        ("task", 40209, "Too many simultaneous queries.", 10, Action.SHRINK),
        ("envelope", 40209, "Too many simultaneous queries.", 10, Action.SHRINK),
        ("task", 40501, "Invalid Field: 'targets'.", 10, Action.SPLIT),
        ("task", 40501, "Invalid Field: 'targets'.", 2, Action.SPLIT),
        ("task", 40501, "Invalid Field: 'targets'.", 1, Action.NONE),
        ("task", 40501, "Invalid Field: 'tag'.", 10, Action.NONE),
        ("task", 40501, "Invalid Field: 'rank_scale'.", 10, Action.NONE),
        ("task", 50401, "Internal Error - Timeout.", 10, Action.NONE),
        ("task", 50000, "Internal Error.", 10, Action.NONE),
        ("task", 40100, REFERENCE[40100][0], 10, Action.NONE),
    ],
    ids=[
        "40202-task-pause",
        "40202-envelope-pause",
        "40202-expanded-text-pause",
        "40209-task-shrink",
        "40209-envelope-shrink",
        "40501-targets-n10-split",
        "40501-targets-n2-split",
        "40501-targets-n1-no-split",
        "40501-tag-no-split",
        "40501-rank_scale-no-split",
        "50401-none",
        "50000-none",
        "40100-none",
    ],
)
def test_action(level: str, code: int, message: str, n_targets: int, action: Action) -> None:
    body = task_body(code, message) if level == "task" else envelope_body(code, message)

    decision = classify(parse_answer(200, body), n_targets=n_targets)

    assert decision.action is action
    assert decision.code == code


def test_40501_targets_on_a_single_target_stays_a_permanent_failure() -> None:
    decision = classify(parse_answer(200, task_body(40501, "Invalid Field: 'targets'.")), n_targets=1)

    assert decision.kind is PERMANENT
    assert decision.action is not Action.SPLIT
