"""The data protection documents in docs/ name only what exists, so that a DPO who follows them is never sent to a
command, option or setting that the bot does not have (or no longer has).

- every `python bot.py …` invocation they show parses with bot.py's own parser (options and choices included);
- every slash command they show is declared in manifest.yml, with its first word in the command's usage hint;
- every UPPER_CASE setting they name is documented in .env.example;
- every relative link leads to a file, and to a heading of it when it names one.
"""

import itertools
import re
from pathlib import Path

import pytest

import bot

ROOT = Path(__file__).parent.parent
DOCS = sorted((ROOT / "docs").rglob("*.md"))
# What the documents' synopses put in place of a value, and a value of that kind for the parser.
PLACEHOLDERS = {"HANDLE": "ann@mastodon.social", "SOURCE": "mastodon", "DAYS": "30"}
INVOCATION = re.compile(r"python bot\.py\b([^`\n]*)")
SLASH_COMMAND = re.compile(r"`(/[a-z]+)(?: ([a-z]+))?[^`]*`")
SETTING = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
DOCUMENTED_SETTING = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)


def docs_text() -> str:
    return "\n".join(path.read_text() for path in DOCS)


def argv_variants(arguments: str) -> list[list[str]]:
    """The argument lists a synopsis stands for: optional [parts] included, one list per `a|b` alternative.

    A shell redirection ends the arguments; "…" stands for any command and names none."""
    tokens: list[list[str]] = []
    for token in arguments.replace("[", " ").replace("]", " ").split():
        if token == ">":
            break
        if token == "…":
            return []
        tokens.append([PLACEHOLDERS.get(choice, choice) for choice in token.split("|")])
    return [list(choices) for choices in itertools.product(*tokens)] if tokens else []


def test_the_docs_run_only_commands_and_options_that_bot_py_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    refused: set[str] = set()
    commands: set[str] = set()
    for arguments in INVOCATION.findall(docs_text()):
        for argv in argv_variants(arguments):
            commands.add(argv[0])
            try:
                parsed = bot.parse_args(argv)
            except SystemExit:
                refused.add(f"python bot.py {' '.join(argv)}: {capsys.readouterr().err.strip().splitlines()[-1]}")
                continue
            if parsed.command != argv[0]:
                refused.add(f"python bot.py {' '.join(argv)}: parsed as {parsed.command!r}")
    assert {"export", "forget", "purge", "audit"} <= commands  # the documents show every data protection command
    assert sorted(refused) == []


def manifest_slash_commands() -> dict[str, str]:
    """Each slash command of manifest.yml and its usage hint (read as text: the manifest is Slack's, not ours)."""
    commands, current = {}, None
    for line in (ROOT / "manifest.yml").read_text().splitlines():
        if match := re.match(r"\s*- command: (/\S+)", line):
            current = match.group(1)
            commands[current] = ""
        elif current and (match := re.match(r"\s*usage_hint: (.*)", line)):
            commands[current] = match.group(1)
    return commands


def test_the_docs_name_only_slash_commands_that_the_manifest_declares() -> None:
    declared = manifest_slash_commands()
    named = set(SLASH_COMMAND.findall(docs_text()))
    missing = sorted(
        f"{command} {word}".strip()
        for command, word in named
        if command not in declared or (word and word not in declared[command])
    )
    assert ("/privacy", "forget") in named
    assert missing == []


def test_the_docs_name_only_settings_that_env_example_documents() -> None:
    documented = set(DOCUMENTED_SETTING.findall((ROOT / ".env.example").read_text()))
    named = set(SETTING.findall(docs_text()))
    assert "RETENTION_DAYS" in named
    assert sorted(named - documented) == []


def heading_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces made hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_docs_links_lead_to_files_and_headings() -> None:
    broken = []
    for path in DOCS:
        for target in LINK.findall(path.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
            elif anchor and anchor not in {heading_anchor(h) for h in HEADING.findall(linked.read_text())}:
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []
