"""Promises of README.md and docs/*.md found untested by the audit of issue 16 (docs/testing.md's
tables): defaults, the examples' printed numbers, what the client's own HTTP path leaves out.

Through the public client only, the API mocked by respx on looptime's fake clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import re
import sqlite3
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from conftest import LOGIN, PASSWORD, URL, USER_DATA_URL, FakeAPI, backlinks_of, client, ok, user_data
from dataforseo_bulk import BudgetExceeded, BulkClient, ConfigurationError, FailureKind, estimate_cost
from dataforseo_bulk.cli import main
from dataforseo_bulk.emulator import (
    DEFAULT_LOGIN,
    DEFAULT_PASSWORD,
    EmulatorConfig,
    Ledger,
    asgi_transport,
    create_app,
)
from dataforseo_bulk.items import (
    NewLostBacklinksItem,
    NewLostReferringDomainsItem,
    PagesSummaryItem,
    ReferringDomainsItem,
)
from network.servers import Conn, ok_body, raw_server, read_request, response

pytestmark = [pytest.mark.looptime, pytest.mark.usefixtures("mocked")]


def domains(n: int, start: int = 0) -> list[str]:
    return [f"site{i}.example.com" for i in range(start, start + n)]


# README: "rate_limit/rate_period (2000 per 60 s), max_concurrency (30)": the defaults, with no
# knob given, bound the job (slow answers: the cap binds; quick ones: the rate binds).
async def test_by_default_thirty_calls_are_in_flight_at_most(api: FakeAPI) -> None:
    api.latency = 10.0
    async with client(chunk_size=1) as c:
        result = await c.bulk_backlinks(domains(90))
    assert len(result) == 90
    assert api.peak_in_flight == 30


async def test_by_default_calls_go_out_at_2000_a_minute_and_no_faster(api: FakeAPI) -> None:
    async with client(chunk_size=1) as c:
        result = await c.bulk_backlinks(domains(200))
    assert len(result) == 200
    times = [call.at for call in api.calls]
    per_minute = (len(times) - 1) / (times[-1] - times[0]) * 60
    assert 0.95 * 2000 <= per_minute <= 2000, per_minute
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 60 / 2000 * 0.999  # evenly spaced: no start-of-job burst


# README: "Its calls go straight to the transport httpx picks for the URL (...), so httpx's
# per-request INFO log line and cookie jar are skipped." (Found false for the account read:
# README now says so.)
async def test_the_own_client_logs_no_request_line_and_sends_no_cookie_back(
    mocked: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    cookies: list[str | None] = []

    def handle(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        answer = ok(json.loads(request.content)[0]["targets"])
        answer.headers["set-cookie"] = "session=abc123; Path=/"
        return answer

    caplog.set_level(logging.DEBUG, logger="httpx")
    mocked.post(URL).mock(side_effect=handle)
    async with client(chunk_size=1, max_concurrency=1) as c:
        result = await c.bulk_backlinks(domains(3))
    assert len(result) == 3
    assert cookies == [None, None, None]
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("httpx")]
    # The one free account read a job starts with goes through httpx's usual path (README).
    assert logged == [f'HTTP Request: GET {USER_DATA_URL} "HTTP/1.1 200 OK"']


# docs/jobs.md, stream(): "With 5,000 domains, `not a target`, `CNN.com` and `cnn.com` in
# targets.txt: JobStats(targets=5003, ok=5002, failed=1, duplicate=1, invalid=1, calls=6, ...,
# cost_usd=0.27003, ...) and run again (everything is in job.sqlite now): calls=0, cost_usd=0.0,
# resumed=5001".
async def test_the_stream_example_prints_the_stats_it_shows(api: FakeAPI, tmp_path: Path) -> None:
    lines = [*domains(5000), "not a target", "CNN.com", "cnn.com"]
    checkpoint = tmp_path / "job.sqlite"
    runs = []
    async with client() as c:
        for _ in range(2):
            async with c.stream(iter(lines), checkpoint=checkpoint, max_cost=10.0) as outcomes:
                keys = [key async for outcome in outcomes for key in (*outcome.values, *outcome.failed)]
            assert sorted(keys) == sorted(lines)  # each input string in exactly one outcome
            runs.append(outcomes.stats())
    first, again = runs
    counts = ("targets", "ok", "failed", "duplicate", "invalid", "calls", "retries", "resumed", "cached")
    assert [getattr(first, name) for name in counts] == [5003, 5002, 1, 1, 1, 6, 0, 0, 0]
    assert round(first.cost_usd, 5) == 0.27003 and first.unknown_cost_calls == 0
    assert [getattr(again, name) for name in counts] == [5003, 5002, 1, 1, 1, 0, 0, 5001, 0]
    assert again.cost_usd == 0.0
    assert len(api.calls) == 6


# docs/jobs.md, checkpoint: "The file also records each chunk's cost_usd and calls (table
# chunks), so you can see what all runs together spent: SELECT SUM(cost_usd), SUM(calls) FROM
# chunks".
async def test_the_checkpoints_chunks_table_adds_up_to_what_all_runs_spent(
    api: FakeAPI, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "job.sqlite"
    max_cost = 2.5 * estimate_cost(1000)
    spent = 0.0
    calls = 0
    async with client(max_concurrency=1) as c:
        with pytest.raises(BudgetExceeded) as caught:
            await c.bulk_backlinks(domains(4000), checkpoint=checkpoint, max_cost=max_cost)
        spent += caught.value.result.stats.cost_usd
        calls += caught.value.result.stats.calls
        result = await c.bulk_backlinks(domains(4000), checkpoint=checkpoint)
        spent += result.stats.cost_usd
        calls += result.stats.calls
    assert calls == len(api.calls) == 4
    with sqlite3.connect(checkpoint) as db:
        total_cost, total_calls = db.execute("SELECT SUM(cost_usd), SUM(calls) FROM chunks").fetchone()
    assert total_calls == 4 and total_cost == pytest.approx(spent) and spent == pytest.approx(4 * 0.05)


# docs/jobs.md, the results cache: "print(first.stats.calls, first.stats.cached)  # 3 0;
# print(again.stats.calls, again.stats.cached, again.stats.saved_usd)  # 1 501 0.02505;
# again["SITE1.example.com"] == first["site1.example.com"]  # True".
async def test_the_cache_example_prints_what_it_shows(api: FakeAPI, tmp_path: Path) -> None:
    async with client(cache=tmp_path / "results.sqlite", max_age=dt.timedelta(days=7)) as c:
        first = await c.bulk_backlinks(domains(2500))
        again = await c.bulk_backlinks(["SITE1.example.com", *domains(1000, start=2000)])
    assert (first.stats.calls, first.stats.cached) == (3, 0)
    assert (again.stats.calls, again.stats.cached, round(again.stats.saved_usd, 5)) == (1, 501, 0.02505)
    assert again["SITE1.example.com"] == first["site1.example.com"]
    assert sorted(api.calls[-1].targets) == sorted(domains(500, start=2500))


# docs/jobs.md, money: "print(estimate_cost(len(targets)))  # 0.5; ... chunk_size=100))  # 2.3;
# ... bulk_backlinks(targets, max_cost=0.2) ... print(len(result), len(aborted),
# result.stats.cost_usd)  # 4000 1000 0.2 (4 calls fit)".
async def test_the_budget_example_prints_what_it_shows(api: FakeAPI) -> None:
    targets = domains(10_000)
    assert estimate_cost(len(targets)) == pytest.approx(0.5)
    assert estimate_cost(len(targets), chunk_size=100) == pytest.approx(2.3)
    async with client() as c:
        with pytest.raises(BudgetExceeded) as caught:
            await c.bulk_backlinks(targets, max_cost=0.2)
    result = caught.value.result
    aborted = [t for t, f in result.failed.items() if f.kind is FailureKind.ABORTED]
    assert (len(result), len(aborted), round(result.stats.cost_usd, 5)) == (4000, 1000, 0.2)
    assert len(api.calls) == 4


# docs/errors.md: "ConfigurationError messages name the argument and say how to fix it, e.g.
# chunk_size=1001 is not valid (...): give targets per call, from 1 to 1000 (the API's maximum),
# e.g. chunk_size=1000. The command line says the same with its options: --chunk-size 1001: give
# ... e.g. --chunk-size 1000"; docs/cli.md: "--concurrency 0 -> argument --concurrency:
# --concurrency 0: give calls in flight at once, at least 1; the API allows 30, e.g.
# --concurrency 30".
def test_the_documented_knob_messages_word_for_word(api: FakeAPI, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        client(chunk_size=1001)
    assert str(caught.value) == (
        "chunk_size=1001 is not valid (Input should be less than or equal to 1000): give targets "
        "per call, from 1 to 1000 (the API's maximum), e.g. chunk_size=1000"
    )
    for argv, said in [
        (
            ["--chunk-size", "1001"],
            "--chunk-size 1001: give targets per call, from 1 to 1000 (the API's maximum), "
            "e.g. --chunk-size 1000",
        ),
        (
            ["--concurrency", "0"],
            "argument --concurrency: --concurrency 0: give calls in flight at once, at least 1; "
            "the API allows 30, e.g. --concurrency 30",
        ),
    ]:
        with pytest.raises(SystemExit) as exited:
            main(["backlinks", "-", "--dry-run", *argv])
        assert exited.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1].endswith(said)
    assert api.calls == []


# docs/endpoints.md: "The values in the examples below are what the emulator answers": each
# example's printed value, from the emulator in this process.
async def test_the_endpoint_examples_print_the_emulators_values(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    app = create_app(EmulatorConfig(), ledger, clock=asyncio.get_running_loop().time)
    since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=90)
    try:
        async with BulkClient(
            DEFAULT_LOGIN, DEFAULT_PASSWORD, base_url="http://127.0.0.1", transport=asgi_transport(app)
        ) as c:
            backlinks = await c.bulk_backlinks(["cnn.com", "https://docs.dataforseo.com/v3/"])
            ranks = await c.bulk_ranks(["cnn.com"], rank_scale="one_hundred")
            ranks_1000 = await c.bulk_ranks(["cnn.com"])
            spam = await c.bulk_spam_score(["cnn.com"])
            domains_ = (await c.bulk_referring_domains(["cnn.com"]))["cnn.com"]
            new_lost = (await c.bulk_new_lost_backlinks(["cnn.com"], date_from=since))["cnn.com"]
            # (the docs' 2026-10-01: any day in the last year gives the same counts)
            new_lost_rd = (await c.bulk_new_lost_referring_domains(["cnn.com"], date_from=since))["cnn.com"]
            pages = await c.bulk_pages_summary(
                ["https://docs.dataforseo.com/v3/", "cnn.com"],
                include_subdomains=False,
                rank_scale="one_thousand",
            )
    finally:
        ledger.close()
    assert backlinks["cnn.com"] == 9429432
    assert (ranks["cnn.com"], ranks_1000["cnn.com"]) == (50, 503)
    assert spam["cnn.com"] == 55
    assert isinstance(domains_, ReferringDomainsItem)
    assert (
        domains_.referring_domains,
        domains_.referring_domains_nofollow,
        domains_.referring_main_domains,
        domains_.referring_main_domains_nofollow,
    ) == (1111996, 361619, 413804, 103902)
    assert isinstance(new_lost, NewLostBacklinksItem)
    assert (new_lost.new_backlinks, new_lost.lost_backlinks) == (955798, 344236)
    assert isinstance(new_lost_rd, NewLostReferringDomainsItem)
    assert (new_lost_rd.new_referring_domains, new_lost_rd.lost_referring_domains) == (34796, 20700)
    assert (new_lost_rd.new_referring_main_domains, new_lost_rd.lost_referring_main_domains) == (14307, 2661)
    page = pages["https://docs.dataforseo.com/v3/"]
    assert isinstance(page, PagesSummaryItem)
    assert (page.type, page.rank, page.main_domain_rank) == ("page", 902, 487)
    assert page.first_seen == dt.datetime(2024, 2, 17, 7, 2, 12, tzinfo=dt.UTC)
    assert page.referring_links_tld is not None
    assert list(page.referring_links_tld.items())[:3] == [("com", 177), ("org", 194), ("net", 525)]


# docs/endpoints.md: "250 targets on 250 sites take 3 calls, while 2500 pages of 7 sites take 3
# calls of 1000, 1000 and 500" (at most 1000 targets and at most 100 root domains a call).
@pytest.mark.parametrize(
    ("targets", "sizes"),
    [
        ([f"https://blog.site{i}.co.uk/post/{i}" for i in range(250)], [50, 100, 100]),
        ([f"https://www.site{i % 7}.com/page/{i}" for i in range(2500)], [500, 1000, 1000]),
    ],
    ids=["250 sites", "7 sites"],
)
async def test_pages_summary_takes_the_calls_the_docs_count(
    tmp_path: Path, targets: list[str], sizes: list[int]
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    app = create_app(EmulatorConfig(), ledger, clock=asyncio.get_running_loop().time)
    try:
        async with BulkClient(
            DEFAULT_LOGIN, DEFAULT_PASSWORD, base_url="http://127.0.0.1", transport=asgi_transport(app)
        ) as c:
            result = await c.bulk_pages_summary(targets)
        calls = ledger.calls()
    finally:
        ledger.close()
    assert len(result) == len(targets) and not result.failed
    assert sorted(call.targets for call in calls) == sizes


# README: "The client talks HTTP through httpx's own transport (...), one connection pool sized to
# max_concurrency": N calls at once over N connections, each kept alive for the next calls (a
# pool smaller than the cap would hold calls back; no keep-alive would open new ones).
@pytest.mark.looptime(False)
async def test_the_connection_pool_is_sized_to_max_concurrency(mocked: respx.MockRouter) -> None:
    cap = 3
    rounds: list[anyio.Event] = [anyio.Event()]
    waiting = [0]

    async def answer_in_rounds_of_cap(conn: Conn) -> None:
        # Each answer waits until `cap` requests are in: so `cap` calls must be in flight at once.
        while (body := await read_request(conn)) is not None:
            event = rounds[-1]
            waiting[0] += 1
            if waiting[0] == cap:
                waiting[0] = 0
                rounds.append(anyio.Event())
                event.set()
            await event.wait()
            await conn.stream.send(response(ok_body(body)))

    mocked.route(host="127.0.0.1").pass_through()
    with anyio.fail_after(10):
        async with raw_server(answer_in_rounds_of_cap) as server, BulkClient(
            LOGIN, PASSWORD, base_url=server.url, max_concurrency=cap, chunk_size=1,
            rate_limit=100_000, check_balance=False,
        ) as c:  # fmt: skip
            result = await c.bulk_backlinks(domains(4 * cap))
    assert len(result) == 4 * cap and not result.failed
    assert len(server.connections) == cap


# docs/scaling.md: "Keys are dataforseo-bulk:{H}:NAME, where H is the first 24 hex digits of the
# SHA-256 of the API base URL and the login"; a key per name in the table (schedule, leases, cap,
# wake).
def test_shared_limit_keys_are_named_as_the_docs_say() -> None:
    pytest.importorskip("redis")
    from dataforseo_bulk.shared_limits import SharedAccount

    accounts = [
        SharedAccount("redis://127.0.0.1:1/0", base_url=url, login=login)
        for url, login in [("https://api.dataforseo.com", "me"), ("https://api.dataforseo.com", "you")]
    ]
    hashes = set()
    for account in accounts:
        for name in ("schedule", "leases", "cap", "wake"):
            match = re.fullmatch(r"dataforseo-bulk:\{([0-9a-f]{24})\}:" + name, account.key(name))
            assert match, account.key(name)
            hashes.add(match.group(1))
    assert len(hashes) == 2  # one per account, the same for each of its keys


# README: "Pass your own http_client= (an httpx.AsyncClient, with its own settings, cookies and
# event hooks, used through its send) or transport= if you need to; as in httpx, environment
# proxies then apply only if your client builds its own transport."
@pytest.mark.parametrize("given", ["http_client", "transport"])
async def test_a_callers_client_or_transport_is_used_as_given_and_no_environment_proxy(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    seen: list[tuple[str | None, str]] = []
    hooked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers.get("cookie"), request.url.host))
        if request.url.path.endswith("/user_data"):
            return user_data(1000.0)
        return ok(json.loads(request.content)[0]["targets"])

    async def hook(request: httpx.Request) -> None:
        hooked.append(request.url.path)

    transport = httpx.MockTransport(handle)
    if given == "http_client":
        own = httpx.AsyncClient(transport=transport, cookies={"mine": "1"}, event_hooks={"request": [hook]})
        async with own, client(http_client=own, chunk_size=1) as c:
            result = await c.bulk_backlinks(["a.com", "b.com"])
        assert hooked.count("/v3/backlinks/bulk_backlinks/live") == 2  # its hooks saw every call
        assert [cookie for cookie, _ in seen] == ["mine=1"] * len(seen)  # its cookies went along
    else:
        async with client(transport=transport, chunk_size=1) as c:
            result = await c.bulk_backlinks(["a.com", "b.com"])
    assert dict(result) == {"a.com": backlinks_of("a.com"), "b.com": backlinks_of("b.com")}
    assert {host for _, host in seen} == {"api.dataforseo.com"} and len(seen) == 3  # account + 2


# docs/jobs.md, checkpoint point 8: "A file that cannot be used is a ConfigurationError that names
# it, before any call: not SQLite (is not a usable SQLite file (file is not a database)), an
# SQLite file of something else, a directory, a path in a directory that does not exist";
# errors.md: "... raised before any call and without writing to the file".
@pytest.mark.parametrize(
    "case", ["not sqlite", "one byte", "sqlite of something else", "a directory", "missing directory"]
)
async def test_a_checkpoint_that_cannot_be_used_is_refused_before_any_call_untouched(
    api: FakeAPI, tmp_path: Path, case: str
) -> None:
    path = tmp_path / "job.sqlite"
    says = {
        "not sqlite": "is not a usable SQLite file (file is not a database)",
        "one byte": "is not a usable SQLite file (file is not a database)",
        "sqlite of something else": "SQLite file of something else",
        "a directory": "",
        "missing directory": "does not exist",
    }[case]
    if case == "not sqlite":
        path.write_text("my notes\n", encoding="utf-8")
    elif case == "one byte":  # SQLite took it for an empty database and wrote over it (fixed)
        path.write_text("\n", encoding="utf-8")
    elif case == "sqlite of something else":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE orders (id INTEGER)")
        db.close()
    elif case == "a directory":
        path.mkdir()
    else:
        path = tmp_path / "missing" / "job.sqlite"
    before = sorted((p.name, p.read_bytes() if p.is_file() else b"") for p in tmp_path.rglob("*"))
    async with client() as c:
        with pytest.raises(ConfigurationError) as caught:
            await c.bulk_backlinks(["a.com"], checkpoint=path)
    assert str(path) in str(caught.value) and says in str(caught.value), str(caught.value)
    assert api.calls == []
    assert sorted((p.name, p.read_bytes() if p.is_file() else b"") for p in tmp_path.rglob("*")) == before


# docs/jobs.md, the results cache: "cache 'notes.txt' is not a usable SQLite file (file is not a
# database) (the file is left untouched)" — also a file of one byte, which SQLite took for an
# empty database and wrote over (fixed: _sqlite.check_path reads the header first).
@pytest.mark.parametrize("content", [b"\n", b"x", b"my notes\n"], ids=["newline", "one byte", "notes"])
async def test_a_cache_file_that_is_not_sqlite_is_refused_untouched(
    api: FakeAPI, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError) as caught:
        async with client(cache=path, max_age=60) as c:
            await c.bulk_backlinks(["a.com"])
    assert str(caught.value) == f"cache {str(path)!r} is not a usable SQLite file (file is not a database)"
    assert path.read_bytes() == content and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert api.calls == []


# README: credentials never in a repr, log line or exception, also when a caller puts them in
# the base URL (the client names its API in its repr and in messages).
@pytest.mark.parametrize(
    "base_url",
    [
        "https://user:s3cret-pw@api.dataforseo.com",
        "https://s3cret-pw@api.dataforseo.com/",
        "http://a:s3cret-pw@127.0.0.1:8765",
        "https://u:s3cret-pw@api.dataforseo.com/?next=https://elsewhere",  # a second '://'
    ],
)
def test_a_base_url_carrying_credentials_is_refused_without_repeating_them(
    base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        BulkClient(LOGIN, PASSWORD, base_url=base_url)
    assert str(caught.value) == (
        "base_url may not carry a user name or password ('user:password@'): give the API's address "
        "alone, e.g. 'https://api.dataforseo.com', and the credentials as login and password "
        "(or DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD)"
    )
    with pytest.raises(SystemExit) as exited:  # argparse's usage error
        main(["backlinks", "-", "--dry-run", "--base-url", base_url])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.splitlines()[-1] == (
        "dataforseo-bulk backlinks: error: argument --base-url: --base-url may not carry a user name or "
        "password ('user:password@'): give the API's address alone and the credentials in "
        "DATAFORSEO_LOGIN and DATAFORSEO_PASSWORD (or --login and --password)"
    )
    assert "s3cret-pw" not in err


@pytest.mark.parametrize("base_url", ["https://api.dataforseo.com/v3@x", "https://api.dataforseo.com/a@b/v3"])
def test_an_at_sign_after_the_host_is_no_credential(base_url: str) -> None:
    client = BulkClient(LOGIN, PASSWORD, base_url=base_url)
    assert repr(client) == f"<BulkClient {base_url} login={LOGIN!r}>"


@pytest.mark.parametrize(("knob", "value"), [("max_cost", True), ("rate_period", True), ("max_cost", "5")])
def test_money_and_seconds_are_numbers_never_a_bool_or_text(knob: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=rf"^{knob}={value!r} is not valid"):
        BulkClient(LOGIN, PASSWORD, **{knob: value})  # type: ignore[arg-type]
