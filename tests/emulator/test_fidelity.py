"""The emulator speaks the vendor's schema: the official client's response models parse its answers
with nothing left over (``additional_properties`` empty at every level) and no field the model
declares missing from the answer. A drift of the emulator from the schema fails here."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from dataforseo_bulk.emulator import ENDPOINTS, EmulatorConfig

from .helpers import emulator_client, path_of

models = pytest.importorskip("dataforseo_client.models")
api_client = pytest.importorskip("dataforseo_client.api_client")

RESPONSE_MODELS = {
    "bulk_backlinks": "BacklinksBulkBacklinksLiveResponseInfo",
    "bulk_ranks": "BacklinksBulkRanksLiveResponseInfo",
    "bulk_spam_score": "BacklinksBulkSpamScoreLiveResponseInfo",
    "bulk_referring_domains": "BacklinksBulkReferringDomainsLiveResponseInfo",
    "bulk_new_lost_backlinks": "BacklinksBulkNewLostBacklinksLiveResponseInfo",
    "bulk_new_lost_referring_domains": "BacklinksBulkNewLostReferringDomainsLiveResponseInfo",
    "bulk_pages_summary": "BacklinksBulkPagesSummaryLiveResponseInfo",
}
TARGETS = ["cnn.com", "blog.example.org", "https://example.com/page"]


def leftovers(model: Any, where: str = "") -> list[str]:
    """Every key a parsed model (or a nested one) kept in ``additional_properties``."""
    found: list[str] = []
    if isinstance(model, BaseModel):
        extra = getattr(model, "additional_properties", None) or {}
        found += [f"{where}.{key}" for key in extra]
        for name in type(model).model_fields:
            if name != "additional_properties":
                found += leftovers(getattr(model, name), f"{where}.{name}")
    elif isinstance(model, list):
        for index, element in enumerate(model):
            found += leftovers(element, f"{where}[{index}]")
    return found


def item_model_fields(endpoint: str) -> set[str]:
    response = getattr(models, RESPONSE_MODELS[endpoint])
    task = response.model_fields["tasks"].annotation.__args__[0].__args__[0].__args__[0]
    result = task.model_fields["result"].annotation.__args__[0].__args__[0].__args__[0]
    item = result.model_fields["items"].annotation.__args__[0].__args__[0].__args__[0]
    return set(item.model_fields) - {"additional_properties"}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("null_rate", [0.0, 1.0])
async def test_every_bulk_answer_parses_into_the_official_model_with_nothing_left_over(
    endpoint: str, null_rate: float
) -> None:
    async with emulator_client(EmulatorConfig(null_rate=null_rate)) as client:
        response = await client.post(path_of(endpoint), json=[{"targets": TARGETS, "tag": "t"}])
    body = response.json()
    parsed = getattr(models, RESPONSE_MODELS[endpoint]).from_dict(body)
    assert leftovers(parsed) == []
    items = body["tasks"][0]["result"][0]["items"]
    assert len(items) == len(TARGETS)
    # Every item field the vendor's model declares is in the answer, and nothing else.
    assert {key for item in items for key in item} == item_model_fields(endpoint)


async def test_the_user_data_answer_parses_into_the_official_model_with_nothing_left_over() -> None:
    async with emulator_client(EmulatorConfig(balance_usd=12.5, rate_limit=1000, rate_period=30)) as client:
        response = await client.get("/v3/appendix/user_data")
    parsed = models.AppendixUserDataResponseInfo.from_dict(response.json())
    assert leftovers(parsed) == []
    result = parsed.tasks[0].result[0]
    assert result.login == "emulator"
    assert result.money.balance == 12.5
    assert result.rates.limits.minute.backlinks.bulk_backlinks.live == 2000.0


REQUEST_MODELS = {name: model.replace("Response", "Request") for name, model in RESPONSE_MODELS.items()}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
async def test_the_emulator_takes_the_body_the_official_client_sends(endpoint: str) -> None:
    # The official client sends every optional field it was not given as JSON null.
    task = getattr(models, REQUEST_MODELS[endpoint])(targets=TARGETS)
    body = api_client.ApiClient().sanitize_for_serialization([task])
    assert None in body[0].values()
    async with emulator_client() as client:
        response = await client.post(path_of(endpoint), json=body)
    answer = response.json()
    assert answer["tasks"][0]["status_code"] == 20000, answer["tasks"][0]["status_message"]
    assert answer["tasks"][0]["result"][0]["items_count"] == len(TARGETS)
