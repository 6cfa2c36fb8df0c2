"""Every bulk endpoint through the one engine, against the emulator.

In-process (ASGI transport) for each endpoint and its parameters, once over real loopback, the
root-domain limit of bulk_pages_summary, parameter errors before any call, and the CLI
subcommands with their CSV / JSONL columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import start_blocking_portal

from conftest import envelope
from dataforseo_bulk import (
    BULK_BACKLINKS,
    BULK_NEW_LOST_BACKLINKS,
    BULK_NEW_LOST_REFERRING_DOMAINS,
    BULK_PAGES_SUMMARY,
    BULK_RANKS,
    BULK_REFERRING_DOMAINS,
    BULK_SPAM_SCORE,
    BulkClient,
    ConfigurationError,
    Endpoint,
    FailureKind,
    NewLostBacklinksItem,
    PagesSummaryItem,
    ReferringDomainsItem,
    RetryPolicy,
)
from dataforseo_bulk.cli import build_parser, main
from dataforseo_bulk.domains import root_domain
from dataforseo_bulk.emulator import (
    FAULT_KINDS,
    EmulatorConfig,
    Ledger,
    asgi_transport,
    create_app,
    expected_item,
    host_of,
    serve,
)
from dataforseo_bulk.emulator import root_domain as emulator_root_domain
from dataforseo_bulk.endpoints import ItemError, as_row, model_value
from dataforseo_bulk.params import utc_today
from dataforseo_bulk.targets import InvalidTarget, normalize_target

CONFIG = EmulatorConfig()
TODAY = utc_today()  # the client and the emulator both check date_from against today in UTC
A_MONTH_AGO = TODAY - dt.timedelta(days=30)

#: Domains, subdomains, pages, another spelling and an IDN: what a caller really sends.
RAW_TARGETS = [
    "cnn.com",
    "www.bbc.co.uk",
    "docs.dataforseo.com",
    "https://example.com/a/page?x=1",
    "http://a.example.co.uk/",
    "  Example.ORG ",
    "bücher.de",
    *(f"site{i}.example.net" for i in range(18)),
]


def sent(raw: str) -> str:
    target = normalize_target(raw)
    assert not isinstance(target, InvalidTarget), raw
    return target


class Recording(httpx.AsyncBaseTransport):
    """Passes requests on to ``inner`` and keeps each call's task (the JSON body's one object)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.tasks: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":  # not the account read (GET user_data) as a job starts
            self.tasks.append(json.loads(await request.aread())[0])
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Emulated:
    client: BulkClient
    ledger: Ledger
    recording: Recording


@pytest.fixture
def emulated(tmp_path: Path) -> Iterator[Emulated]:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    emulated = emulator_client(CONFIG, ledger)
    yield emulated
    ledger.close()


def emulator_client(config: EmulatorConfig, ledger: Ledger, **knobs: Any) -> Emulated:
    recording = Recording(asgi_transport(create_app(config, ledger)))
    client = BulkClient(
        config.login,
        config.password,
        base_url="http://127.0.0.1",
        transport=recording,
        rate_limit=100_000,
        rate_period=1.0,
        **knobs,
    )
    return Emulated(client, ledger, recording)


# --- each endpoint, in-process ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    method: str
    endpoint: Endpoint[Any]
    kwargs: dict[str, Any] = field(default_factory=dict)  # what the caller passes
    params: dict[str, Any] = field(default_factory=dict)  # what each call must send

    def expected(self, target: str) -> Any:
        """What the caller must get for ``target``: the emulator's item, typed."""
        item = expected_item(self.endpoint.name, target, **self.params)
        if self.endpoint.value_field is not None:
            return item[self.endpoint.value_field]
        assert self.endpoint.item_model is not None
        return self.endpoint.item_model.model_validate(item)


