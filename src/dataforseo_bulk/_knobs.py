"""The client's numeric knobs: one pydantic model, the one check of every value.

What is accepted and how it is converted (``rate_period="60"`` is 60.0, ``chunk_size=2.5`` is
refused) is pydantic's. A refusal is a :class:`ConfigurationError` naming the first bad knob
with what to give instead, worded for the caller: ``max_cost=5.0`` for Python code, or, when the
CLI checks its options through :func:`check_option`, ``--max-cost 5``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._constants import DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_RATE_LIMIT, MAX_CHUNK_SIZE
from .errors import ConfigurationError

_PositiveInt = Annotated[int, Field(strict=True, ge=1)]
# strict: a number (an int is taken as a float), never a bool or a numeric string.
_PositiveNumber = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
#: max_retries above this would let one chunk be paid for dozens of times.
MAX_RETRIES_LIMIT: Final = 50


class Knobs(BaseModel):
    """The numeric knobs, validated together."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate_limit: _PositiveInt
    rate_period: _PositiveNumber
    max_concurrency: _PositiveInt
    chunk_size: Annotated[int, Field(strict=True, ge=1, le=MAX_CHUNK_SIZE)]
    max_retries: Annotated[int, Field(strict=True, ge=0, le=MAX_RETRIES_LIMIT)]
    max_cost: _PositiveNumber | None


@dataclass(frozen=True, slots=True)
class _Hint:
    """What to give for one knob: its meaning, an example value, and its CLI option."""

    what: str
    example: str
    option: str | None  # None: the CLI sets this knob through another option (see below)
    python_extra: str = ""  # a Python-only alternative, e.g. None for no cap


_HINTS: Final = {
    "rate_limit": _Hint(
        "calls allowed per rate period, at least 1", str(DEFAULT_RATE_LIMIT), None,
        " (10000 if your account has it)",
    ),
    "rate_period": _Hint("the window of the rate limit in seconds, greater than 0", "60", None),
    "max_concurrency": _Hint(
        f"calls in flight at once, at least 1; the API allows {DEFAULT_MAX_CONCURRENCY}",
        str(DEFAULT_MAX_CONCURRENCY), "--concurrency",
    ),
    "chunk_size": _Hint(f"targets per call, from 1 to {MAX_CHUNK_SIZE} (the API's maximum)", "1000",
                        "--chunk-size"),
    "max_retries": _Hint(
        f"retries after a transient failure, from 0 (none) to {MAX_RETRIES_LIMIT}",
        str(DEFAULT_MAX_RETRIES), "--max-retries",
    ),
    "max_cost": _Hint("a spending cap in USD greater than 0", "5.0", "--max-cost", ", or None for no cap"),
}  # fmt: skip


def validate(**knobs: Any) -> dict[str, Any]:
    """The knobs as validated and converted; a :class:`ConfigurationError` naming the first bad one."""
    try:
        return Knobs(**knobs).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        hint = _HINTS.get(name)
        if hint is None:
            raise ConfigurationError(f"{name}={knobs.get(name)!r} is not valid ({first['msg']})") from None
        raise ConfigurationError(
            f"{name}={knobs.get(name)!r} is not valid ({first['msg']}): give {hint.what}, "
            f"e.g. {name}={hint.example}{hint.python_extra}"
        ) from None


def check_option(name: str, text: str, defaults: dict[str, Any]) -> Any:
    """One knob given as the text of its CLI option, checked by the same model; the message
    names the option (``--max-cost``), never the Python keyword."""
    hint = _HINTS[name]
    number: Any
    try:
        number = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            number = text
    try:
        return validate(**{**defaults, name: number})[name]
    except ConfigurationError:
        raise ConfigurationError(
            f"{hint.option} {text}: give {hint.what}, e.g. {hint.option} {hint.example}"
        ) from None
