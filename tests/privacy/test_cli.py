"""`bot.py purge` and `bot.py forget` as an operator runs them: real processes on a database file, killed with -9
halfway through and run again."""

import asyncio
import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import BotProcess, env_for, run_cli
from tests.support.seed import seed_mentions
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from veilleur.storage.privacy_key import KEY_FILE
from veilleur.storage.store import Store

OLD = datetime.now(UTC) - timedelta(days=120)


def seeded(workdir: Path, count: int, **options: object) -> Path:
    """A database in `workdir` with `count` mentions collected 120 days ago, and a watchers file."""
    (workdir / "watchers.toml").write_text(
        '[[author]]\nhandle = "@Ann"\nlabels = ["troll"]\n\n[[author]]\nname = "Bob"\nlabels = ["elected"]\n'
    )
    store = Store.open(workdir / "veilleur.db")
    try:
        seed_mentions(store, count, first_seen=OLD, **options)
    finally:
        store.close()
    return workdir / "veilleur.db"


def query(db_path: Path, sql_text: str) -> list[tuple]:
    with closing(sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)) as connection:
        return connection.execute(sql_text).fetchall()


def files(workdir: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(workdir.iterdir())}


async def test_purge_says_what_it_erased_in_the_bot_language(tmp_path: Path) -> None:
    db_path = seeded(tmp_path, 30)
    code, out, err = await run_cli(tmp_path, env_for(tmp_path, None, BOT_LANGUAGE="fr"), "purge")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Purgé ce qui a été collecté avant le ")
    assert "- 30 mentions (leur texte, leur auteur et leur lien)" in lines
    assert "- 30 messages du bot dans Slack, mis en file pour être masqués" in lines
    assert query(db_path, "select count(*) from mentions") == [(0,)]

    code, out, _ = await run_cli(tmp_path, env_for(tmp_path, None), "purge")
    assert code == 0 and out.startswith("Nothing to purge: nothing collected before ")


async def test_a_dry_run_purge_says_what_it_would_erase_and_changes_no_file(tmp_path: Path) -> None:
    seeded(tmp_path, 12)
    before = files(tmp_path)
    code, out, err = await run_cli(tmp_path, env_for(tmp_path, None), "purge", "--older-than", "30", "--dry-run")
    assert code == 0, err
    assert out.splitlines()[0].startswith("Dry run, nothing changed. A purge of what was collected before ")
    assert "- 12 mentions (their text, author and link)" in out
    assert files(tmp_path) == before and KEY_FILE not in before


async def test_forget_says_what_it_erased_and_which_author_tables_to_remove(tmp_path: Path, slack: FakeSlack) -> None:
    db_path = seeded(tmp_path, 20, author=lambda n: "ann" if n % 4 == 0 else "carl")
    code, out, err = await run_cli(tmp_path, env_for(tmp_path, slack), "forget", "--author", "@ANN")
    assert code == 0, err
    assert out.splitlines()[:4] == [
        "Erased what Veilleur held about @ANN (every source):",
        "- 5 mentions (their text, author and link)",
        "- 5 cards",
        "- 5 places in stories",
    ]
    assert "Their future posts are dropped at collection (every source): never stored, never posted." in out
    assert (f"The watchers file {tmp_path / 'watchers.toml'} labels this author in 1 [[author]] table: remove it,"
            " Veilleur does not edit that file.\n[[author]]\nhandle = \"@Ann\"\nlabels = [\"troll\"]") in out
    assert query(db_path, "select count(*) from mentions where author_handle = 'ann'") == [(0,)]
    assert query(db_path, "select count(*) from deliveries where kind = 'removal'") == [(5,)]


