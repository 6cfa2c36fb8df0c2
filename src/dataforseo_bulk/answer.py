"""One answer, read once from bytes into the few fields the client uses. Pure; no I/O.

The envelope is parsed once and only what is used is checked: the codes
and messages at both levels, the cost, and the task's item list. Items stay plain dicts;
the endpoint turns each into its value when it is matched to a target.

JSON is read and written by pydantic-core. Measured on answers with fresh strings (many
different bodies, as in a job): a 68 KB ``bulk_backlinks`` answer in ~0.6 of the time of
``json.loads`` when only keys are cached (``cache_strings="keys"``: an answer's values are
mostly targets, each seen once, so caching them, the default, makes the parse twice as slow);
a 1000-target body in a fifth of the time of ``json.dumps``. Importing it costs ~30 ms, so the
first call imports it, not ``import dataforseo_bulk``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Answer:
    """What one HTTP exchange produced. ``error`` is set when there was nothing to read."""

    http_status: int | None
    envelope_code: int | None = None
    envelope_message: str = ""
    task_code: int | None = None
    task_message: str = ""
    cost: float | None = None  # USD as reported; None when the answer did not say (or said nonsense)
    items: list[dict[str, Any]] | None = None
    error: str | None = None
    #: False only when the request certainly never left (no connection, or refused before a
    #: byte was written): it cannot have been billed.
    sent: bool = True
    #: The task's ``result`` was ``null`` or ``[]``: with 20000, the API's "no data" for the call.
    result_empty: bool = False
    #: The ``Retry-After`` header as sent (a proxy's 429/503 may say how long to wait).
    retry_after: str | None = None
    #: The result's ``total_count`` (``bulk_pages_summary``), if it carried a whole number.
    total_count: int | None = None

    @property
    def code(self) -> int | None:
        """The most specific code: the task's, else the envelope's."""
        return self.task_code if self.task_code is not None else self.envelope_code

    @property
    def message(self) -> str:
        """The most specific message (clients that copy the envelope's "Ok." lose the task's)."""
        return self.task_message or self.envelope_message or (self.error or "")

    @property
    def cost_known(self) -> bool:
        return self.cost is not None


def encode_task(targets: list[str], tag: str, params: dict[str, Any]) -> bytes:
    """The POST body: a JSON array holding exactly one task (live endpoints take one), UTF-8."""
    # targets and tag last: no parameter may replace the chunk's own (the client refuses them too).
    task: dict[str, Any] = {**params, "targets": targets, "tag": tag}
    import pydantic_core  # lazy: see the module docstring

    return pydantic_core.to_json([task])


def parse_answer(http_status: int, content: bytes, *, retry_after: str | None = None) -> Answer:
    """Read an answer body; anything unreadable becomes an ``Answer`` with ``error`` set."""
    answer = _parse_body(http_status, content)
    return answer if retry_after is None else dataclasses.replace(answer, retry_after=retry_after)


def _parse_body(http_status: int, content: bytes) -> Answer:
    import pydantic_core  # lazy: see the module docstring

    try:
        # pydantic-core's JSON parser (jiter): the same result as json.loads, faster. Keys repeat
        # in every item and are worth caching; the values (targets, mostly) are not.
        envelope = pydantic_core.from_json(content, cache_strings="keys")
    except (ValueError, UnicodeDecodeError, RecursionError):
        if http_status == 200:
            return Answer(http_status, error=f"malformed JSON in an HTTP 200 answer ({len(content)} bytes)")
        return Answer(http_status)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("status_code"), int):
        return (
            Answer(http_status)
            if http_status != 200
            else Answer(http_status, error="answer is not an envelope")
        )
    task = _first_task(envelope.get("tasks"))
    task_code = task.get("status_code") if task is not None else None
    return Answer(
        http_status,
        envelope_code=envelope["status_code"],
        envelope_message=_text(envelope.get("status_message")),
        task_code=task_code if isinstance(task_code, int) else None,
        task_message=_text(task.get("status_message")) if task is not None else "",
        cost=_cost(envelope, task),
        items=_items(task) if task is not None else None,
        result_empty=task is not None and "result" in task and task["result"] in (None, []),
        total_count=_total_count(task),
    )


def _first_task(tasks: object) -> dict[str, Any] | None:
    if isinstance(tasks, list) and tasks and isinstance(tasks[0], dict):
        return tasks[0]
    return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _cost(envelope: dict[str, Any], task: dict[str, Any] | None) -> float | None:
    # The envelope's cost is "total tasks cost"; fall back to the task's if it is missing.
    # json.loads accepts NaN and Infinity: such a cost is no cost at all (the budget would break).
    for source in (envelope, task or {}):
        cost = source.get("cost")
        if isinstance(cost, int | float) and not isinstance(cost, bool) and math.isfinite(cost) and cost >= 0:
            return float(cost)
    return None


def _total_count(task: dict[str, Any] | None) -> int | None:
    result = task.get("result") if task is not None else None
    if isinstance(result, list) and result and isinstance(result[0], dict):
        count = result[0].get("total_count")
        if type(count) is int and count >= 0:
            return count
    return None


def _items(task: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The item list of a complete result, else None (an Ok. without items is incomplete)."""
    result = task.get("result")
    if not isinstance(result, list) or not result or not isinstance(result[0], dict):
        return None
    items = result[0].get("items")
    if items is None and result[0].get("items_count") == 0:
        return []
    if not isinstance(items, list):
        return None
    if set(map(type, items)) <= {dict}:  # the normal case, checked at C speed
        return items
    return [item for item in items if isinstance(item, dict)]
