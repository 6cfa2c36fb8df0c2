"""The app in-process through httpx: envelope, auth, routes, bodies, validation, items, cost."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from typing import Any

import httpx
import pytest

from dataforseo_bulk.emulator import ENDPOINTS, EmulatorConfig, create_app, expected_backlinks, expected_item

from .helpers import BACKLINKS, TODAY, emulator_client, path_of, post_task

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
# The example answer from the vendor's bulk_backlinks page, trimmed to one item.
VENDOR_EXAMPLE: dict[str, Any] = {
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
            "result": [
                {"items_count": 10, "items": [{"target": "www.trustpilot.com", "backlinks": 66516402}]}
            ],
        }
    ],
}
TIME = re.compile(r"^\d+\.\d{4} sec\.$")


def shape(value: Any) -> Any:
    """Keys and value types, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return {key: shape(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


async def test_envelope_has_the_vendor_keys_types_and_order() -> None:
    async with emulator_client() as client:
        response = await client.post(BACKLINKS, json=[{"targets": VENDOR_TARGETS}])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert '": ' not in response.text and '", "' not in response.text  # compact separators
    answer = response.json()
    assert shape(answer) == shape(VENDOR_EXAMPLE)
    assert list(answer) == list(VENDOR_EXAMPLE)
    assert list(answer["tasks"][0]) == list(VENDOR_EXAMPLE["tasks"][0])
    task = answer["tasks"][0]
    assert answer["cost"] == task["cost"] == 0.0203
    assert TIME.match(answer["time"])
    assert TIME.match(task["time"])
    assert uuid.UUID(task["id"])
    assert task["path"] == ["v3", "backlinks", "bulk_backlinks", "live"]
    assert task["data"] == VENDOR_EXAMPLE["tasks"][0]["data"]
    assert task["result"][0]["items_count"] == 10
    assert re.fullmatch(r"\d+\.\d+\.\d{8}", answer["version"])


async def test_items_echo_targets_in_another_order_with_expected_values() -> None:
    sent = [*VENDOR_TARGETS, "CNN.com", "https://example.com/a?b=c#d"]
    async with emulator_client() as client:
        answer = await post_task(client, {"targets": sent})
    items = answer["tasks"][0]["result"][0]["items"]
    returned = [item["target"] for item in items]
    assert sorted(returned) == sorted(sent)
    assert returned != sent
    for item in items:
        assert item["backlinks"] == expected_backlinks(item["target"])


async def test_one_item_per_distinct_target() -> None:
    async with emulator_client() as client:
        answer = await post_task(client, {"targets": ["a.com", "b.com", "a.com", "a.com"]})
    task = answer["tasks"][0]
    assert task["result"][0]["items_count"] == 2
    assert sorted(item["target"] for item in task["result"][0]["items"]) == ["a.com", "b.com"]
    assert task["cost"] == pytest.approx(0.02 + 2 * 0.00003)


@pytest.mark.parametrize("count", [1, 10, 999, 1000])
async def test_cost_is_per_call_plus_per_item(count: int) -> None:
    async with emulator_client() as client:
        answer = await post_task(client, {"targets": [f"site{i}.com" for i in range(count)]})
    expected = round(0.02 + 0.00003 * count, 8)
    assert answer["tasks"][0]["cost"] == expected
    assert answer["cost"] == expected


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
async def test_every_endpoint_answers_expected_items(endpoint: str) -> None:
    spec = ENDPOINTS[endpoint]
    params: dict[str, object] = {}
    if "rank_scale" in spec.extra_fields:
        params["rank_scale"] = "one_hundred"
    if "date_from" in spec.extra_fields:
        params["date_from"] = "2026-10-01"
    if "include_subdomains" in spec.extra_fields:
        params["include_subdomains"] = False
    sent = ["cnn.com", "https://www.apple.com/iphone/", "docs.dataforseo.com"]
    async with emulator_client() as client:
        answer = await post_task(client, {"targets": sent, "tag": "t-1", **params}, endpoint)
    task = answer["tasks"][0]
    assert task["status_code"] == 20000
    assert task["path"] == ["v3", "backlinks", endpoint, "live"]
    assert task["data"] == {"api": "backlinks", "function": endpoint, "targets": sent, "tag": "t-1", **params}
    result = task["result"][0]
    value_params = {k: v for k, v in params.items() if k in spec.extra_fields}
    for item in result["items"]:
        assert item == expected_item(endpoint, item[spec.key_field], **value_params)
    assert ("total_count" in result) == (endpoint == "bulk_pages_summary")
    if endpoint == "bulk_pages_summary":
        assert result["total_count"] == 3


# --- auth and routes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + "ZW11bGF0b3I6d3Jvbmc=",  # emulator:wrong
        "Bearer ZW11bGF0b3I6ZW11bGF0b3ItcGFzc3dvcmQ=",
        "Basic !!!not-base64",
        "Basic",
    ],
)
async def test_bad_credentials_get_401(authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with emulator_client(auth=None) as client:
        response = await client.post(BACKLINKS, json=[{"targets": ["a.com"]}], headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="DataForSEO REST API"'
    answer = response.json()
    assert answer["status_code"] == 40100
    assert answer["tasks"] == []
    assert answer["tasks_count"] == 0
    assert answer["cost"] == 0


async def test_custom_credentials() -> None:
    config = EmulatorConfig(login="me", password="s3cret")
    async with emulator_client(config, auth=("me", "s3cret")) as client:
        assert (await post_task(client, {"targets": ["a.com"]}))["status_code"] == 20000
    async with emulator_client(config) as client:
        assert (await client.post(BACKLINKS, json=[{"targets": ["a.com"]}])).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("POST", "/v3/backlinks/bulk_everything/live", 40402),
        ("POST", "/v3/backlinks/bulk_backlinks/task_post", 40402),
        ("POST", "/v3/backlinks/bulk_backlinks/live/", 40402),
        ("GET", BACKLINKS, 40402),
        ("POST", "/", 40400),
        ("GET", "/favicon.ico", 40400),
    ],
)
async def test_unknown_routes_get_404(method: str, path: str, code: int) -> None:
    async with emulator_client() as client:
        response = await client.request(method, path, json=[{"targets": ["a.com"]}])
    assert response.status_code == 404
    assert response.json()["status_code"] == code
    assert response.json()["tasks"] == []


