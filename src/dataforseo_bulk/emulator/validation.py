"""Request checks, as pure functions: the body of a POST, each task, and each endpoint field.

The real API answers a bad body at envelope level (40502/40503, no tasks) and a bad task at
task level (HTTP 200, envelope 20000, the task with 40501/40506 and ``cost 0``). These
functions return what to answer; :mod:`.app` only renders it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .domains import host_of, root_domain

if TYPE_CHECKING:
    from .endpoints import EndpointSpec

MAX_TARGETS: Final = 1000
MAX_TARGET_LENGTH: Final = 2048
MAX_TAG_LENGTH: Final = 255
RANK_SCALES: Final = frozenset({"one_hundred", "one_thousand"})
COMMON_FIELDS: Final = frozenset({"targets", "tag"})
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: ``\s`` on str patterns is Unicode whitespace, as ``str.isspace``; one C-level scan per target.
_WHITESPACE: Final = re.compile(r"\s")

POST_DATA_EMPTY: Final = 40502
POST_DATA_INVALID: Final = 40503
INVALID_FIELD: Final = 40501
UNKNOWN_FIELDS: Final = 40506


@dataclass(frozen=True, slots=True)
class TaskError:
    """A task the API refuses: its status code and message."""

    status_code: int
    status_message: str


@dataclass(frozen=True, slots=True)
class ValidTask:
    """A task that passed every check: its targets as sent and its endpoint-specific fields."""

    targets: tuple[str, ...]
    params: Mapping[str, object]
    tag: str | None


def invalid_field(name: str) -> TaskError:
    return TaskError(INVALID_FIELD, f"Invalid Field: '{name}'.")


def _reject_constant(name: str) -> object:
    # NaN and Infinity are not JSON; the API would not parse them either.
    raise ValueError(name)


def parse_body(body: bytes) -> list[dict[str, object]] | int:
    """The tasks of a POST body, or the envelope status code that refuses it.

    An empty body (or ``[]``, no task at all) is 40502; anything that is not a JSON array of
    objects is 40503.
    """
    if not body.strip():
        return POST_DATA_EMPTY
    try:
        tasks = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        return POST_DATA_INVALID
    if not isinstance(tasks, list) or not all(isinstance(task, dict) for task in tasks):
        return POST_DATA_INVALID
    return tasks if tasks else POST_DATA_EMPTY


def target_is_valid(target: object) -> bool:
    """A target is a non-empty string without any whitespace, at most 2048 characters."""
    return (
        isinstance(target, str)
        and 0 < len(target) <= MAX_TARGET_LENGTH
        and _WHITESPACE.search(target) is None
    )


def targets_are_valid(targets: object) -> bool:
    return (
        isinstance(targets, list)
        and 0 < len(targets) <= MAX_TARGETS
        and all(target_is_valid(target) for target in targets)
    )


def tag_is_valid(tag: object) -> bool:
    return isinstance(tag, str) and len(tag) <= MAX_TAG_LENGTH


# --- endpoint field checks: (value, today in UTC) → ok; referenced from the endpoint table ---


def rank_scale_is_valid(value: object, today: dt.date) -> bool:
    return isinstance(value, str) and value in RANK_SCALES


def include_subdomains_is_valid(value: object, today: dt.date) -> bool:
    return isinstance(value, bool)


def one_year_before(today: dt.date) -> dt.date:
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def date_from_is_valid(value: object, today: dt.date) -> bool:
    """``yyyy-mm-dd``, not before the same day one year ago (UTC): the vendor's documented rules.

    The vendor documents no rule for a day after today, so the emulator accepts one (the
    client refuses it before sending: that is the client's own check, not the API's)."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return False
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return False
    return one_year_before(today) <= day


def root_domain_count(targets: tuple[str, ...]) -> int:
    return len({root_domain(host_of(target)) for target in targets})


def validate_task(spec: EndpointSpec, task: Mapping[str, object], today: dt.date) -> ValidTask | TaskError:
    """Check one task for ``spec``'s endpoint. Unknown fields are reported first: a misspelt
    ``target`` is better explained by 40506 than by "targets missing".

    An optional field sent as JSON ``null`` is taken as absent (its default applies): the
    official client sends every unset optional field that way, and the API accepts it."""
    allowed = COMMON_FIELDS | spec.extra_fields.keys()
    if any(name not in allowed for name in task):
        return TaskError(UNKNOWN_FIELDS, "Unknown Fields in POST Data.")
    task = {name: value for name, value in task.items() if value is not None or name == "targets"}
    raw_targets = task.get("targets")
    if not isinstance(raw_targets, list) or not targets_are_valid(raw_targets):
        return invalid_field("targets")
    targets = tuple(str(target) for target in raw_targets)
    tag = task.get("tag")
    if "tag" in task and not tag_is_valid(tag):
        return invalid_field("tag")
    for name, is_valid in spec.extra_fields.items():
        if name in task and not is_valid(task[name], today):
            return invalid_field(name)
    if spec.max_root_domains is not None and root_domain_count(targets) > spec.max_root_domains:
        return invalid_field("targets")
    params = {name: task[name] for name in spec.extra_fields if name in task}
    return ValidTask(targets=targets, params=params, tag=tag if isinstance(tag, str) else None)