CASES = [
    Case("bulk_backlinks", BULK_BACKLINKS),
    Case("bulk_ranks", BULK_RANKS, params={"rank_scale": "one_thousand"}),
    Case("bulk_ranks", BULK_RANKS, {"rank_scale": "one_hundred"}, {"rank_scale": "one_hundred"}),
    Case("bulk_spam_score", BULK_SPAM_SCORE),
    Case("bulk_referring_domains", BULK_REFERRING_DOMAINS),
    Case("bulk_new_lost_backlinks", BULK_NEW_LOST_BACKLINKS),  # no date_from: the API's default
    Case(
        "bulk_new_lost_backlinks",
        BULK_NEW_LOST_BACKLINKS,
        {"date_from": A_MONTH_AGO},
        {"date_from": A_MONTH_AGO.isoformat()},
    ),
    Case(
        "bulk_new_lost_referring_domains",
        BULK_NEW_LOST_REFERRING_DOMAINS,
        {"date_from": str(TODAY - dt.timedelta(days=365))},
        {"date_from": str(TODAY - dt.timedelta(days=365))},
    ),
    Case(
        "bulk_pages_summary",
        BULK_PAGES_SUMMARY,
        params={"include_subdomains": True, "rank_scale": "one_thousand"},
    ),
    Case(
        "bulk_pages_summary",
        BULK_PAGES_SUMMARY,
        {"include_subdomains": False, "rank_scale": "one_hundred"},
        {"include_subdomains": False, "rank_scale": "one_hundred"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.method}{sorted(case.kwargs)}")
async def test_every_endpoint_answers_every_target_with_the_emulators_item(
    case: Case, tmp_path: Path
) -> None:
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        emulated = emulator_client(CONFIG, ledger, chunk_size=10)
        async with emulated.client as client:
            result = await getattr(client, case.method)(RAW_TARGETS, **case.kwargs)
        calls = ledger.calls()

    assert not result.failed
    assert set(result) == set(RAW_TARGETS)
    for raw in RAW_TARGETS:
        assert result[raw] == case.expected(sent(raw)), raw
    assert result.stats.calls == len(calls) == 3  # 25 targets, 10 a call
    assert {call.endpoint for call in calls} == {case.endpoint.name}
    assert all(call.task_codes == (20000,) for call in calls)
    for task in emulated.recording.tasks:  # exactly the checked parameters went out with each call
        assert {k: v for k, v in task.items() if k not in ("targets", "tag")} == case.params


async def test_typed_items_have_their_fields_parsed(emulated: Emulated) -> None:
    async with emulated.client as client:
        pages = await client.bulk_pages_summary(["https://example.com/a", "docs.dataforseo.com"])
        domains = await client.bulk_referring_domains(["cnn.com"])
        ranks = await client.bulk_ranks(["cnn.com"], rank_scale="one_hundred")

    page = pages["https://example.com/a"]
    assert isinstance(page, PagesSummaryItem)
    raw = expected_item("bulk_pages_summary", "https://example.com/a")
    assert page.url == "https://example.com/a" and page.type == "page"
    assert isinstance(page.first_seen, dt.datetime) and page.first_seen.tzinfo is not None
    assert page.first_seen.strftime("%Y-%m-%d %H:%M:%S +00:00") == raw["first_seen"]
    assert page.referring_links_tld == raw["referring_links_tld"]
    assert pages["docs.dataforseo.com"].type == "subdomain"
    assert isinstance(domains["cnn.com"], ReferringDomainsItem)
    assert (
        domains["cnn.com"].referring_domains
        == expected_item("bulk_referring_domains", "cnn.com")["referring_domains"]
    )
    assert type(ranks["cnn.com"]) is int and 0 <= ranks["cnn.com"] <= 100


async def test_the_generic_form_takes_any_endpoint_and_its_params(emulated: Emulated) -> None:
    targets = ["cnn.com", "bbc.com"]
    params = {"rank_scale": "one_hundred"}
    async with emulated.client as client:
        ranks = await client.run(BULK_RANKS, targets, params=params)
        streamed: dict[str, Any] = {}
        async with client.stream(targets, endpoint=BULK_NEW_LOST_BACKLINKS) as outcomes:
            async for outcome in outcomes:
                streamed.update(outcome.values)
    assert dict(ranks) == {t: expected_item("bulk_ranks", t, **params)["rank"] for t in targets}
    assert streamed == {
        t: NewLostBacklinksItem.model_validate(expected_item("bulk_new_lost_backlinks", t)) for t in targets
    }


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("bulk_pages_summary", {}),
        ("bulk_new_lost_referring_domains", {"date_from": A_MONTH_AGO}),
    ],
)
async def test_faults_are_retried_on_every_endpoint(
    method: str, kwargs: dict[str, Any], tmp_path: Path
) -> None:
    config = EmulatorConfig(fault_rate=0.5, faults=FAULT_KINDS - {"slow"}, seed=11)
    targets = [f"https://p{i}.site{i % 40}.co.uk/x" for i in range(300)]
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        emulated = emulator_client(
            config, ledger, chunk_size=20, retry_policy=RetryPolicy.testing(max_retries=10)
        )
        async with emulated.client as client:
            result = await getattr(client, method)(targets, **kwargs)
        faults = [call.fault for call in ledger.calls() if call.fault]
    endpoint = BULK_PAGES_SUMMARY if method == "bulk_pages_summary" else BULK_NEW_LOST_REFERRING_DOMAINS
    case = Case(method, endpoint, params={k: str(v) for k, v in kwargs.items()})
    assert not result.failed
    assert dict(result) == {t: case.expected(t) for t in targets}
    assert len(faults) >= 5 and len(set(faults)) >= 3 and result.stats.retries > 0


