#!/usr/bin/env python3
"""Mutation testing of dataforseo-bulk with mutmut 3, in one command (see docs/testing.md).

    .venv/bin/pip install -e '.[test,mutation]'
    nice -n 19 .venv/bin/python tests/mutation/run.py budget backoff classify   # some modules
    nice -n 19 .venv/bin/python tests/mutation/run.py                            # every core module

Runs in a scratch copy of the working tree (tracked and new files, not ignored ones), so the tree
you work in is never touched and an interrupted run leaves nothing behind. For each module it
prints the mutants killed, survived, timed out and not covered, the kill rate, and the names of
the survivors; ``--show`` also prints each survivor's diff. ``--keep`` leaves the scratch copy
(its path is printed) for ``mutmut browse``/``mutmut show`` there. Exit status 0 when every
module reached ``--goal`` percent (default 0: report only).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "dataforseo_bulk"

#: The tests that hold each module's promises (mutmut then runs, for each mutant, only those of
#: them that reach the mutated function). A test that runs the CLI or the emulator in a
#: subprocess cannot be traced: it is left out (its time would be spent for nothing), and a
#: mutant only such a test reaches counts as "no tests". The slow loopback and Hypothesis files
#: are given only to the modules they exercise.
UNIT = ["tests/test_*.py", "tests/promises"]
JOB = [
    "tests/test_client_core.py",
    "tests/test_jobs.py",
    "tests/test_account.py",
    "tests/test_cache.py",
    "tests/test_no_data.py",
    "tests/test_spare_workers.py",
    "tests/test_endpoints.py",
    "tests/promises",
    "tests/loopback/test_balance.py",
]
#: The CLI's tests that call main(argv) or its modules in this process.
CLI = [
    "tests/cli/test_messages.py",
    "tests/cli/test_any_input.py",
    "tests/cli/test_inputs_outputs.py",
    "tests/cli/test_progress.py",
    "tests/cli/test_commands.py",
    "tests/test_endpoints.py",
    "tests/test_waits.py",
    "tests/promises/test_cli_mutants.py",
    "tests/promises/test_cli_more_mutants.py",
    "tests/promises/test_cli_help.py",
    "tests/cli/test_account.py",
    "tests/cli/test_knob_options.py",
]
TESTS: dict[str, list[str]] = {
    "targets": UNIT,
    "chunks": UNIT,
    "pacing": [*UNIT, "tests/loopback/test_pacing.py"],
    "classify": UNIT,
    "backoff": UNIT,
    "budget": UNIT,
    "answer": UNIT,
    "engine": JOB,
    "checkpoint": [*JOB, *CLI],
    "client": JOB,
    "cli": CLI,
}
#: Source file of each module, relative to src/dataforseo_bulk.
FILES = {name: f"{name}.py" for name in TESTS} | {"cli": "cli/*"}

# mutmut's `results` lines: "    dataforseo_bulk.budget.xǁBudgetǁreserve__mutmut_5: survived"
RESULT_LINE = re.compile(r"^\s*(\S+__mutmut_\d+): (.+)$")


def scratch_copy(destination: Path) -> None:
    """Tracked and untracked (not ignored) files of the working tree, as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = ROOT / os.fsdecode(raw)
        if source.is_file():
            target = destination / os.fsdecode(raw)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def configure(work: Path, modules: list[str], tests: list[str]) -> None:
    """mutmut reads [tool.mutmut] from pyproject.toml: write ours for these modules."""
    tests = tests or sorted({path for module in modules for path in TESTS[module]})
    only = [f"src/{PACKAGE}/{FILES[module]}" for module in modules]
    pyproject = work / "pyproject.toml"
    text = re.sub(r"\n\[tool\.mutmut\]\n(?:(?!\n\[).)*", "\n", pyproject.read_text(), flags=re.S)
    expanded = sorted({str(p.relative_to(work)) for pattern in tests for p in work.glob(pattern)})
    text += (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        'also_copy = ["docs"]\n'  # tests/promises/test_cli_help.py reads docs/cli-help.md
        f"only_mutate = {only!r}\n"
        f"pytest_add_cli_args_test_selection = {expanded!r}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
        # A mutant that loops (say, a chunk cut that never advances) is stopped after 5x the
        # time its tests take unmutated, not mutmut's default 15x: it counts as killed either way.
        "timeout_multiplier = 5.0\n"
    ).replace("'", '"')
    pyproject.write_text(text)


