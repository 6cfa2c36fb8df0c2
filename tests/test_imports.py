"""What ``import dataforseo_bulk`` loads, and the one check of the client's knobs.

sqlite3 (checkpoints) and publicsuffixlist (root domains) are loaded on first use; pydantic is
loaded with the client (its knobs are checked by one pydantic model). Each import check runs in
a fresh interpreter, since this one has imported everything already.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest
from pydantic import BaseModel

import dataforseo_bulk
from dataforseo_bulk import BulkClient, ConfigurationError
from dataforseo_bulk._knobs import validate

LAZY = ("sqlite3", "publicsuffixlist")

JOB = textwrap.dedent(
    """
    import json, sys

    import anyio, httpx

    import dataforseo_bulk

    LAZY = {lazy!r}
    loaded = {{"import": [m for m in LAZY if m in sys.modules]}}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # the account, read as the job starts
            task = {{"status_code": 20000, "result": [{{"money": {{"balance": 100.0}}}}]}}
            return httpx.Response(200, json={{"status_code": 20000, "tasks": [task]}})
        targets = json.loads(request.content)[0]["targets"]
        items = [{{"target": t, "backlinks": 7}} for t in targets]
        task = {{"status_code": 20000, "status_message": "Ok.", "cost": 0.02, "result": [{{"items": items}}]}}
        body = {{"status_code": 20000, "status_message": "Ok.", "cost": 0.02, "tasks": [task]}}
        return httpx.Response(200, json=body)

    async def job() -> int:
        async with dataforseo_bulk.BulkClient(
            "login", "password", transport=httpx.MockTransport(answer)
        ) as client:
            result = await client.bulk_backlinks(["a.com", "b.com"])
        return result["a.com"]

    value = anyio.run(job)
    loaded["job"] = [m for m in LAZY if m in sys.modules]
    from dataforseo_bulk import PagesSummaryItem, ReferringDomainsItem
    loaded["items"] = [PagesSummaryItem.__name__, ReferringDomainsItem.__module__]
    loaded["value"] = value
    print(json.dumps(loaded))
    """
)


def test_import_and_a_one_number_job_load_no_sqlite_nor_suffix_list() -> None:
    out = subprocess.run(
        [sys.executable, "-c", JOB.format(lazy=LAZY)], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    assert loaded["import"] == []
    assert loaded["job"] == []
    assert loaded["value"] == 7
    assert loaded["items"] == ["PagesSummaryItem", "dataforseo_bulk.items"]


@pytest.mark.parametrize(
    ("name", "endpoint"),
    [
        ("NewLostBacklinksItem", "bulk_new_lost_backlinks"),
        ("NewLostReferringDomainsItem", "bulk_new_lost_referring_domains"),
        ("PagesSummaryItem", "bulk_pages_summary"),
        ("ReferringDomainsItem", "bulk_referring_domains"),
    ],
)
def test_item_models_are_still_exported(name: str, endpoint: str) -> None:
    model = getattr(dataforseo_bulk, name)
    assert issubclass(model, BaseModel) and name in dataforseo_bulk.__all__
    assert dataforseo_bulk.ENDPOINTS[endpoint].item_model is model


def test_unknown_attribute_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchItem"):
        dataforseo_bulk.NoSuchItem  # type: ignore[attr-defined]  # noqa: B018


GOOD = {"rate_limit": 2000, "rate_period": 60, "max_concurrency": 30, "chunk_size": 1000, "max_retries": 4}


class _Int(int):
    pass


@pytest.mark.parametrize(
    ("knob", "expected"),
    [
        ({}, {"rate_period": 60.0, "max_cost": None}),
        ({"max_cost": 5}, {"max_cost": 5.0}),
        ({"max_cost": 0.5}, {"max_cost": 0.5}),
        ({"rate_period": 0.001}, {"rate_period": 0.001}),
        ({"rate_period": sys.float_info.max}, {"rate_period": sys.float_info.max}),
        ({"rate_period": "60"}, "rate_period"),  # a number, never text ...
        ({"rate_period": True}, "rate_period"),  # ... or a bool
        ({"max_cost": True}, "max_cost"),
        ({"rate_limit": _Int(5)}, {"rate_limit": 5}),
        ({"max_retries": 50}, {"max_retries": 50}),
        ({"rate_period": 10**400}, "rate_period"),
        ({"rate_period": math.inf}, "rate_period"),
        ({"rate_period": math.nan}, "rate_period"),
        ({"rate_period": 0}, "rate_period"),
        ({"rate_limit": True}, "rate_limit"),
        ({"rate_limit": 2.0}, "rate_limit"),
        ({"chunk_size": 1001}, "chunk_size"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"max_retries": 51}, "max_retries"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_concurrency": "30"}, "max_concurrency"),
        ({"max_cost": -1.0}, "max_cost"),
        ({"max_cost": math.inf}, "max_cost"),
        ({"max_cost": False}, "max_cost"),
    ],
    ids=repr,
)
def test_one_knob_check_accepts_converts_and_names_the_bad_knob(
    knob: dict[str, object], expected: dict[str, object] | str
) -> None:
    # The one check (a pure function, tested as a table) and the client agree: a refused knob is
    # refused by BulkClient itself, before any call, with the message naming the knob.
    knobs = {**GOOD, "max_cost": None, **knob}
    if isinstance(expected, str):
        named = rf"^{expected}=.* is not valid .*: give .*e\.g\. {expected}="
        with pytest.raises(ConfigurationError, match=named):
            validate(**knobs)
        with pytest.raises(ConfigurationError, match=named):
            BulkClient("login", "password", **knobs)  # type: ignore[arg-type]
        return
    got = validate(**knobs)
    for name, value in expected.items():
        assert got[name] == value
        assert type(got[name]) is type(value)
    BulkClient("login", "password", **knobs)  # type: ignore[arg-type]