@pytest.mark.loopback
async def test_over_real_loopback(tmp_path: Path) -> None:
    targets = ["https://docs.dataforseo.com/v3/", "a.example.co.uk", "cnn.com"]
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        async with (
            serve(CONFIG, ledger=ledger) as url,
            BulkClient(CONFIG.login, CONFIG.password, base_url=url) as client,
        ):
            pages = await client.bulk_pages_summary(targets, include_subdomains=False)
            lost = await client.bulk_new_lost_referring_domains(targets, date_from=A_MONTH_AGO)
        assert [call.endpoint for call in ledger.calls()] == [
            "bulk_pages_summary",
            "bulk_new_lost_referring_domains",
        ]
    case = Case("", BULK_PAGES_SUMMARY, params={"include_subdomains": False})
    assert dict(pages) == {t: case.expected(t) for t in targets}
    case = Case("", BULK_NEW_LOST_REFERRING_DOMAINS, params={"date_from": A_MONTH_AGO.isoformat()})
    assert dict(lost) == {t: case.expected(t) for t in targets}


# --- bulk_pages_summary: at most 100 root domains a call -------------------------------------


def roots_of(task: dict[str, Any]) -> set[str]:
    roots = {root_domain(target) for target in task["targets"]}
    assert roots == {emulator_root_domain(host_of(target)) for target in task["targets"]}
    return roots


async def test_pages_summary_calls_hold_at_most_100_root_domains(emulated: Emulated) -> None:
    targets = [f"https://blog.site{i}.co.uk/post/{i}" for i in range(250)]  # 250 root domains
    async with emulated.client as client:
        result = await client.bulk_pages_summary(targets)
    tasks = emulated.recording.tasks
    assert len(tasks) >= 3
    assert all(len(roots_of(task)) <= 100 for task in tasks)
    assert sorted(t for task in tasks for t in task["targets"]) == sorted(targets)  # each sent once
    assert all(call.task_codes == (20000,) for call in emulated.ledger.calls())  # none refused
    assert set(result) == set(targets) and not result.failed


async def test_subdomains_of_one_root_count_once(emulated: Emulated) -> None:
    # 200 targets, 100 roots: a.example{j}.co.uk and b.example{j}.co.uk share example{j}.co.uk.
    targets = [f"{sub}.example{j}.co.uk" for j in range(100) for sub in ("a", "b")]
    async with emulated.client as client:
        result = await client.bulk_pages_summary(targets)
    assert len(emulated.recording.tasks) == 1  # one call: the API takes its 100 roots
    assert len(roots_of(emulated.recording.tasks[0])) == 100
    assert emulated.ledger.calls()[0].task_codes == (20000,)
    assert set(result) == set(targets)


async def test_many_targets_over_few_roots_still_fill_calls_of_1000(emulated: Emulated) -> None:
    targets = [f"https://www.site{i % 7}.com/page/{i}" for i in range(2500)]
    async with emulated.client as client:
        result = await client.bulk_pages_summary(targets)
    assert [len(task["targets"]) for task in emulated.recording.tasks] == [1000, 1000, 500]
    assert len(result) == 2500


# --- parameters are checked before any call --------------------------------------------------


