"""Every command README.md and the manual (docs/*.md) give is run, and must exit 0 without a traceback.

README.md and every docs/*.md file are parsed when the test runs, so a command added to one later is run too
(a command given in several files is run once; "the README" below means any of these files):

- every line of a ```sh / ```bash / ```shell / ```console block;
- every command line of an unlabelled ``` block: the CLI block's synopses (`misgw sync [--config F] ...`) and
  any line that starts like a command (output samples and diagrams are not commands);
- every inline `code` span that is a command: `misgw ...`, `.venv/bin/...`, `scripts/...`, a misgw
  subcommand written without its `misgw` (`sync --json`), or a command of another tool (`airflow ...`).

A misgw command is run as the README writes it, against a fresh database and the demo province, both made
for the test. A synopsis is run twice (or more): with its required arguments only, and with every optional
one (once per alternative of an `a|b|c` choice, and once per branch of `FILE | --source ID`). Placeholders
(`ID`, `RUN_ID`, `F`, ...) take real values from the demo's run through SUBSTITUTIONS, keyed by the word
before them, so `--source ID` and `rejects waive ID` get different values.

Anything else must be listed here with a reason: LONG_COMMANDS (too long to run whole: run as a quick check),
SHELL_COMMANDS (run as written), REFERENCES (an abbreviated mention of a CLI-block command, which is run in
full) or EXAMPLES (written with another roster's values: run with the demo's). A README command the test
does not know, or a placeholder it has no value for, fails the test naming it: nobody can add a command to
the README or the manual that no test runs.
"""
from __future__ import annotations

import itertools
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa
import yaml
from conftest import CROSSWALK_CSV, PRE2025_CSV, ROOT, create_database, drop_database

README = ROOT / "README.md"
DOCS = ROOT / "docs"
VENV_BIN = ROOT / ".venv" / "bin"


class QuickCheck(NamedTuple):
    reason: str                     # why the command is not run whole, and what is run instead
    commands: list[list[str]]       # each must exit 0 ({tmp}: the test's folder, {demo}: the demo province)
    background: bool = False        # started after the set-up, beside the others (it needs nothing of theirs)


# The README's commands that take too long to run whole here, each replaced by a quick check. Keyed by the
# command as the README writes it (comments dropped, spaces collapsed).
LONG_COMMANDS: dict[str, QuickCheck] = {
    "scripts/test.sh": QuickCheck(
        "the whole test suite (about 40 minutes, and this test is part of it): the script is there, "
        "executable, and parses",
        [["test", "-x", "scripts/test.sh"], ["bash", "-n", "scripts/test.sh"]]),
    "scripts/airflow-demo.sh": QuickCheck(
        "ends in `airflow standalone`, a server that runs until stopped (tests/airflow/test_airflow_demo.py runs "
        "the script itself): the script is there, executable, and parses",
        [["test", "-x", "scripts/airflow-demo.sh"], ["bash", "-n", "scripts/airflow-demo.sh"]]),
    ".venv/bin/python bench/province.py --size L": QuickCheck(
        "size L is 1.2 million members (minutes): the smallest size, S, results written to the test's folder",
        [[".venv/bin/python", "bench/province.py", "--size", "S", "--out", "{tmp}/bench/province_S.json"]],
        background=True),
    ".venv/bin/python bench/read_1m_rows.py": QuickCheck(
        "a million rows (minutes): 2,000 rows, results written to the test's folder",
        [[".venv/bin/python", "bench/read_1m_rows.py", "--rows", "2000", "--out", "{tmp}/bench/read.json"]]),
    ".venv/bin/python bench/validate_1m.py": QuickCheck(
        "a million rows (minutes): 2,000 rows, results written to the test's folder",
        [[".venv/bin/python", "bench/validate_1m.py", "--rows", "2000", "--out", "{tmp}/bench/validate.json"]]),
    ".venv/bin/python bench/reconcile_1m.py": QuickCheck(
        "a million members against a million (minutes): 4,000 members, results written to the test's folder",
        [[".venv/bin/python", "bench/reconcile_1m.py", "--members", "4000", "--out",
          "{tmp}/bench/reconcile.json"]]),
    "airflow standalone": QuickCheck(
        "Airflow's all-in-one server, runs until stopped (scripts/airflow-demo.sh starts it): its help",
        [["airflow", "standalone", "--help"]]),
    "airflow api-server": QuickCheck(
        "a server of the scaled-out deployment, runs until stopped: its help",
        [["airflow", "api-server", "--help"]]),
    "airflow connections add": QuickCheck(
        "named without its arguments (the connection is the site's own): its help",
        [["airflow", "connections", "add", "--help"]]),
}

