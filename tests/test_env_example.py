"""`.env.example` documents every variable the code reads, and only those: the settings (read through `get` in
veilleur/core/settings.py) and the source credentials the watchers read (`env.get("NAME")`, `NAME_ENV = "…"`)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = [ROOT / "bot.py", *sorted((ROOT / "veilleur").rglob("*.py")), *sorted((ROOT / "watchers").glob("*.py"))]
# get("NAME"), _int(get, "NAME", …), context.env.get("NAME"), TOKEN_ENV = "NAME"
READ = re.compile(r"""(?:\bget\(|\(get,\s*|\benv\.get\(|_ENV\s*=\s*)"([A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{4,})"[,)\s]""")


def read_by_the_code() -> set[str]:
    return {name for path in CODE for name in READ.findall(path.read_text(encoding="utf-8"))}


def documented() -> set[str]:
    return set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.MULTILINE))


def test_every_variable_the_code_reads_is_in_env_example_and_nothing_else() -> None:
    read = read_by_the_code()
    assert {"SLACK_BOT_TOKEN", "REDDIT_CLIENT_ID", "BLUESKY_APP_PASSWORD", "MASTODON_ACCESS_TOKEN"} <= read
    assert read - documented() == set(), "document these in .env.example"
    assert documented() - read == set(), "nothing reads these"