@pytest.mark.parametrize(
    ("method", "kwargs", "message"),
    [
        ("bulk_ranks", {"rank_scale": "one_million"}, "rank_scale='one_million' is not valid"),
        ("bulk_pages_summary", {"rank_scale": "100"}, "rank_scale='100' is not valid"),
        ("bulk_pages_summary", {"include_subdomains": "yes"}, "include_subdomains='yes' is not valid"),
        ("bulk_new_lost_backlinks", {"date_from": "2001-01-01"}, "more than a year ago"),
        ("bulk_new_lost_backlinks", {"date_from": TODAY + dt.timedelta(days=2)}, "in the future"),
        ("bulk_new_lost_referring_domains", {"date_from": "01/02/2026"}, "'yyyy-mm-dd' string"),
        ("bulk_new_lost_referring_domains", {"date_from": dt.datetime.now(dt.UTC)}, "is a datetime"),
    ],
)
async def test_parameter_errors_raise_before_any_call(
    emulated: Emulated, tmp_path: Path, method: str, kwargs: dict[str, Any], message: str
) -> None:
    checkpoint = tmp_path / "job.sqlite"
    async with emulated.client as client:
        with pytest.raises(ConfigurationError, match=message):
            await getattr(client, method)(["cnn.com"], checkpoint=checkpoint, **kwargs)
    assert emulated.recording.tasks == [] and emulated.ledger.calls() == []
    assert not checkpoint.exists()


# --- items -----------------------------------------------------------------------------------


def test_an_item_of_the_wrong_shape_is_an_item_error() -> None:
    value = model_value(ReferringDomainsItem)
    with pytest.raises(ItemError, match="'referring_domains' is '12'"):
        value({"target": "a.com", "referring_domains": "12"})
    with pytest.raises(ItemError, match="'target'"):
        value({"referring_domains": 12})
    with pytest.raises(ItemError, match=r"'first_seen\.datetime' is \[1\]"):
        model_value(PagesSummaryItem)({"url": "a.com", "first_seen": [1]})


def test_a_date_in_an_unknown_shape_is_kept_as_sent_not_a_bad_item() -> None:
    item = model_value(PagesSummaryItem)(
        {"url": "a.com", "first_seen": "yesterday", "lost_date": "2019-11-15T12:57:46+00:00", "rank": None}
    )
    assert item.first_seen == "yesterday"
    assert item.lost_date == dt.datetime(2019, 11, 15, 12, 57, 46, tzinfo=dt.UTC)
    assert item.rank is None


@pytest.mark.parametrize("endpoint", [BULK_BACKLINKS, BULK_RANKS, BULK_SPAM_SCORE])
def test_a_null_number_is_none_but_a_missing_or_wrong_one_is_an_item_error(endpoint: Endpoint[Any]) -> None:
    field = endpoint.value_field
    assert field is not None
    assert endpoint.value({"target": "a.com", field: None}) is None
    with pytest.raises(ItemError):
        endpoint.value({"target": "a.com"})
    with pytest.raises(ItemError):
        endpoint.value({"target": "a.com", field: "12"})


def test_a_spam_score_row_keeps_the_type_the_api_sent() -> None:
    row = as_row(BULK_SPAM_SCORE)
    assert row.columns == ("type", "spam_score")
    item = {"type": "domain", "target": "a.com", "spam_score": 7}
    assert row.value(item) == {"type": "domain", "spam_score": 7}


def test_items_ignore_unknown_keys_take_nulls_and_are_frozen() -> None:
    item = model_value(ReferringDomainsItem)({"target": "a.com", "referring_domains": 3, "new_field": [1]})
    assert item.referring_domains == 3 and item.referring_main_domains is None
    with pytest.raises(ValueError, match="frozen"):
        item.referring_domains = 4  # type: ignore[misc]
    assert item.model_dump() == {  # the target is the result's key: rows name it in the caller's spelling
        "referring_domains": 3,
        "referring_domains_nofollow": None,
        "referring_main_domains": None,
        "referring_main_domains_nofollow": None,
    }


def test_every_item_model_names_the_fields_the_emulator_answers() -> None:
    for endpoint in (BULK_REFERRING_DOMAINS, BULK_NEW_LOST_BACKLINKS, BULK_PAGES_SUMMARY):
        assert endpoint.item_model is not None
        params = {"date_from": str(A_MONTH_AGO)} if endpoint is BULK_NEW_LOST_BACKLINKS else {}
        assert list(endpoint.item_model.model_fields) == list(expected_item(endpoint.name, "a.com", **params))