# README commands run as written ({demo}: the demo province's folder, instead of var/demo in the clone).
SHELL_COMMANDS: dict[str, tuple[str, list[str]]] = {
    "scripts/demo.sh": ("run first: it makes the demo province every other command works on",
                        ["scripts/demo.sh", "--dir", "{demo}"]),
    "scripts/setup.sh": ("safe to run again: it skips what is already there", ["scripts/setup.sh"]),
}

# Abbreviated mentions in the README's prose: not runnable as written (a required argument is left out),
# they name a command of the CLI block, which is run in full. The value is that command's path.
REFERENCES: dict[str, str] = {
    "misgw households scope --set": "households scope",
    "rejects waive ID --reason": "rejects waive",
    "rejects export": "rejects export",
    "runs show": "runs show",
    "mapping suggest": "mapping suggest",
    "misgw households scope --source ID --set …": "households scope",     # docs/mis-model.md
    "misgw history": "history",                 # docs/operating.md: "the clearing is in `misgw history`"
}

# Examples written with another roster's values (a household the demo does not have): run with the demo's
# values instead, through the placeholders of the form given here.
EXAMPLES: dict[str, str] = {
    "misgw history 001 --commune 31300": "misgw history CODE --commune C",      # docs/mis-model.md
}

# Placeholders of misgw commands, keyed by (the word before, the placeholder): the name of a value taken
# from the demo's run (see demo_values).
SUBSTITUTIONS: dict[tuple[str, str], str] = {
    ("--source", "ID"): "source",              # the first source of the demo's misgw.yaml
    ("--config", "F"): "config",               # the demo's misgw.yaml
    ("--pre2025", "F"): "pre2025",             # the GSO unit tables in ../shared/reference/admin-units/
    ("--crosswalk", "F"): "crosswalk",
    ("--pre2025", "FILE"): "pre2025",          # docs/mis-model.md writes FILE
    ("--crosswalk", "FILE"): "crosswalk",
    ("--run", "RUN_ID"): "run_id",             # the demo's run of that source
    ("show", "RUN_ID"): "run_id",
    ("show", "RUN"): "run_id",
    ("waive", "ID"): "entry_id",               # an open entry of the rejects ledger
    ("--reason", "TEXT"): "reason",
    ("--district", "D"): "district",           # the source's district
    ("--out", "FILE.xlsx"): "fixup_out",       # in the test's folder
    ("history", "CODE"): "household_code",     # a household of the source, as the district writes its code
    ("history", "HOUSEHOLD_CODE"): "household_code",
    ("--commune", "C"): "commune",             # and its commune
    ("--set", "S"): "scope",                   # the scope the source already has: nothing is re-keyed
    ("--year", "Y"): "year",                   # the assessment year the demo loaded
    ("--limit", "N"): "limit",
    ("--workers", "N"): "workers",
    ("--slots", "N"): "slots",
    ("suggest", "FILE"): "workbook",           # a workbook of the source
    ("--mapping", "YAML"): "mapping_yaml",     # the README's own example mapping YAML
}
# Paths of the clone the README names, and where the test has them instead.
PATHS = {"var/demo": "demo"}
# Options that keep a misgw command from writing into the clone (its default is under var/).
OUTPUT_OPTIONS = {("demo",): ("--dir", "demo")}

SHELL_LANGS = {"sh", "bash", "shell", "console"}
COMMAND_WORDS = {"misgw", "python", "python3", "bash", "sh", "sudo", "apt-get", "apt", "pip", "pip3", "airflow",
                 "docker", "psql", "curl", "git", "cd", "export", "make", "pytest", "pg_ctlcluster"}
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*(\.[A-Za-z0-9]+)?$")     # ID, RUN_ID, F, FILE.xlsx
PATH_WORD = re.compile(r"^[a-z][a-z0-9-]*$")                         # sync, rejects, admin-units
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
TIMEOUT = 240                                                        # seconds, one command