async def test_forgetting_an_unknown_author_is_an_answer(tmp_path: Path) -> None:
    seeded(tmp_path, 3)
    code, out, err = await run_cli(tmp_path, env_for(tmp_path, None), "forget", "--author", "nobody",
                                   "--source", "bluesky", "--reason", "objection")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Nothing held about nobody (bluesky only).",
        "Their future posts are dropped at collection (bluesky only): never stored, never posted.",
    ]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("purge", "--older-than", "ninety"), "argument --older-than: give a whole number of days from 1 to 3650"),
        (("purge", "--older-than", "0"), "argument --older-than: give a whole number of days from 1 to 3650"),
        (("forget",), "the following arguments are required: --author"),
        (("forget", "--author", " @ "), "argument --author: give the author's handle"),
        (("forget", "--author", "ann", "--source", "myspace"), "argument --source: invalid choice: 'myspace'"),
    ],
)
async def test_a_bad_argument_is_one_line_saying_what_is_wrong(
    tmp_path: Path, args: tuple[str, ...], complaint: str
) -> None:
    code, out, err = await run_cli(tmp_path, env_for(tmp_path, None), *args)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert complaint in line and line.endswith("(see bot.py " + args[0] + " --help)")


async def test_a_damaged_key_file_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    seeded(tmp_path, 1)
    (tmp_path / KEY_FILE).write_text("0123\n")
    code, _, err = await run_cli(tmp_path, env_for(tmp_path, None), "once")
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line == (f"veilleur: configuration error: the privacy key {tmp_path / KEY_FILE} is damaged (too short):"
                    " restore it from its backup")


# ---- kill -9 halfway --------------------------------------------------------------------------------------------


async def killed_halfway(workdir: Path, *args: str) -> None:
    """Start `bot.py <args>` and SIGKILL it once its run has erased some mentions and not all."""
    db_path = workdir / "veilleur.db"
    process = BotProcess(workdir, env_for(workdir, None), *args)
    process.start()
    try:
        async with asyncio.timeout(60):
            while True:
                if not process.running:
                    pytest.fail("the run ended before it could be killed: seed more mentions")
                try:
                    progress = query(db_path, "select removed from erasures where finished_at is null")
                except sqlite3.OperationalError:  # the database is being created or locked for a moment
                    progress = []
                if progress and json.loads(progress[0][0])["mentions"] > 0:
                    break
                await asyncio.sleep(0.01)
        assert process.kill()
    finally:
        process.kill()
        await process.ended()


@pytest.mark.parametrize(
    ("args", "author", "resumed"),
    [
        (("purge",), None, "Finished a purge of what was collected before "),
        (("forget", "--author", "ann"), "ann", "Finished forgetting ann (every source), which an interruption"),
    ],
)
async def test_a_run_killed_halfway_is_finished_by_the_next_and_a_third_changes_nothing(
    tmp_path: Path, args: tuple[str, ...], author: str | None, resumed: str
) -> None:
    count = 30_000
    db_path = seeded(tmp_path, count, author=lambda n: "ann")
    await killed_halfway(tmp_path, *args)
    left = query(db_path, "select count(*) from mentions")[0][0]
    assert 0 < left < count
    assert query(db_path, "select kind, author from erasures where finished_at is null") == [(args[0], author)]

    code, out, err = await run_cli(tmp_path, env_for(tmp_path, None), *args, within=120)
    assert code == 0, err
    assert out.startswith(resumed), out
    assert f"- {count} mentions (their text, author and link)" in out.splitlines()
    assert query(db_path, "select count(*) from mentions") == [(0,)]
    assert query(db_path, "select sum(mentions) from mention_counts") == [(count,)]
    assert query(db_path, "select count(*), count(finished_at), count(author) from erasures") == [(1, 1, 0)]
    store = Store.open(db_path)
    try:
        assert sql(store).execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        store.close()

    before = files(tmp_path)
    code, out, _ = await run_cli(tmp_path, env_for(tmp_path, None), *args)
    assert code == 0 and out.startswith(("Nothing to purge", "Nothing held about ann"))
    assert files(tmp_path) == before
