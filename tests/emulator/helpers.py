"""Shared helpers for the emulator tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from dataforseo_bulk.emulator import EmulatorConfig, Ledger, asgi_transport, create_app

AUTH = ("emulator", "emulator-password")
TODAY = dt.date(2026, 11, 29)
BACKLINKS = "/v3/backlinks/bulk_backlinks/live"


def path_of(endpoint: str) -> str:
    return f"/v3/backlinks/{endpoint}/live"


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@asynccontextmanager
async def emulator_client(
    config: EmulatorConfig | None = None,
    *,
    ledger: Ledger | None = None,
    clock: FakeClock | None = None,
    auth: tuple[str, str] | None = AUTH,
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to an in-process emulator."""
    app = create_app(
        config or EmulatorConfig(),
        ledger,
        clock=clock or FakeClock(),
        today=lambda: TODAY,
    )
    async with httpx.AsyncClient(
        transport=asgi_transport(app), base_url="http://emulator", auth=auth
    ) as client:
        yield client


async def post_task(client: httpx.AsyncClient, task: dict[str, Any], endpoint: str = "bulk_backlinks") -> Any:
    response = await client.post(path_of(endpoint), json=[task])
    assert response.status_code == 200, response.text
    return response.json()
