"""Every message the command prints speaks the command's language: options (``--max-cost``),
environment variables (``DATAFORSEO_PASSWORD``) and formats (``YYYY-MM-DD``), never Python's
(``max_cost=``, ``None``, ``datetime.date``). Each path that refuses a command is run here,
in-process, and its words scanned; the CLI's source is scanned for such wording as well.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from dataforseo_bulk import cli
from dataforseo_bulk.chunks import ChunkRef
from dataforseo_bulk.cli import main, options
from dataforseo_bulk.emulator import server as emulator_server
from dataforseo_bulk.errors import AccountRefused, BudgetExceeded, FatalAPIError

#: Python wording: a keyword argument (``max_cost=``), a knob's Python name, None, a Python type.
PYTHON_WORDING = re.compile(
    r"\b[a-z]+_[a-z_]+=|\b(login|password|targets|endpoint|params)=|\bNone\b|datetime\.|\bTrue\b|\bFalse\b"
    r"|\b(max_cost|max_concurrency|chunk_size|max_retries|rate_limit|rate_period|date_from|rank_scale"
    r"|include_subdomains|base_url|fault_rate|latency_ms|jitter_ms|slow_seconds)\b"
)


def python_wording(text: str) -> list[str]:
    return [match.group(0) for match in PYTHON_WORDING.finditer(text)]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("DATAFORSEO_LOGIN", "DATAFORSEO_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "t.txt").write_text("cnn.com\n", encoding="utf-8")
    (tmp_path / "semi.csv").write_text("url;name\ncnn.com;CNN\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    return tmp_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse: usage errors, --version
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


TOMORROW = str(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2))
JOB = ["backlinks", "t.txt", "--base-url", "http://127.0.0.1:9"]

REFUSED = [
    pytest.param([*JOB, "--max-cost", "-1"], "--max-cost -1", id="max-cost-negative"),
    pytest.param([*JOB, "--max-cost", "lots"], "--max-cost lots", id="max-cost-text"),
    pytest.param([*JOB, "--concurrency", "0"], "--concurrency 0", id="concurrency-0"),
    pytest.param([*JOB, "--chunk-size", "1001"], "--chunk-size 1001", id="chunk-size"),
    pytest.param([*JOB, "--max-retries", "99"], "--max-retries 99", id="max-retries"),
    pytest.param([*JOB, "--timeout", "0"], "--timeout 0", id="timeout"),
    pytest.param([*JOB, "--rate", "0/60"], "--rate", id="rate"),
    pytest.param(["backlinks", "t.txt", "--base-url", "http://example.com"], "--base-url", id="plain-http"),
    pytest.param(["backlinks", "t.txt", "--base-url", "ftp://x"], "--base-url ftp://x", id="ftp"),
    pytest.param(["new-lost-backlinks", "t.txt", "--date-from", "2001-01-01"], "YYYY-MM-DD", id="old-day"),
    pytest.param(["new-lost-backlinks", "t.txt", "--date-from", TOMORROW], "YYYY-MM-DD", id="future"),
    pytest.param(["new-lost-backlinks", "t.txt", "--date-from", "1/2/2026"], "YYYY-MM-DD", id="not-iso"),
    pytest.param(["ranks", "t.txt", "--rank-scale", "ten"], "--rank-scale", id="rank-scale"),
    pytest.param(["backlinks", "t.txt"], "DATAFORSEO_PASSWORD", id="no-credentials"),
    pytest.param(["backlinks", "t.txt", "--login", "me"], "no API password for login 'me'", id="login-only"),
    pytest.param(["backlinks", "t.txt", "--password", "pw"], "DATAFORSEO_LOGIN", id="password-only"),
    pytest.param(["backlinks", "t.txt", "-o", "/tmp/"], "is a directory", id="output-directory"),
    pytest.param(["backlinks", "t.txt", "-o", "x.txt"], "--format", id="output-suffix"),
    pytest.param(["demo", "-o", "x.txt"], "name the file .csv", id="demo-output-suffix"),
    pytest.param(["demo", "--targets", "-5"], "--targets -5", id="demo-targets"),
    pytest.param(["demo", "--latency-ms", "-1"], "--latency-ms -1", id="demo-latency"),
    pytest.param(["emulate", "--fault-rate", "2"], "dataforseo-bulk emulate: error", id="emulate-fault-rate"),
    pytest.param(["emulate", "--latency-ms", "-1"], "--latency-ms", id="emulate-latency"),
    pytest.param(["nosuch"], "invalid choice", id="unknown-command"),
]


@pytest.mark.parametrize(("argv", "says"), REFUSED)
def test_every_refusal_is_one_clear_cli_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, text = run(argv, capsys)
    assert code == 2, text
    assert says in text, text
    assert "Traceback" not in text
    assert not python_wording(text), text
    assert not (workdir / "x.txt").exists()  # refused before any file is made


def test_the_demo_output_hint_does_not_suggest_an_option_demo_lacks(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, text = run(["demo", "-o", "x.txt"], capsys)
    assert "--format" not in text


def test_a_semicolon_csv_gets_a_delimiter_hint(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["backlinks", "semi.csv", "--column", "target", "--base-url", "http://127.0.0.1:9"]
    code, text = run([*argv, "--login", "me", "--password", "pw"], capsys)
    assert code == 2
    assert "';'-separated" in text and not python_wording(text)


@pytest.mark.parametrize("header", ["url", "url,note;more"])
def test_no_delimiter_hint_unless_the_one_header_cell_has_a_semicolon(
    workdir: Path, capsys: pytest.CaptureFixture[str], header: str
) -> None:
    (workdir / "plain.csv").write_text(f"{header}\ncnn.com\n", encoding="utf-8")
    argv = ["backlinks", "plain.csv", "--column", "target", "--base-url", "http://127.0.0.1:9"]
    code, text = run([*argv, "--login", "me", "--password", "pw"], capsys)
    found = ", ".join(header.split(","))
    assert code == 2
    assert text.strip() == f"dataforseo-bulk: --column 'target' is not in the CSV header ({found})"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run(["--version"], capsys)
    assert code == 0 and text.strip() == f"dataforseo-bulk {cli.__version__}"


def test_concurrency_above_thirty_warns_on_stderr(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["backlinks", "empty.txt", "--base-url", "http://127.0.0.1:9", "--login", "me", "--password", "pw"]
    code, text = run([*argv, "--concurrency", "40"], capsys)
    assert code == 0, text
    [warning] = [line for line in text.splitlines() if "warning" in line]
    assert warning.startswith("dataforseo-bulk: warning: 40 calls at once") and "30" in warning
    assert not python_wording(text)


def test_abort_lines_name_options_not_keywords() -> None:
    budget = BudgetExceeded(max_cost=5.0, spent=4.99, next_call=0.05)
    refused = AccountRefused(
        FatalAPIError("Insufficient funds.", status_code=40210, chunk=ChunkRef(3, 1000, "t-3"))
    )
    assert "--max-cost" in options.abort_line(budget)
    assert "40210" in options.abort_line(refused)
    for line in (options.abort_line(budget), options.abort_line(refused)):
        assert not python_wording(line), line


@pytest.mark.parametrize(
    ("count", "words"), [(0, "0 targets"), (1, "1 target"), (2, "2 targets"), (1000, "1,000 targets")]
)
def test_counts_agree_in_number(count: int, words: str) -> None:
    assert options.targets(count) == words


def test_the_emulator_warns_when_open_to_others_with_the_default_password() -> None:
    assert emulator_server.open_to_others_warning("0.0.0.0", "emulator-password")
    assert emulator_server.open_to_others_warning("0.0.0.0", "my own secret") is None
    assert emulator_server.open_to_others_warning("127.0.0.1", "emulator-password") is None


def _cli_strings() -> list[tuple[str, int, str]]:
    """Every string literal (f-string parts included) the CLI's modules could print."""
    package = Path(cli.__file__).parent
    found = []
    for path in [*sorted(package.glob("*.py")), Path(emulator_server.__file__)]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                found.append((path.name, node.lineno, node.value))
    return found


def test_no_cli_source_string_uses_python_keyword_syntax() -> None:
    offending = [(name, line, text) for name, line, text in _cli_strings() if python_wording(text)]
    # Names of the client's knobs passed as keys (``"max_cost"``) are code, not messages.
    offending = [item for item in offending if not re.fullmatch(r"[a-z_]+", item[2])]
    assert not offending