@dataclass
class Command:
    line: int           # in its file
    text: str           # as written, comments dropped, spaces collapsed
    origin: str         # block | synopsis | inline
    file: str = "README.md"     # relative to the clone

    def __str__(self) -> str:
        return f"`{self.text}` ({self.file} line {self.line})"


def documents() -> list[Path]:
    """The files whose commands are run: the README first (its first command makes the demo), then the
    manual, file by file."""
    return [README, *sorted(DOCS.glob("*.md"))]


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def _synopsis(line: str) -> str:
    """A CLI-block line without its description: cut at the first gap of two spaces; the grammar stops
    at the first description word where a single space separates them (see _misgw_tokens)."""
    return re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]


def _commandish(words: list[str]) -> bool:
    first = words[0]
    return first.startswith(("scripts/", ".venv/bin/")) or (first in COMMAND_WORDS and len(words) > 1)


def readme_commands(text: str, file: str = "README.md",
                    cli_paths: list[list[str]] | None = None) -> tuple[list[Command], list[list[str]]]:
    """One file's commands in the order it gives them, and the paths of its CLI block's commands. An inline
    span that starts like one of these, or of cli_paths (the CLI blocks of the other files), is a misgw
    subcommand written without its `misgw`."""
    found: list[Command] = []
    paths: list[list[str]] = []
    for m in FENCE.finditer(text):
        lang, body = m.group(1).lower(), m.group(2)
        first = text.count("\n", 0, m.start(2)) + 1
        for i, line in enumerate(body.splitlines()):
            if lang in SHELL_LANGS:
                words = _words(re.sub(r"^\s*\$\s+", "", line))
                if words:
                    found.append(Command(first + i, " ".join(words), "block", file))
            elif lang == "" and line.strip() and not line[:1].isspace():
                line = re.sub(r"^\$\s+", "", line)             # a shell prompt
                words = line.split()
                if words[0] in ("misgw", ".venv/bin/misgw"):
                    words = _synopsis(line).split()
                    path, _, taken = _misgw_tokens(words[1:])
                    tokens = words[:1] + re.findall(r"\[|\]|[^\s\[\]]+", " ".join(words[1:]))
                    found.append(Command(first + i, _join(tokens[:1 + taken]), "synopsis", file))
                    paths.append(path)
                elif _commandish(words):
                    found.append(Command(first + i, " ".join(_words(line)), "block", file))
    # Inline spans, with the blocks blanked out (line numbers kept); a span may wrap over lines.
    prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for m in re.finditer(r"`([^`]+)`", prose):
        span = " ".join(m.group(1).split())
        words = span.split()
        if not words:
            continue
        line = prose.count("\n", 0, m.start()) + 1
        bare_misgw = len(words) > 1 and any(p and words[:len(p)] == p for p in paths + (cli_paths or []))
        if _commandish(words) or bare_misgw:
            found.append(Command(line, span, "inline", file))
    return sorted(found, key=lambda c: c.line), paths


def documented_commands(files: list[Path]) -> tuple[list[Command], list[list[str]]]:
    """The commands of every file, file by file in the order given, each command once (where it first
    appears), and the paths of every CLI block's commands."""
    texts = {f: f.read_text(encoding="utf-8") for f in files}
    cli_paths = [p for text in texts.values() for p in readme_commands(text)[1]]
    commands: list[Command] = []
    seen: set[str] = set()
    for f, text in texts.items():
        for cmd in readme_commands(text, str(f.relative_to(ROOT)), cli_paths)[0]:
            if cmd.text not in seen:
                seen.add(cmd.text)
                commands.append(cmd)
    return commands, cli_paths


# --- misgw synopses: parsing and expansion ------------------------------------------------------------

