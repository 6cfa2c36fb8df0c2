"""What ``--help`` prints is what docs/cli-help.md shows, option by option, word for word.

Compared as parsed (the usage, the description, each section's entries as option → help text,
the epilog), not as laid out: argparse wraps lines to the terminal's width, and Python 3.13
writes ``-o, --output OUTPUT`` where 3.11 writes ``-o OUTPUT, --output OUTPUT``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dataforseo_bulk.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli-help.md"
BLOCK = re.compile(r"```console\n\$ dataforseo-bulk (.*?)--help\n(.*?)\n```", re.S)
EXTRAS = re.compile(r"```text\n(.*?)\n```", re.S)
JOB_COMMANDS = (
    "backlinks",
    "ranks",
    "spam-score",
    "referring-domains",
    "new-lost-backlinks",
    "new-lost-referring-domains",
    "pages-summary",
)


@dataclass
class Help:
    usage: str = ""
    description: str = ""
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    epilog: str = ""


def _synopsis(text: str) -> str:
    """``-o OUTPUT, --output OUTPUT`` (3.11) and ``-o, --output OUTPUT`` (3.13) as the latter."""
    parts = text.split(", ")
    names = [part.split(" ", 1)[0] for part in parts]
    metavar = parts[-1].split(" ", 1)[1] if " " in parts[-1] else ""
    return ", ".join(names) + (f" {metavar}" if metavar else "")


def entries(lines: list[str]) -> list[tuple[str, str]]:
    """Lines of a help section as (option, help text); a wrapped help text joined."""
    found: list[tuple[str, str]] = []
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        if indent in (2, 4):  # an option, a positional or a subcommand (indented by 4)
            synopsis, _, text = line.strip().partition("  ")
            found.append((_synopsis(synopsis), " ".join(text.split())))
        else:  # the help text going on, or starting below a long option
            synopsis, text = found[-1]
            found[-1] = (synopsis, " ".join([*text.split(), *line.split()]))
    return found


def parse(text: str) -> Help:
    parsed = Help()
    section: list[str] | None = None
    before: list[str] = []
    for line in text.splitlines():
        if re.fullmatch(r"\S.*:", line):  # "options:", "positional arguments:"
            section = []
            parsed.sections[line[:-1]] = section  # type: ignore[assignment]
        elif section is not None and line.startswith(" "):
            section.append(line)
        elif section is not None and line.strip():  # the epilog, after the sections
            parsed.epilog = " ".join([*parsed.epilog.split(), *line.split()])
        elif section is None:
            before.append(line)
    for name, lines in list(parsed.sections.items()):
        parsed.sections[name] = entries(lines)  # type: ignore[arg-type]
    usage, _, description = "\n".join(before).partition("\n\n")
    parsed.usage, parsed.description = " ".join(usage.split()), " ".join(description.split())
    return parsed


def documented() -> dict[str, Help]:
    """Each ``$ dataforseo-bulk ... --help`` block of docs/cli-help.md, by its command."""
    return {command.strip(): parse(output) for command, output in BLOCK.findall(DOC.read_text("utf-8"))}


def documented_extras() -> dict[str, list[tuple[str, str]]]:
    """The options a job command adds to those of ``backlinks`` (docs/cli-help.md's text block)."""
    [block] = EXTRAS.findall(DOC.read_text("utf-8"))
    extras: dict[str, list[tuple[str, str]]] = {}
    commands: list[str] = []
    lines: list[str] = []
    for line in [*block.splitlines(), "end:"]:
        if not line.startswith(" "):
            for command in commands:
                extras[command] = entries(lines)
            commands, lines = line.rstrip(":").split(", "), []
        else:
            lines.append(line)
    return extras


def printed(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str) -> Help:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_:
        main([*command.split(), "--help"])
    assert exit_.value.code == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return parse(captured.out)


@pytest.mark.parametrize("command", sorted(documented()))
def test_each_command_prints_the_help_docs_show(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    assert printed(capsys, monkeypatch, command) == documented()[command]


@pytest.mark.parametrize("command", JOB_COMMANDS)
def test_every_job_command_has_the_options_of_backlinks_and_its_own(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    docs = documented()
    listed = dict(docs[""].sections["positional arguments"])
    shown = printed(capsys, monkeypatch, command)
    assert shown.description == listed[command]  # the command's own line of the list
    assert shown.sections["positional arguments"] == docs["backlinks"].sections["positional arguments"]
    own = documented_extras().get(command, [])
    assert shown.sections["options"] == docs["backlinks"].sections["options"] + own
    for option, _ in own:  # named in the usage line too, as docs/cli-help.md says
        assert f"[{option}]" in shown.usage


def test_the_documented_help_is_parsed_as_expected() -> None:
    """The parser above reads what it should (else the comparisons would hold for nothing)."""
    docs = documented()
    assert set(docs) == {"", "backlinks", "demo", "account", "cache", "cache stats", "cache prune"}
    options = dict(docs["backlinks"].sections["options"])
    assert options["--rate N[/SECONDS]"] == "calls allowed per window (default 2000/60)"
    assert options["-o, --output OUTPUT"] == "OUT.csv, OUT.jsonl or - for stdout (default: stdout)"
    assert len(options) == 21
    assert docs[""].epilog.startswith("Exit codes: 0 all answered")
    extras = {"ranks", "new-lost-backlinks", "new-lost-referring-domains", "pages-summary"}
    assert set(documented_extras()) == extras
