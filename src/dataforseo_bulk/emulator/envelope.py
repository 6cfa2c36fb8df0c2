"""The DataForSEO response envelope, built and serialized exactly as the vendor page shows it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Final

#: The ``version`` field of every envelope.
API_VERSION: Final = "0.1.20261129"
COST_PER_CALL: Final = 0.02
COST_PER_ITEM: Final = 0.00003

OK: Final = 20000
MESSAGES: Final[Mapping[int, str]] = {
    20000: "Ok.",
    40000: "You can set only one task at a time.",
    40100: "You are not authorized to access this resource. Please check your credentials.",
    40202: "The rate-limit per minute has been exceeded.",
    40209: "Too many simultaneous queries.",
    40400: "Not Found.",
    40402: "Invalid Path.",
    40502: "POST Data Is Empty.",
    40503: "POST Data Is Invalid.",
    40506: "Unknown Fields in POST Data.",
    50000: "Internal Error.",
    50301: "3rd Party API Service Unavailable.",
    50401: "Internal Error - Timeout.",
}

Task = dict[str, object]
Envelope = dict[str, object]


def task_cost(items_returned: int) -> float:
    """$0.02 per call plus $0.00003 per returned item, rounded to 8 decimals."""
    return round(COST_PER_CALL + COST_PER_ITEM * items_returned, 8)


def seconds(elapsed: float) -> str:
    return f"{elapsed:.4f} sec."


def make_task(
    *,
    task_id: uuid.UUID,
    status_code: int,
    status_message: str,
    elapsed: float,
    path: Sequence[str],
    data: Mapping[str, object],
    result: list[dict[str, object]] | None,
    cost: float = 0.0,
) -> Task:
    return {
        "id": str(task_id),
        "status_code": status_code,
        "status_message": status_message,
        "time": seconds(elapsed),
        "cost": cost,
        "result_count": len(result) if result is not None else 0,
        "path": list(path),
        "data": dict(data),
        "result": result,
    }


def make_envelope(
    *, status_code: int, elapsed: float, tasks: Sequence[Task] = (), status_message: str | None = None
) -> Envelope:
    """The envelope around ``tasks``; ``cost`` is the sum of task costs and ``tasks_error`` counts the
    tasks whose code is not 20000."""
    total = sum(cost for task in tasks if isinstance(cost := task["cost"], int | float))
    return {
        "version": API_VERSION,
        "status_code": status_code,
        "status_message": status_message if status_message is not None else MESSAGES[status_code],
        "time": seconds(elapsed),
        "cost": round(total, 8),
        "tasks_count": len(tasks),
        "tasks_error": sum(1 for task in tasks if task["status_code"] != OK),
        "tasks": list(tasks),
    }


def encode(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