def test_as_row_names_a_single_value_after_its_item_field() -> None:
    assert as_row(BULK_RANKS).value({"target": "a.com", "rank": 5}) == {"rank": 5}
    assert as_row(BULK_RANKS).name == "bulk_ranks" and as_row(BULK_RANKS).parameters is BULK_RANKS.parameters
    assert as_row(BULK_PAGES_SUMMARY) is BULK_PAGES_SUMMARY


# --- the CLI ---------------------------------------------------------------------------------

FAILURE_COLUMNS = ["error_kind", "error_code", "error_reason"]
CLI_TARGETS = ["cnn.com", "docs.dataforseo.com", "https://example.com/page", "a.example.co.uk"]
CLI_COMMANDS = [
    # (subcommand, its options, endpoint, what each call sends)
    ("ranks", ["--rank-scale", "one_hundred"], BULK_RANKS, {"rank_scale": "one_hundred"}),
    ("spam-score", [], BULK_SPAM_SCORE, {}),
    ("referring-domains", [], BULK_REFERRING_DOMAINS, {}),
    ("new-lost-backlinks", ["--date-from", str(A_MONTH_AGO)], BULK_NEW_LOST_BACKLINKS, {}),
    ("new-lost-referring-domains", [], BULK_NEW_LOST_REFERRING_DOMAINS, {}),
    ("pages-summary", ["--no-include-subdomains"], BULK_PAGES_SUMMARY, {"include_subdomains": False}),
]