# --- bodies and tasks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (b"", 40502, "POST Data Is Empty."),
        (b"[]", 40502, "POST Data Is Empty."),
        (b"{not json", 40503, "POST Data Is Invalid."),
        (b'{"targets": ["a.com"]}', 40503, "POST Data Is Invalid."),
        (b'["a.com"]', 40503, "POST Data Is Invalid."),
    ],
)
async def test_bad_bodies_are_envelope_errors(content: bytes, code: int, message: str) -> None:
    async with emulator_client() as client:
        response = await client.post(BACKLINKS, content=content)
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status_code"], answer["status_message"]) == (code, message)
    assert answer["tasks"] == [] and answer["tasks_count"] == 0 and answer["cost"] == 0


@pytest.mark.parametrize(
    ("endpoint", "task", "code", "message"),
    [
        ("bulk_backlinks", {"targets": []}, 40501, "Invalid Field: 'targets'."),
        ("bulk_backlinks", {"targets": [f"d{i}" for i in range(1001)]}, 40501, "Invalid Field: 'targets'."),
        ("bulk_backlinks", {"targets": ["a b.com"]}, 40501, "Invalid Field: 'targets'."),
        ("bulk_backlinks", {"targets": ["a.com"], "tag": "x" * 256}, 40501, "Invalid Field: 'tag'."),
        ("bulk_backlinks", {"targets": ["a.com"], "filters": []}, 40506, "Unknown Fields in POST Data."),
        ("bulk_ranks", {"targets": ["a.com"], "rank_scale": "ten"}, 40501, "Invalid Field: 'rank_scale'."),
        ("bulk_new_lost_backlinks", {"targets": ["a.com"], "date_from": "2024-01-01"}, 40501,
         "Invalid Field: 'date_from'."),
        ("bulk_pages_summary", {"targets": ["a.com"], "include_subdomains": "no"}, 40501,
         "Invalid Field: 'include_subdomains'."),
        ("bulk_pages_summary", {"targets": [f"https://x.site{i}.com/" for i in range(101)]}, 40501,
         "Invalid Field: 'targets'."),
    ],
)  # fmt: skip
async def test_invalid_tasks_are_task_errors_at_no_cost(
    endpoint: str, task: dict[str, object], code: int, message: str
) -> None:
    async with emulator_client() as client:
        answer = await post_task(client, {**task, "tag": "chunk-7"} if "tag" not in task else task, endpoint)
    assert (answer["status_code"], answer["tasks_count"], answer["tasks_error"], answer["cost"]) == (
        20000,
        1,
        1,
        0,
    )
    errored = answer["tasks"][0]
    assert (errored["status_code"], errored["status_message"]) == (code, message)
    assert errored["cost"] == 0 and errored["result"] is None and errored["result_count"] == 0
    assert errored["data"]["function"] == endpoint
    assert "tag" in errored["data"]


