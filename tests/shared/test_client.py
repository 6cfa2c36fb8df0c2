"""``BulkClient(shared_limits=...)`` and ``--shared-limits`` as a user meets them: a real Redis,
the API mocked with respx (``tests/conftest.py``): refusals before any call, masked passwords,
nothing of the credentials in Redis, the environment variable, a 40202 seen by the next job."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import respx

from conftest import LOGIN, PASSWORD, FakeAPI, ok, scripted, task_error
from dataforseo_bulk import BulkClient, ConfigurationError, SharedLimitsUnavailable
from dataforseo_bulk.cli import main
from dataforseo_bulk.shared_limits import SharedLimits, masked_url

from .redis_server import RedisServer, free_port

REDIS_PASSWORD = "redis-s3cret"


def shared_client(shared_limits: str | SharedLimits, **knobs: object) -> BulkClient:
    return BulkClient(LOGIN, PASSWORD, shared_limits=shared_limits, **knobs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
        (f"redis://:{REDIS_PASSWORD}@10.0.0.5:6379/0", "redis://:***@10.0.0.5:6379/0"),
        (f"rediss://worker:{REDIS_PASSWORD}@cache:6380/2", "rediss://worker:***@cache:6380/2"),
        (
            f"unix:///run/redis.sock?db=0&password={REDIS_PASSWORD}",
            "unix:///run/redis.sock?db=0&password=***",
        ),
    ],
)
def test_a_url_is_shown_with_its_password_masked(url: str, shown: str) -> None:
    assert masked_url(url) == shown
    assert REDIS_PASSWORD not in repr(SharedLimits(url))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("localhost:6379", "give a Redis URL such as 'redis://localhost:6379/0'"),
        (f"http://:{REDIS_PASSWORD}@localhost:6379", "http://:***@localhost:6379"),
    ],
)
def test_a_bad_url_fails_before_anything_with_a_fix(value: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        shared_client(value)
    assert message in str(caught.value) and REDIS_PASSWORD not in str(caught.value)


@pytest.mark.parametrize("lease", [0, -1.0, float("nan"), True, "15"])
def test_a_lease_must_be_seconds(lease: object) -> None:
    with pytest.raises(ConfigurationError, match=r"lease_seconds=.*: give seconds > 0"):
        SharedLimits("redis://localhost", lease_seconds=lease)  # type: ignore[arg-type]


def test_without_redis_py_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'dataforseo-bulk\[redis\]'"):
        shared_client("redis://localhost:6379/0")


async def test_an_unreachable_redis_refuses_the_job_before_any_call(
    api: FakeAPI, mocked: respx.MockRouter, tmp_path: Path
) -> None:
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"  # nobody listens there
    checkpoint = tmp_path / "job.sqlite"
    async with shared_client(url) as client:
        with pytest.raises(SharedLimitsUnavailable) as caught:
            await client.bulk_backlinks(["a.com", "b.com"], checkpoint=checkpoint)
    message = str(caught.value)
    assert "\n" not in message and "127.0.0.1" in message and "redis://:***@" in message
    assert REDIS_PASSWORD not in message and PASSWORD not in message
    assert api.calls == []
    assert not checkpoint.exists()


def test_the_cli_refuses_in_one_line_and_touches_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("a.com\nb.com\n")
    output = tmp_path / "out.csv"
    output.write_text("an earlier run's results\n")
    monkeypatch.setenv("DATAFORSEO_LOGIN", LOGIN)
    monkeypatch.setenv("DATAFORSEO_PASSWORD", PASSWORD)
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"
    code = main(["backlinks", str(targets), "-o", str(output), "--shared-limits", url, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(
        "dataforseo-bulk: shared limits: Redis at redis://:***@127.0.0.1:"
    )
    assert REDIS_PASSWORD not in err
    assert output.read_text() == "an earlier run's results\n"


async def test_a_job_writes_only_hashed_keys_and_numbers(
    redis_server: RedisServer, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    async with shared_client(redis_server.url) as client:
        result = await client.bulk_backlinks([f"t{i}.com" for i in range(5)])
    assert len(result) == 5
    with redis_server.client() as probe:
        keys = [key.decode() for key in probe.scan_iter("*")]
        assert keys, "the job left its schedule in Redis"
        stored = " ".join(keys) + " ".join(str(probe.hgetall(k)) for k in keys if probe.type(k) == b"hash")
        assert not any(probe.zcard(k) for k in keys if k.endswith(":leases"))  # every slot given back
    assert LOGIN not in stored and PASSWORD not in stored and "user" not in stored


async def test_the_environment_variable_shares_the_limits(
    redis_server: RedisServer, api: FakeAPI, mocked: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAFORSEO_BULK_SHARED_LIMITS", redis_server.url)
    async with BulkClient(LOGIN, PASSWORD) as client:
        await client.bulk_backlinks(["a.com"])
    with redis_server.client() as probe:
        assert any(key.endswith(b":schedule") for key in probe.scan_iter("*"))


async def test_a_40202_met_by_one_client_pauses_another(
    redis_server: RedisServer, api: FakeAPI, mocked: respx.MockRouter
) -> None:
    api.respond = scripted(lambda t: task_error(40202, "Rate limit exceeded."), ok)
    async with shared_client(redis_server.url, max_retries=0) as first:
        await first.bulk_backlinks(["a.com"])  # answered 40202: the account pauses 15 s
    with redis_server.client() as probe:
        schedule = next(key for key in probe.scan_iter("*:schedule"))
        seconds, micros = probe.time()
        left = int(probe.hget(schedule, "paused") or 0) - (seconds * 1_000_000 + micros)
    # Another client of the account (a new process, say) books its first slot after the pause.
    assert 10.0 * 1_000_000 < left <= 15.0 * 1_000_000