@dataclass
class Served:
    url: str
    ledger: Ledger

    def argv(self, command: str, input_file: Path, *options: str) -> list[str]:
        credentials = ["--login", CONFIG.login, "--password", CONFIG.password]
        return [command, str(input_file), "--base-url", self.url, *credentials, "--quiet", *options]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The emulator on loopback in a thread of its own: ``main()`` runs its own event loop."""
    ledger = Ledger(tmp_path_factory.mktemp("served") / "ledger.sqlite")
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(CONFIG, ledger=ledger)) as url,
    ):
        yield Served(url, ledger)
    ledger.close()


@pytest.fixture
def input_file(tmp_path: Path) -> Path:
    path = tmp_path / "targets.txt"
    path.write_text("\n".join(CLI_TARGETS) + "\n", encoding="utf-8")
    return path


@pytest.mark.loopback
@pytest.mark.parametrize(
    ("command", "options", "endpoint", "params"), CLI_COMMANDS, ids=[c[0] for c in CLI_COMMANDS]
)
def test_cli_subcommand_writes_the_item_fields_as_csv_columns(
    served: Served,
    input_file: Path,
    tmp_path: Path,
    command: str,
    options: list[str],
    endpoint: Endpoint[Any],
    params: dict[str, Any],
) -> None:
    output = tmp_path / "out.csv"
    assert main(served.argv(command, input_file, "-o", str(output), *options)) == 0
    with output.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    item_fields = (  # a one-number endpoint writes its number under the item field's name
        [*endpoint.row_fields, endpoint.value_field]
        if endpoint.value_field
        else [name for name in expected_item(endpoint.name, "cnn.com", **params) if name != "target"]
    )
    assert reader.fieldnames == ["target", *item_fields, *FAILURE_COLUMNS]
    assert list(endpoint.columns) == item_fields
    assert [row["target"] for row in rows] and {row["target"] for row in rows} == set(CLI_TARGETS)
    for row in rows:
        item = expected_item(endpoint.name, row["target"], **params)
        for name in item_fields:
            if isinstance(item[name], int):
                assert row[name] == str(item[name]), (row["target"], name)
        assert row["error_kind"] == ""


@pytest.mark.loopback
def test_cli_pages_summary_as_jsonl(served: Served, input_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    assert (
        main(served.argv("pages-summary", input_file, "-o", str(output), "--rank-scale", "one_hundred")) == 0
    )
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert {line["target"] for line in lines} == set(CLI_TARGETS)
    for line in lines:
        item = expected_item("bulk_pages_summary", line["target"], rank_scale="one_hundred")
        assert list(line) == ["target", *(name for name in item if name != "target")]
        assert line["rank"] == item["rank"] and line["referring_links_tld"] == item["referring_links_tld"]
        parsed = PagesSummaryItem.model_validate(item)
        assert line["first_seen"] == parsed.model_dump(mode="json")["first_seen"]


@pytest.mark.loopback
@pytest.mark.parametrize(
    ("command", "options", "message"),
    [
        ("ranks", ["--rank-scale", "ten"], "argument --rank-scale: invalid choice: 'ten'"),
        ("pages-summary", ["--rank-scale", "1000"], "invalid choice: '1000'"),
        ("new-lost-backlinks", ["--date-from", "2001-01-01"], "2001-01-01 is more than a year ago"),
        ("new-lost-referring-domains", ["--date-from", "tomorrow"], "is not a day as YYYY-MM-DD"),
        ("new-lost-backlinks", ["--date-from", "2001-01-01", "--dry-run"], "more than a year ago"),
    ],
)
def test_cli_parameter_errors_exit_2_before_any_call(
    served: Served,
    input_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    options: list[str],
    message: str,
) -> None:
    before = len(served.ledger.calls())
    output = tmp_path / "out.csv"
    with pytest.raises(SystemExit) as caught:
        main(served.argv(command, input_file, "-o", str(output), *options))
    assert caught.value.code == 2
    assert message in capsys.readouterr().err
    assert len(served.ledger.calls()) == before and not output.exists()


@pytest.mark.loopback
def test_cli_csv_columns_do_not_depend_on_what_is_answered_first(served: Served, tmp_path: Path) -> None:
    input_file = tmp_path / "targets.txt"
    input_file.write_text("not a target\ncnn.com\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    assert main(served.argv("ranks", input_file, "-o", str(output))) == 1  # one target failed
    with output.open(encoding="utf-8", newline="") as handle:
        rows = {row["target"]: row for row in csv.DictReader(handle)}
    assert rows["cnn.com"]["rank"] == str(expected_item("bulk_ranks", "cnn.com")["rank"])


@pytest.mark.loopback
def test_cli_csv_map_cells_are_json(served: Served, input_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.csv"
    assert main(served.argv("pages-summary", input_file, "-o", str(output))) == 0
    with output.open(encoding="utf-8", newline="") as handle:
        row = next(csv.DictReader(handle))
    item = expected_item("bulk_pages_summary", row["target"])
    assert json.loads(row["referring_links_tld"]) == item["referring_links_tld"]


def test_cli_options_become_the_endpoint_parameters() -> None:
    parser = build_parser()
    args = parser.parse_args(["pages-summary", "in.txt"])
    assert args.job.params(args) == {"include_subdomains": True, "rank_scale": "one_thousand"}
    args = parser.parse_args(
        ["pages-summary", "in.txt", "--no-include-subdomains", "--rank-scale", "one_hundred"]
    )
    assert args.job.params(args) == {"include_subdomains": False, "rank_scale": "one_hundred"}
    args = parser.parse_args(["new-lost-referring-domains", "in.txt"])
    assert args.job.params(args) == {}
    args = parser.parse_args(["new-lost-referring-domains", "in.txt", "--date-from", str(A_MONTH_AGO)])
    assert args.job.params(args) == {"date_from": A_MONTH_AGO.isoformat()}
    args = parser.parse_args(["ranks", "in.txt"])
    assert (args.job.endpoint.name, args.job.params(args)) == ("bulk_ranks", {"rank_scale": "one_thousand"})
    for command, endpoint in [
        ("spam-score", "bulk_spam_score"),
        ("referring-domains", "bulk_referring_domains"),
        ("new-lost-backlinks", "bulk_new_lost_backlinks"),
    ]:
        assert parser.parse_args([command, "in.txt"]).job.endpoint.name == endpoint


async def test_an_item_of_the_wrong_shape_fails_only_its_target() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        targets = json.loads(request.content)[0]["targets"]
        items = [{"url": t, "rank": "high" if t == "b.com" else 7, "extra": {}} for t in targets]
        return httpx.Response(200, json=envelope(items=items))

    client = BulkClient("login", "password", transport=httpx.MockTransport(answer))
    async with client:
        result = await client.bulk_pages_summary(["a.com", "b.com", "c.com"])
    assert {t: item.rank for t, item in result.items()} == {"a.com": 7, "c.com": 7}
    failure = result.failed["b.com"]
    assert failure.kind is FailureKind.BAD_ITEM and "'rank' is 'high'" in failure.reason
