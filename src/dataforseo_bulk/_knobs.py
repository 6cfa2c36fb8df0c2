"""The client's numeric knobs as a pydantic model: the full check, and the words of its messages.

Imported only when a knob is not a plain number inside its range (``client._validate`` checks
those itself), because importing pydantic costs about 0.1 s at start-up. What is accepted, how
it is converted (``rate_period="60"`` is 60.0) and every message stay pydantic's.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._constants import MAX_CHUNK_SIZE
from .errors import ConfigurationError

_PositiveInt = Annotated[int, Field(strict=True, ge=1)]


class Knobs(BaseModel):
    """The numeric knobs, validated together."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate_limit: _PositiveInt
    rate_period: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    max_concurrency: _PositiveInt
    chunk_size: Annotated[int, Field(strict=True, ge=1, le=MAX_CHUNK_SIZE)]
    max_retries: Annotated[int, Field(strict=True, ge=0, le=50)]
    max_cost: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None


_HINTS = {
    "rate_limit": "calls allowed per rate_period, e.g. rate_limit=2000 (10000 if your account has it)",
    "rate_period": "the window of rate_limit in seconds, e.g. rate_period=60",
    "max_concurrency": "calls in flight at once; the API allows 30, e.g. max_concurrency=30",
    "chunk_size": f"targets per call, from 1 to {MAX_CHUNK_SIZE} (the API's maximum)",
    "max_retries": "retries after a transient failure, e.g. max_retries=4 (0 turns them off)",
    "max_cost": "a spending cap in USD greater than 0, e.g. max_cost=5.0, or None for no cap",
}


def validate(**knobs: Any) -> dict[str, Any]:
    """The knobs as validated and converted; a :class:`ConfigurationError` naming the first bad one."""
    try:
        return Knobs(**knobs).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        hint = _HINTS.get(name, "a valid value")
        raise ConfigurationError(
            f"{name}={knobs.get(name)!r} is not valid ({first['msg']}): give {hint}"
        ) from None