def results(work: Path, mutmut: str) -> dict[str, str]:
    out = subprocess.run(
        [mutmut, "results", "--all", "true"], cwd=work, capture_output=True, text=True, check=True
    ).stdout
    return {m.group(1): m.group(2) for line in out.splitlines() if (m := RESULT_LINE.match(line))}


def module_of(mutant: str) -> str:
    parts = mutant.split(".")
    return "cli" if parts[1] == "cli" else parts[1]


def cli_file(mutant: str) -> str:
    """``options`` for dataforseo_bulk.cli.options.x_knob__mutmut_1, ``__init__`` for the package's."""
    parts = mutant.split(".")
    return parts[2] if len(parts) > 3 else "__init__"


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("modules", nargs="*", choices=[[], *TESTS], metavar="MODULE", help=", ".join(TESTS))
    parser.add_argument("--show", action="store_true", help="print the diff of every surviving mutant")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutmut workers (default 2)")
    parser.add_argument("--goal", type=float, default=0.0, help="fail unless every module kills this %%")
    parser.add_argument(
        "--tests", nargs="+", default=[], metavar="PATH", help="these tests instead of the module's own"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="PATTERN",
        help="only the mutants whose names match (fnmatch), e.g. '*xǁJobǁ_attempts*'",
    )
    args = parser.parse_args()
    modules = args.modules or list(TESTS)
    mutmut = str(Path(sys.executable).parent / "mutmut")
    if not Path(mutmut).exists():
        print("mutmut is not installed: pip install -e '.[test,mutation]'", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="dfsb-mutation-"))
    started = time.monotonic()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    try:
        scratch_copy(work)
        configure(work, modules, args.tests)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        with (work / "mutmut.log").open("w") as log:
            run = subprocess.run(
                [mutmut, "run", "--max-children", str(args.max_children), *args.only],
                cwd=work,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        found = results(work, mutmut)
        if run.returncode or not any(s in ("killed", "survived") for s in found.values()):
            # e.g. "Failed to run clean test": the suite must pass unmutated, twice in one process.
            print((work / "mutmut.log").read_text()[-4000:], file=sys.stderr)
            print(f"mutmut run failed (exit status {run.returncode})", file=sys.stderr)
            return 2
        elapsed = time.monotonic() - started
        changes = " (+ uncommitted changes)" if dirty else ""
        print(f"mutmut on {commit}{changes} (as copied at {when}), {elapsed:.0f} s")
        print("| module | mutants | killed | survived | timeout | no tests | other | killed % |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        below_goal = False
        survivors: list[str] = []
        if args.only:
            found = {m: s for m, s in found.items() if s != "not checked"}
        for module in modules:
            statuses = Counter(s for m, s in found.items() if module_of(m) == module)
            total = sum(statuses.values())
            killed = statuses["killed"] + statuses["timeout"]
            other = total - killed - statuses["survived"] - statuses["no tests"]
            rate = 100.0 * killed / total if total else 100.0
            below_goal |= rate < args.goal
            print(
                f"| {module} | {total} | {statuses['killed']} | {statuses['survived']} | "
                f"{statuses['timeout']} | {statuses['no tests']} | {other} | {rate:.1f} |"
            )
            if module == "cli":  # and each of its files, the package being large
                files = sorted({cli_file(m) for m in found if module_of(m) == "cli"})
                for name in files:
                    part = Counter(
                        s for m, s in found.items() if cli_file(m) == name and module_of(m) == "cli"
                    )
                    n, k = sum(part.values()), part["killed"] + part["timeout"]
                    print(
                        f"| cli/{name} | {n} | {part['killed']} | {part['survived']} | {part['timeout']} | "
                        f"{part['no tests']} | {n - k - part['survived'] - part['no tests']} | "
                        f"{100.0 * k / n if n else 100.0:.1f} |"
                    )
            survivors += sorted(
                m for m, s in found.items() if module_of(m) == module and s != "killed" and s != "timeout"
            )
        for mutant in survivors:
            print(f"{found[mutant]}: {mutant}")
            if args.show:
                shown = subprocess.run([mutmut, "show", mutant], cwd=work, capture_output=True, text=True)
                print(shown.stdout)
        return 1 if below_goal else 0
    finally:
        if args.keep:
            print(f"scratch copy kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