def _misgw_tokens(words: list[str]) -> tuple[list[str], list, int]:
    """(the command path, the argument items, how many words they took): an item is a word or an optional
    group (a list). A word that reads like prose (lower-case, not a flag's value) ends the synopsis: it is
    the description, where a single space separates the two."""
    path = list(itertools.takewhile(PATH_WORD.match, words))
    tokens = re.findall(r"\[|\]|[^\s\[\]]+", " ".join(words[len(path):]))
    stack: list[list] = [[]]
    prev = None                                        # the last top-level word (None after a group)
    taken = 0
    for t in tokens:
        if len(stack) == 1 and t not in ("[", "]"):
            is_value = prev is not None and prev.startswith("-") and not t.startswith("-") and t != "|"
            if PATH_WORD.match(t) and not is_value:
                break
        if t == "[":
            stack.append([])
        elif t == "]":
            group = stack.pop()
            stack[-1].append(group)
        else:
            stack[-1].append(t)
        if len(stack) == 1:
            prev = None if t == "]" else t
        taken += 1
    while len(stack) > 1:                              # an unclosed group: keep what it holds
        group = stack.pop()
        stack[-1].append(group)
    return path, stack[0], len(path) + taken


def _join(tokens: list[str]) -> str:
    return re.sub(r"\[ ", "[", re.sub(r" \]", "]", " ".join(tokens)))


def _units(items: list) -> list:
    """Items grouped into units: a flag with its value, a word, an optional group, or ("alt", [units])."""
    units: list = []
    i = 0
    while i < len(items):
        item = items[i]
        if isinstance(item, list):
            units.append(("opt", item))
        elif item == "|" and units and i + 1 < len(items):
            nxt, step = [items[i + 1]], 2
            if isinstance(items[i + 1], str) and items[i + 1].startswith("-") and i + 2 < len(items) \
                    and isinstance(items[i + 2], str) and not items[i + 2].startswith("-") and items[i + 2] != "|":
                nxt, step = [items[i + 1], items[i + 2]], 3
            prev = units.pop()
            branches = prev[1] if prev[0] == "alt" else [prev]
            units.append(("alt", branches + [("words", nxt)]))
            i += step
            continue
        elif item.startswith("-") and i + 1 < len(items) and isinstance(items[i + 1], str) \
                and not items[i + 1].startswith("-") and items[i + 1] not in ("|", "..."):
            units.append(("words", [item, items[i + 1]]))
            i += 2
            continue
        else:
            units.append(("words", [item]))
        i += 1
    return units


def _expand(items: list, optional: bool) -> list[list[str]]:
    """Every form of the items: optional groups left out, or all put in (each choice of `a|b|c` then)."""
    forms: list[list[list[str]]] = []
    for kind, body in _units(items):
        if kind == "opt":
            forms.append(_expand(body, True) if optional else [[]])
        elif kind == "alt":
            forms.append([f for branch in body for f in _expand_unit(branch, optional)])
        else:
            forms.append(_expand_unit((kind, body), optional))
    return [sum(combo, []) for combo in itertools.product(*forms)]


def _expand_unit(unit, optional: bool) -> list[list[str]]:
    kind, body = unit
    if kind == "opt":
        return _expand(body, True) if optional else [[]]
    words = [w for w in body if w != "..."]
    choices = [w.split("|") if "|" in w and w != "|" else [w] for w in words]
    return [list(c) for c in itertools.product(*choices)]


def misgw_forms(cmd: Command) -> tuple[str, list[str], list[list[str]]]:
    """(the program as written, the command path, every concrete form's arguments with placeholders)."""
    words = cmd.text.split()
    program = words[0] if words[0] in ("misgw", ".venv/bin/misgw") else None
    path, items, _ = _misgw_tokens(words[1:] if program else words)
    forms: list[list[str]] = []
    for optional in (False, True):
        for form in _expand(items, optional):
            if form not in forms:
                forms.append(form)
    return program or "misgw", path, forms


def concrete(program: str, path: list[str], form: list[str], values: dict) -> list[str]:
    """The argv of a form, its placeholders replaced; KeyError names a placeholder with no value."""
    argv = [program, *path]
    prev = path[-1] if path else program
    for word in form:
        out = word
        for prefix, name in PATHS.items():
            if word == prefix or word.startswith(prefix + "/"):
                out = str(values[name]) + word[len(prefix):]
        if out == word and PLACEHOLDER.match(word):
            key = (prev, word)
            if key not in SUBSTITUTIONS:
                raise KeyError(f"no value for the placeholder {word} after {prev} (add it to SUBSTITUTIONS)")
            out = str(values[SUBSTITUTIONS[key]])
        argv.append(out)
        prev = word
    for cmd_path, (option, name) in OUTPUT_OPTIONS.items():
        if tuple(path) == cmd_path and option not in argv:
            argv += [option, str(values[name])]
    return argv


