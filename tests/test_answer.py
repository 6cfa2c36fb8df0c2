"""parse_answer / encode_task: what one HTTP exchange means, read from realistic bytes.

The envelopes follow the vendor example of ``POST /v3/backlinks/bulk_backlinks/live``
(docs.dataforseo.com/v3/backlinks/bulk_backlinks/live/).
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest

from dataforseo_bulk.answer import Answer, encode_task, parse_answer
from dataforseo_bulk.errors import ConfigurationError

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
VENDOR_TARGETS = [
    "forbes.com",
    "cnn.com",
    "bbc.com",
    "yelp.com",
    "https://www.apple.com/iphone/",
    "https://ahrefs.com/blog/",
    "ibm.com",
    "https://variety.com/",
    "https://stackoverflow.com/",
    "www.trustpilot.com",
]

VENDOR_ENVELOPE: dict[str, Any] = {
    "version": "0.1.20210917",
    "status_code": 20000,
    "status_message": "Ok.",
    "time": "2.0128 sec.",
    "cost": 0.0203,
    "tasks_count": 1,
    "tasks_error": 0,
    "tasks": [
        {
            "id": "10131646-1535-0348-0000-5f85d2be4a1b",
            "status_code": 20000,
            "status_message": "Ok.",
            "time": "1.9579 sec.",
            "cost": 0.0203,
            "result_count": 1,
            "path": ["v3", "backlinks", "bulk_backlinks", "live"],
            "data": {"api": "backlinks", "function": "bulk_backlinks", "targets": VENDOR_TARGETS},
            "result": [{"items_count": 10, "items": VENDOR_ITEMS}],
        }
    ],
}

INVALID_TARGETS_ENVELOPE: dict[str, Any] = {
    "version": "0.1.20250526",
    "status_code": 20000,
    "status_message": "Ok.",
    "time": "0.0412 sec.",
    "cost": 0,
    "tasks_count": 1,
    "tasks_error": 1,
    "tasks": [
        {
            "id": "06031249-1535-0348-0000-5b8f7a3c2d1e",
            "status_code": 40501,
            "status_message": "Invalid Field: 'targets'.",
            "time": "0 sec.",
            "cost": 0,
            "result_count": 0,
            "path": ["v3", "backlinks", "bulk_backlinks", "live"],
            "data": {"api": "backlinks", "function": "bulk_backlinks", "targets": []},
            "result": None,
        }
    ],
}


def _bytes(obj: object) -> bytes:
    return json.dumps(obj).encode()


def _vendor(**changes: Any) -> dict[str, Any]:
    """The vendor example with top-level keys replaced (``None`` values delete the key)."""
    env = copy.deepcopy(VENDOR_ENVELOPE)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _with_task(**changes: Any) -> dict[str, Any]:
    """The vendor example with keys of its task replaced (``...`` deletes the key)."""
    env = copy.deepcopy(VENDOR_ENVELOPE)
    for key, value in changes.items():
        if value is ...:
            env["tasks"][0].pop(key, None)
        else:
            env["tasks"][0][key] = value
    return env


# --- complete answers ------------------------------------------------------------------


def test_vendor_example_is_read_completely() -> None:
    answer = parse_answer(200, _bytes(VENDOR_ENVELOPE))

    assert answer.error is None
    assert answer.http_status == 200
    assert (answer.envelope_code, answer.envelope_message) == (20000, "Ok.")
    assert (answer.task_code, answer.task_message) == (20000, "Ok.")
    assert answer.code == 20000
    assert answer.cost == pytest.approx(0.0203)
    assert answer.cost_known
    assert answer.items == VENDOR_ITEMS
    assert len(answer.items) == 10
    assert {item["target"] for item in answer.items} == set(VENDOR_TARGETS)


def test_vendor_example_survives_an_http_500_status() -> None:
    # Observed live: HTTP 500 around a complete "Ok." answer. The parser keeps what was said.
    answer = parse_answer(500, _bytes(VENDOR_ENVELOPE))

    assert answer.http_status == 500
    assert answer.envelope_code == 20000
    assert answer.items == VENDOR_ITEMS
    assert answer.cost == pytest.approx(0.0203)


def test_errored_task_keeps_its_code_message_and_zero_cost() -> None:
    answer = parse_answer(200, _bytes(INVALID_TARGETS_ENVELOPE))

    assert answer.error is None
    assert answer.envelope_code == 20000
    assert answer.task_code == 40501
    assert answer.code == 40501, "the task's code is more specific than the envelope's"
    assert answer.task_message == "Invalid Field: 'targets'."
    assert answer.message == "Invalid Field: 'targets'.", "must not be the envelope's 'Ok.'"
    assert answer.cost == 0.0
    assert answer.cost_known, "a parsed envelope reports its cost, even 0"
    assert answer.items is None


# --- envelope-level errors (no task) -----------------------------------------------------


@pytest.mark.parametrize(
    ("http_status", "code", "message", "tasks"),
    [
        (
            401,
            40100,
            "You are not authorized to access this resource. Please check your credentials.",
            None,
        ),
        (402, 40200, "Payment Required.", []),
        (200, 40202, "The rate-limit per minute has been exceeded.", "missing"),
        (200, 40209, "Too many simultaneous queries.", None),
        (500, 50000, "Internal Error.", []),
    ],
    ids=["401-40100-tasks-null", "402-40200-tasks-empty", "40202-no-tasks-key", "40209", "500-50000"],
)
def test_envelope_error_without_tasks(http_status: int, code: int, message: str, tasks: object) -> None:
    env: dict[str, Any] = {
        "version": "0.1.20250526",
        "status_code": code,
        "status_message": message,
        "time": "0 sec.",
        "cost": 0,
        "tasks_count": 0,
        "tasks_error": 0,
    }
    if tasks != "missing":
        env["tasks"] = tasks

    answer = parse_answer(http_status, _bytes(env))

    assert answer.error is None
    assert answer.http_status == http_status
    assert (answer.envelope_code, answer.envelope_message) == (code, message)
    assert answer.task_code is None
    assert answer.task_message == ""
    assert answer.code == code
    assert answer.message == message
    assert answer.items is None
    assert answer.cost == 0.0


# --- bodies that are not an envelope -----------------------------------------------------


TRUNCATED_VENDOR = _bytes(VENDOR_ENVELOPE)[:200]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        TRUNCATED_VENDOR,
        b"\xff\xfe\x00garbage",
        b"{'status_code': 20000}",
    ],
    ids=["empty", "html", "truncated-json", "invalid-utf8", "python-repr"],
)
def test_non_json_at_http_200_is_an_error_answer(body: bytes) -> None:
    answer = parse_answer(200, body)

    assert answer.error is not None
    assert "malformed JSON" in answer.error
    assert answer.envelope_code is None
    assert answer.items is None
    assert not answer.cost_known, "an unreadable answer may still have been billed"


@pytest.mark.parametrize("status", [404, 500, 502, 503, 504], ids=["404", "500", "502", "503", "504"])
@pytest.mark.parametrize(
    "body", [b"", b"<html>Bad Gateway</html>", TRUNCATED_VENDOR], ids=["empty", "html", "truncated"]
)
def test_non_json_at_other_http_status_leaves_the_status_to_decide(status: int, body: bytes) -> None:
    answer = parse_answer(status, body)

    assert answer.http_status == status
    assert answer.error is None, "the HTTP status already says what happened"
    assert answer.envelope_code is None
    assert answer.task_code is None
    assert answer.items is None
    assert not answer.cost_known


@pytest.mark.parametrize(
    "obj",
    [
        [],
        [VENDOR_ENVELOPE],
        "Ok.",
        20000,
        None,
        {"detail": "Not authenticated"},
        {"status_code": "20000", "status_message": "Ok."},
        {"status_code": None},
    ],
    ids=[
        "empty-array",
        "envelope-in-array",
        "string",
        "number",
        "null",
        "object-without-status_code",
        "status_code-as-string",
        "status_code-null",
    ],
)
def test_json_that_is_not_an_envelope(obj: object) -> None:
    at_200 = parse_answer(200, _bytes(obj))
    assert at_200.error is not None
    assert at_200.envelope_code is None
    assert at_200.items is None

    at_502 = parse_answer(502, _bytes(obj))
    assert at_502.error is None
    assert at_502.envelope_code is None
    assert at_502.http_status == 502


# --- the task's result -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ([{"items_count": 0, "items": None}], []),
        ([{"items_count": 0}], []),
        ([{"items_count": 0, "items": []}], []),
        ([{"items_count": 2, "items": VENDOR_ITEMS[:2]}], VENDOR_ITEMS[:2]),
        ([{"items_count": 3, "items": [VENDOR_ITEMS[0], None, "x", VENDOR_ITEMS[1]]}], VENDOR_ITEMS[:2]),
        ([{"items_count": 5, "items": None}], None),
        ([{"items_count": 5}], None),
        ([], None),
        (None, None),
        ([None], None),
        ({"items": VENDOR_ITEMS}, None),
        ([{"items_count": 1, "items": {"target": "cnn.com"}}], None),
    ],
    ids=[
        "count-0-items-null->empty",
        "count-0-items-missing->empty",
        "count-0-items-empty->empty",
        "two-items",
        "non-object-items-dropped",
        "count-5-items-null->incomplete",
        "count-5-items-missing->incomplete",
        "result-empty-list",
        "result-null",
        "result-0-null",
        "result-is-object",
        "items-is-object",
    ],
)
def test_items_of_the_result(result: object, expected: list[dict[str, Any]] | None) -> None:
    answer = parse_answer(200, _bytes(_with_task(result=result)))

    assert answer.task_code == 20000
    assert answer.items == expected


@pytest.mark.parametrize(
    ("tasks", "task_code"),
    [
        ([], None),
        ([None], None),
        (["oops"], None),
        ([{"status_code": "20000", "status_message": "Ok."}], None),
        ([{"status_code": 40501, "status_message": "Invalid Field: 'tag'."}, {"status_code": 20000}], 40501),
    ],
    ids=["empty", "null-task", "string-task", "code-as-string", "first-task-wins"],
)
def test_odd_task_lists(tasks: list[Any], task_code: int | None) -> None:
    answer = parse_answer(200, _bytes(_vendor(tasks=tasks)))

    assert answer.envelope_code == 20000
    assert answer.task_code == task_code


# --- cost --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("envelope_cost", "task_cost", "expected"),
    [
        (0.0203, 0.0203, 0.0203),
        ("missing", 0.0203, 0.0203),
        (None, 0.0203, 0.0203),
        ("0.05", 0.0203, 0.0203),
        (True, 0.0203, 0.0203),
        (0.05, 0.0203, 0.05),
        (0, 0.0203, 0.0),
        ("missing", 0, 0.0),
        ("missing", "missing", None),
        ("missing", 1, 1.0),
    ],
    ids=[
        "both",
        "envelope-missing->task",
        "envelope-null->task",
        "envelope-string->task",
        "envelope-bool->task",
        "envelope-wins",
        "envelope-int-zero",
        "task-int-zero",
        "neither->unknown",
        "int-becomes-float",
    ],
)
def test_cost(envelope_cost: object, task_cost: object, expected: float | None) -> None:
    env = copy.deepcopy(VENDOR_ENVELOPE)
    for holder, value in ((env, envelope_cost), (env["tasks"][0], task_cost)):
        if value == "missing":
            del holder["cost"]
        else:
            holder["cost"] = value

    answer = parse_answer(200, _bytes(env))

    # No cost anywhere: unknown (the budget then books the worst case), not free.
    assert answer.cost == (pytest.approx(expected) if expected is not None else None)
    assert answer.cost_known is (expected is not None)
    assert expected is None or isinstance(answer.cost, float)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity"], ids=["nan", "infinity"])
def test_non_finite_cost_is_not_taken(literal: bytes) -> None:
    body = _bytes(_vendor(cost=12345)).replace(b"12345", literal)
    answer = parse_answer(200, body)
    # Never taken: the task's own (finite) cost is used instead, or none (the worst case is booked).
    assert answer.cost is None or math.isfinite(answer.cost)


def test_deeply_nested_body_is_an_error_answer() -> None:
    answer = parse_answer(200, b"[" * 100_000)
    assert answer.error is not None


# --- network errors ----------------------------------------------------------------------


def test_network_error_answer_has_no_cost_and_says_why() -> None:
    answer = Answer(None, error="network error: ReadError: connection reset")

    assert answer.http_status is None
    assert answer.code is None
    assert answer.message == "network error: ReadError: connection reset"
    assert not answer.cost_known


# --- encode_task -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("targets", "tag", "params"),
    [
        (VENDOR_TARGETS, "dfsb-1a2b3c4d-0", {}),
        (["cnn.com"], "dfsb-1a2b3c4d-7", {"rank_scale": "one_hundred"}),
        (["cnn.com", "bbc.com"], "t", {"date_from": "2026-01-01", "include_subdomains": False}),
    ],
    ids=["vendor-targets-no-params", "rank_scale", "two-params"],
)
def test_encode_task_is_one_task_in_an_array(targets: list[str], tag: str, params: dict[str, Any]) -> None:
    body = encode_task(targets, tag, params)

    assert isinstance(body, bytes)
    decoded = json.loads(body)
    assert isinstance(decoded, list)
    assert len(decoded) == 1, "live endpoints take exactly one task per POST"
    assert decoded[0] == {"targets": targets, "tag": tag, **params}


def test_encode_task_keeps_target_order_and_does_not_mutate_params() -> None:
    params = {"rank_scale": "one_thousand"}
    targets = ["z.com", "a.com", "m.com"]

    decoded = json.loads(encode_task(targets, "tag-0", params))

    assert decoded[0]["targets"] == ["z.com", "a.com", "m.com"]
    assert params == {"rank_scale": "one_thousand"}
    assert targets == ["z.com", "a.com", "m.com"]


@pytest.mark.parametrize(
    "target",
    ["bücher.de", "пример.рф", "例え.jp", "https://fr.wikipedia.org/wiki/Élysée"],
    ids=["german", "cyrillic", "japanese", "accented-url"],
)
def test_encode_task_preserves_non_ascii_as_utf8(target: str) -> None:
    body = encode_task([target], "tag-é", {})

    assert target.encode() in body, "non-ASCII must be sent as UTF-8, not as \\u escapes"
    assert b"\\u" not in body
    assert json.loads(body.decode("utf-8"))[0] == {"targets": [target], "tag": "tag-é"}


@pytest.mark.parametrize(
    "params",
    [{"targets": ["other.com"]}, {"tag": "mine"}],
    ids=["targets", "tag"],
)
def test_params_cannot_replace_the_chunk_targets_or_tag(params: dict[str, Any]) -> None:
    try:
        body = encode_task(["cnn.com"], "dfsb-0", params)
    except ConfigurationError:
        return  # refusing the clash is a fix too
    decoded = json.loads(body)[0]
    assert (decoded["targets"], decoded["tag"]) == (["cnn.com"], "dfsb-0")
