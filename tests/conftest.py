"""Shared test helpers: a scripted stand-in for the API behind respx, and envelopes to answer with."""

from __future__ import annotations

import json
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest
import respx
from hypothesis import settings

from dataforseo_bulk import BulkClient

# No test may depend on the machine's speed: Hypothesis's default 200 ms deadline per example
# fails tests on a loaded machine (and under mutation testing's slower, instrumented code).
settings.register_profile("dataforseo-bulk", deadline=None)
settings.load_profile("dataforseo-bulk")

BASE_URL = "https://api.dataforseo.com"
URL = f"{BASE_URL}/v3/backlinks/bulk_backlinks/live"
USER_DATA_URL = f"{BASE_URL}/v3/appendix/user_data"
LOGIN = "user@example.com"
PASSWORD = "s3cr3t-API-pa55word"


def client(**knobs: object) -> BulkClient:
    """A client of the fake account (the API mocked by ``mocked``), with ``knobs``."""
    return BulkClient(LOGIN, PASSWORD, **knobs)  # type: ignore[arg-type]


def backlinks_of(target: str) -> int:
    """The count the fake API gives a target (deterministic, differs between targets)."""
    return zlib.crc32(target.encode()) % 10_000_000


def envelope(
    *,
    items: list[dict[str, Any]] | None = None,
    task_code: int = 20000,
    task_message: str = "Ok.",
    env_code: int = 20000,
    env_message: str = "Ok.",
    cost: float | None = None,
    tag: str = "",
) -> dict[str, Any]:
    """A DataForSEO envelope shaped like the vendor page's example."""
    task_cost = cost if cost is not None else (0.02 + 0.00003 * len(items) if items is not None else 0.0)
    task: dict[str, Any] = {
        "id": "11291200-1535-0348-0000-5f85d2be4a1b",
        "status_code": task_code,
        "status_message": task_message,
        "time": "0.1 sec.",
        "cost": task_cost,
        "result_count": 1 if items is not None else 0,
        "path": ["v3", "backlinks", "bulk_backlinks", "live"],
        "data": {"api": "backlinks", "function": "bulk_backlinks", "tag": tag},
        "result": [{"items_count": len(items), "items": items}] if items is not None else None,
    }
    body: dict[str, Any] = {
        "version": "0.1.20261129",
        "status_code": env_code,
        "status_message": env_message,
        "time": "0.1 sec.",
        "cost": task_cost if env_code == 20000 else 0,
        "tasks_count": 1 if env_code == 20000 else 0,
        "tasks_error": 0 if task_code == 20000 else 1,
        "tasks": [task] if env_code == 20000 else [],
    }
    return body


def ok(targets: list[str], *, http_status: int = 200, leave_out: set[str] = frozenset()) -> httpx.Response:  # type: ignore[assignment]
    """A successful answer for ``targets``: items in reverse order, as the real API reorders them."""
    items = [{"target": t, "backlinks": backlinks_of(t)} for t in reversed(targets) if t not in leave_out]
    return httpx.Response(http_status, json=envelope(items=items))


def task_error(code: int, message: str, *, http_status: int = 200) -> httpx.Response:
    return httpx.Response(http_status, json=envelope(task_code=code, task_message=message))


def envelope_error(code: int, message: str, *, http_status: int = 200) -> httpx.Response:
    return httpx.Response(http_status, json=envelope(env_code=code, env_message=message))


@dataclass
class Call:
    targets: list[str]
    tag: str
    task_count: int
    at: float  # loop time when the call arrived
    authorization: str
    in_flight: int  # calls being served when this one arrived, itself included


Responder = Callable[["FakeAPI", list[str]], httpx.Response | Awaitable[httpx.Response]]


@dataclass
class FakeAPI:
    """The respx side effect: records every call, answers with ``respond`` (default: all ok)."""

    respond: Responder = field(default=lambda api, targets: ok(targets))
    latency: float = 0.0
    calls: list[Call] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    #: What GET /v3/appendix/user_data reports as the balance (the job reads it as it starts).
    balance: float = 1_000_000.0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        tasks = json.loads(request.content)
        task = tasks[0]
        self.in_flight += 1
        auth = request.headers.get("authorization", "")
        self.calls.append(
            Call(task["targets"], task.get("tag", ""), len(tasks), anyio.current_time(), auth, self.in_flight)
        )
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.latency:
                await anyio.sleep(self.latency)
            answer = self.respond(self, task["targets"])
            if not isinstance(answer, httpx.Response):
                answer = await answer
            return answer
        finally:
            self.in_flight -= 1

    @property
    def sent_targets(self) -> list[str]:
        return [t for call in self.calls for t in call.targets]


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


@pytest.fixture
def mocked(api: FakeAPI) -> respx.MockRouter:
    with respx.mock(assert_all_called=False) as router:
        router.post(URL).mock(side_effect=api)
        router.get(USER_DATA_URL).mock(side_effect=lambda request: user_data(api.balance))
        yield router


def user_data(balance: float) -> httpx.Response:
    """A user_data answer in the vendor's layout (only the fields the client reads)."""
    result = {"login": LOGIN, "money": {"total": balance, "balance": balance}, "rates": {"limits": {}}}
    task = {"id": "t", "status_code": 20000, "status_message": "Ok.", "cost": 0, "result": [result]}
    body = {"status_code": 20000, "status_message": "Ok.", "cost": 0, "tasks": [task]}
    return httpx.Response(200, json=body)


def scripted(*steps: Callable[[list[str]], httpx.Response]) -> Responder:
    """Answer call N with step N (the last step repeats)."""

    def respond(api: FakeAPI, targets: list[str]) -> httpx.Response:
        step = steps[min(len(api.calls), len(steps)) - 1]
        return step(targets)

    return respond
