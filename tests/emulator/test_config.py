"""EmulatorConfig validation and repr; the CLI flags that build it."""

from __future__ import annotations

import argparse
import sys

import pytest

from dataforseo_bulk.emulator import FAULT_KINDS, EmulatorConfig, build_parser, config_from_args, serve
from dataforseo_bulk.emulator.server import parse_faults, parse_rate


def test_defaults_are_an_honest_unlimited_server() -> None:
    config = EmulatorConfig()
    assert (config.login, config.password) == ("emulator", "emulator-password")
    assert config.rate_limit is None and config.max_concurrency is None
    assert config.fault_rate == 0 and config.faults == FAULT_KINDS - {"slow"}  # the long fault is opt-in
    assert config.slow_seconds == 200.0


def test_repr_hides_the_password() -> None:
    text = repr(EmulatorConfig(password="hunter2-secret"))
    assert "hunter2-secret" not in text and "password" not in text
    assert "login='emulator'" in text


def test_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        EmulatorConfig("me")  # type: ignore[call-arg]
    config = EmulatorConfig()
    with pytest.raises(AttributeError):
        config.login = "x"  # type: ignore[misc]


def test_faults_accept_any_iterable_of_names() -> None:
    config = EmulatorConfig(faults=["drop", "slow"])  # type: ignore[arg-type]
    assert config.faults == frozenset({"drop", "slow"})
    # Frozen and hashable: equal configs, whatever the order the faults came in, are one key.
    assert {config: "seen"}[EmulatorConfig(faults=("slow", "drop"))] == "seen"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"login": ""}, "login must be"),
        ({"login": "a:b"}, "without ':'"),
        ({"password": ""}, "password must be"),
        ({"rate_limit": 0}, "or None for no limit"),
        ({"rate_limit": 2.5}, "rate_limit must be an int"),
        ({"rate_limit": True}, "rate_limit must be an int"),
        ({"rate_period": 0}, "rate_period must be"),
        ({"max_concurrency": 0}, "max_concurrency must be"),
        ({"latency_ms": -1}, "latency_ms must be a number >= 0"),
        ({"jitter_ms": float("nan")}, "jitter_ms"),
        ({"slow_seconds": -0.5}, "slow_seconds"),
        ({"fault_rate": 1.5}, "from 0.0 to 1.0"),
        ({"faults": frozenset({"boom"})}, "choose from"),
        ({"faults": "drop"}, "not a str"),
        ({"fault_rate": 0.5, "faults": frozenset()}, "at least one kind"),
        ({"seed": "x"}, "seed must be"),
    ],
)
def test_invalid_settings_say_how_to_fix_them(kwargs: dict[str, object], hint: str) -> None:
    with pytest.raises(ValueError, match="EmulatorConfig") as raised:
        EmulatorConfig(**kwargs)  # type: ignore[arg-type]
    assert hint in str(raised.value)


def test_cli_defaults_mirror_the_real_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAFORSEO_EMULATOR_PASSWORD", raising=False)
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.ledger) == ("127.0.0.1", 8765, None)
    config = config_from_args(args)
    assert (config.rate_limit, config.rate_period, config.max_concurrency) == (2000, 60.0, 30)
    assert config.password == "emulator-password"


def test_cli_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAFORSEO_EMULATOR_PASSWORD", "from-env")
    args = build_parser().parse_args(
        ["--rate", "10000/60", "--concurrency", "none", "--latency-ms", "5", "--jitter-ms", "2",
         "--fault-rate", "0.1", "--faults", "http500, drop", "--seed", "9", "--slow-seconds", "1",
         "--login", "me", "--port", "0", "--ledger", "/tmp/x.sqlite", "--null-rate", "0.25",
         "--empty-result-rate", "0.5"]
    )  # fmt: skip
    config = config_from_args(args)
    assert (config.rate_limit, config.max_concurrency, config.latency_ms, config.jitter_ms) == (
        10000,
        None,
        5,
        2,
    )
    assert (config.fault_rate, config.faults, config.seed) == (0.1, frozenset({"http500", "drop"}), 9)
    assert (config.slow_seconds, config.login, config.password) == (1, "me", "from-env")
    assert (config.null_rate, config.empty_result_rate) == (0.25, 0.5)


def test_build_parser_extends_a_given_parser() -> None:
    root = argparse.ArgumentParser(prog="dataforseo-bulk")
    emulate = root.add_subparsers(dest="command").add_parser("emulate")
    assert build_parser(emulate) is emulate
    assert root.parse_args(["emulate", "--port", "0"]).port == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2000/60", (2000, 60.0)), ("5/0.5", (5, 0.5)), ("100", (100, 60.0)), ("none", None)],
)
def test_parse_rate(text: str, expected: tuple[int, float] | None) -> None:
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["x/60", "0/60", "10/0", "10/-1", ""])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="LIMIT"):
        parse_rate(text)


def test_parse_faults() -> None:
    assert parse_faults("all") == FAULT_KINDS
    assert parse_faults("none") == frozenset()
    with pytest.raises(argparse.ArgumentTypeError, match=r"unknown fault kind.*explode.*choose from"):
        parse_faults("drop,explode")


def test_cli_reports_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--faults", "drop,explode"])
    assert exited.value.code == 2
    assert "http500_ok" in capsys.readouterr().err


async def test_missing_uvicorn_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(ImportError, match=r"pip install 'dataforseo-bulk\[emulator\]'"):
        async with serve(EmulatorConfig()):
            pass