# --- running -------------------------------------------------------------------------------------------

def start(argv: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float) -> tuple[int | None, str, str]:
    try:
        out, err = proc.communicate(timeout=max(timeout, 1))
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)            # its own session: the command and its children
        out, err = proc.communicate()
        return None, out, err + f"\n(killed after {timeout:.0f} s)"


def git_status() -> set[str]:
    """The clone's changes, source files (.py, .sql) left out: no README command writes one, and other work
    in the same clone may edit them while the test runs."""
    done = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return {line for line in done.stdout.splitlines() if not line.rstrip('"').endswith((".py", ".sql"))}


def demo_values(url: str, tmp: Path, demo: Path, readme: str) -> dict:
    """The values placeholders take: from the demo's misgw.yaml and from what its run left in the MIS."""
    config = yaml.safe_load((demo / "misgw.yaml").read_text(encoding="utf-8"))
    source = config["sources"][0]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        run_id = conn.execute(sa.text("SELECT run_id FROM mis.sync_run WHERE source_id = :s ORDER BY started_at"),
                              {"s": source["id"]}).scalars().first()
        entry_id = conn.execute(sa.text(
            "SELECT min(entry_id) FROM mis.reject_entry WHERE source_id = :s AND status = 'open'"),
            {"s": source["id"]}).scalar()
        code, commune = conn.execute(sa.text(
            "SELECT local_code, commune_code_pre2025 FROM mis.household WHERE source_id = :s "
            "ORDER BY household_code LIMIT 1"), {"s": source["id"]}).one()
        scope = conn.execute(sa.text("SELECT scope FROM mis.source_household_scope WHERE source_id = :s"),
                             {"s": source["id"]}).scalar()
        year = conn.execute(sa.text("SELECT max(assessment_year) FROM mis.poverty_assessment")).scalar()
    engine.dispose()
    source_path = (demo / source["path"])
    workbook = source_path if source_path.is_file() else sorted(source_path.glob("*.xls*"))[0]
    # The example mapping YAML (the first block that starts with `aliases:`, in docs/sources.md), as a user
    # would copy it.
    examples = [b for lang, b in FENCE.findall(readme) if lang == "yaml" and re.match(r"\s*(aliases|columns):", b)]
    mapping_yaml = tmp / "mapping.yaml"
    mapping_yaml.write_text(examples[0] if examples else "aliases: {}\n", encoding="utf-8")
    assert run_id and entry_id and code and scope and year, "the demo left no run, reject, household or scope"
    return {"source": source["id"], "config": demo / "misgw.yaml", "demo": demo, "tmp": tmp,
            "pre2025": PRE2025_CSV, "crosswalk": CROSSWALK_CSV, "run_id": run_id, "entry_id": entry_id,
            "reason": "checked by tests/pipeline/test_readme_commands.py", "district": source.get("district_code", ""),
            "fixup_out": tmp / "out" / "fixup.xlsx", "household_code": code, "commune": commune, "scope": scope,
            "year": year, "limit": 5, "workers": 2, "slots": 1, "workbook": workbook, "mapping_yaml": mapping_yaml}