async def test_date_from_uses_today_in_utc() -> None:
    async with emulator_client() as client:
        ok = await post_task(
            client, {"targets": ["a.com"], "date_from": TODAY.isoformat()}, "bulk_new_lost_backlinks"
        )
    assert ok["tasks"][0]["status_code"] == 20000


async def test_only_the_first_of_several_tasks_runs() -> None:
    tasks = [
        {"targets": ["a.com", "b.com"], "tag": "one"},
        {"targets": ["c.com"], "tag": "two"},
        {"targets": []},
    ]
    async with emulator_client() as client:
        answer = (await client.post(BACKLINKS, json=tasks)).json()
    assert (answer["tasks_count"], answer["tasks_error"]) == (3, 2)
    codes = [task["status_code"] for task in answer["tasks"]]
    assert codes == [20000, 40000, 40000]
    assert answer["tasks"][1]["status_message"] == "You can set only one task at a time."
    assert answer["tasks"][1]["data"]["tag"] == "two"
    assert answer["cost"] == answer["tasks"][0]["cost"] == round(0.02 + 2 * 0.00003, 8)


async def test_an_invalid_first_task_still_refuses_the_others() -> None:
    async with emulator_client() as client:
        answer = (await client.post(BACKLINKS, json=[{"targets": []}, {"targets": ["a.com"]}])).json()
    assert [task["status_code"] for task in answer["tasks"]] == [40501, 40000]
    assert answer["tasks_error"] == 2 and answer["cost"] == 0


async def test_gzip_bodies_are_accepted_and_plain_bodies_labelled_gzip_too() -> None:
    body = json.dumps([{"targets": ["a.com"]}]).encode()
    async with emulator_client() as client:
        for content in (gzip.compress(body), body):
            response = await client.post(BACKLINKS, content=content, headers={"Content-Encoding": "gzip"})
            assert response.json()["tasks"][0]["status_code"] == 20000


async def test_lifespan_is_acknowledged() -> None:
    app = create_app(EmulatorConfig())
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


async def test_plain_asgi_transport_works_too() -> None:
    transport = httpx.ASGITransport(app=create_app(EmulatorConfig()))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", auth=("emulator", "emulator-password")
    ) as client:
        answer = await post_task(client, {"targets": ["a.com"]}, "bulk_spam_score")
    assert answer["tasks"][0]["result"][0]["items"] == [expected_item("bulk_spam_score", "a.com")]
    assert path_of("bulk_spam_score") == "/v3/backlinks/bulk_spam_score/live"