def _fmt(argv: list[str], values: dict) -> list[str]:
    return [a.format(tmp=values["tmp"], demo=values["demo"]) for a in argv]


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join("      " + x for x in text.strip().splitlines()[-lines:])


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path):
    files = documents()
    readme = "\n".join(f.read_text(encoding="utf-8") for f in files)
    commands, cli_paths = documented_commands(files)
    assert any(c.origin == "synopsis" for c in commands), "no CLI block found in README.md or docs/*.md"
    failures: list[str] = []
    ran: list[tuple[float, str]] = []
    before = git_status()

    url = create_database("misgw_readme")
    demo = tmp_path / "demo"
    (tmp_path / "bench").mkdir()
    (tmp_path / "out").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MISGW_DEBUG", "MISGW_EMBEDDED_PG_DIR")}
    env.update(MISGW_DATABASE_URL=url, MISGW_CONFIG=str(demo / "misgw.yaml"),
               AIRFLOW_HOME=str(tmp_path / "airflow"), PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}")
    done: set[tuple[str, ...]] = set()
    background: list[tuple[subprocess.Popen, list[str], str, float]] = []

    def report(argv: list[str], what: str, code: int | None, err: str, seconds: float) -> bool:
        ran.append((seconds, " ".join(argv)))
        problems = []
        if code != 0:
            problems.append(f"exit {code}")
        if "Traceback" in err:
            problems.append("a traceback on stderr")
        if problems:
            failures.append(f"{what}\n    ran: {shlex.join(argv)}\n    {', '.join(problems)}; stderr ends:\n"
                            f"{_tail(err)}")
        return not problems

    def check(argv: list[str], what: str, timeout: int = TIMEOUT, in_background: bool = False) -> bool:
        if tuple(argv) in done:
            return True
        done.add(tuple(argv))
        started = time.monotonic()
        proc = start(argv, env)
        if in_background:
            background.append((proc, argv, what, started))
            return True
        code, _, err = finish(proc, timeout)
        return report(argv, what, code, err, time.monotonic() - started)

    try:
        # First the demo (the README's first command): the province, the MIS and the runs the others read.
        setup_key = "scripts/demo.sh"
        values = {"demo": demo, "tmp": tmp_path}
        if not check(_fmt(SHELL_COMMANDS[setup_key][1], values), f"`{setup_key}` (the set-up)", timeout=600):
            pytest.fail("The demo failed, so no other README command can run:\n" + "\n".join(failures))
        values = demo_values(url, tmp_path, demo, readme)
        # The long quick checks that need nothing of the others run beside them.
        for cmd in commands:
            quick = LONG_COMMANDS.get(" ".join(_words(cmd.text)))
            if quick and quick.background:
                for argv in quick.commands:
                    check(_fmt(argv, values), f"{cmd}, quick check", in_background=True)

        for cmd in commands:
            key = " ".join(_words(cmd.text))
            if key in SHELL_COMMANDS:
                check(_fmt(SHELL_COMMANDS[key][1], values), str(cmd))
            elif key in LONG_COMMANDS:
                for argv in LONG_COMMANDS[key].commands:
                    check(_fmt(argv, values), f"{cmd}, quick check", timeout=600)
            elif cmd.text in REFERENCES:
                target = REFERENCES[cmd.text].split()
                if target not in cli_paths:
                    failures.append(f"{cmd} abbreviates `misgw {REFERENCES[cmd.text]}`, which no CLI block of "
                                    "README.md or docs/*.md gives any more: run it in full, or fix REFERENCES")
            elif cmd.text in EXAMPLES or cmd.text.split()[0] in ("misgw", ".venv/bin/misgw") or \
                    cmd.origin == "inline" and any(p and cmd.text.split()[:len(p)] == p for p in cli_paths):
                program, path, forms = misgw_forms(Command(cmd.line, EXAMPLES[cmd.text], cmd.origin, cmd.file)
                                                   if cmd.text in EXAMPLES else cmd)
                for form in forms:
                    try:
                        argv = concrete(program, path, form, values)
                    except KeyError as exc:
                        failures.append(f"{cmd}: {exc.args[0]}")
                        continue
                    check(argv, str(cmd))
            else:
                failures.append(f"{cmd}: the test does not know how to run this documented command. Make it a "
                                "misgw command, or list it in LONG_COMMANDS (a quick check), SHELL_COMMANDS, "
                                "REFERENCES or EXAMPLES of tests/pipeline/test_readme_commands.py, with the reason")
        for proc, argv, what, started in background:
            code, _, err = finish(proc, started + 600 - time.monotonic())
            report(argv, what, code, err, time.monotonic() - started)
    finally:
        for proc, *_ in background:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
        drop_database(url)

    new = sorted(git_status() - before)
    if new:
        failures.append("README commands left files in the clone (git status):\n" + "\n".join("    " + x for x in new))
    print("README commands run (seconds):")
    for seconds, line in ran:
        print(f"  {seconds:6.1f}  {line}")
    assert not failures, f"{len(failures)} README command(s) failed:\n\n" + "\n\n".join(failures)
