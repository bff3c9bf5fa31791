"""The running bot's side: the nightly purge is scheduled, and a run a kill interrupted is finished at the start."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.bot import BotLauncher, eventually
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from tests.support.world import write_watchers
from veilleur.core.keyed_hash import author_key, keyed_hash
from veilleur.core.mentions import Mention
from veilleur.storage.privacy_key import PrivacyKey
from veilleur.storage.retention import ErasureRecords
from veilleur.storage.store import Store


def bot_env(tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str, port: int) -> dict[str, str]:
    write_watchers(tmp_path / "watchers.toml", feeds, "news")
    return {"DATABASE_PATH": str(tmp_path / "veilleur.db"), "WATCHERS_FILE": str(tmp_path / "watchers.toml"),
            "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url, "SLACK_SIGNING_SECRET": signing_secret,
            "PORT": str(port), "LOG_LEVEL": "WARNING", "BOT_TIMEZONE": "Europe/Paris"}


async def test_the_purge_runs_every_night_at_half_past_three_in_the_bot_timezone(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str, free_port: int, launch_bot: BotLauncher
) -> None:
    bot = await launch_bot(bot_env(tmp_path, slack, feeds, signing_secret, free_port))
    job = bot.runtime.scheduler.get_job("privacy-purge")
    assert job is not None and job.max_instances == 1 and job.coalesce
    local = job.next_run_time.astimezone(bot.services.settings.bot_timezone)
    assert (local.hour, local.minute) == (3, 30)
    assert job.next_run_time - datetime.now(UTC) <= timedelta(days=1)


async def test_a_forget_a_kill_interrupted_is_finished_when_the_bot_starts(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str, free_port: int, launch_bot: BotLauncher
) -> None:
    store = Store.open(tmp_path / "veilleur.db")
    store.record_poll("news", "C0NEWS", [
        Mention(source="rss", external_id=f"{n}", url=f"https://news.example/{n}", text="tram", author_name=author)
        for n, author in enumerate(["Jeanne Canard", "Paul", "Jeanne Canard"])
    ], {})
    key_hash = keyed_hash(PrivacyKey.for_database(None, tmp_path / "veilleur.db").ensure(),
                          author_key("jeanne canard", None))
    ErasureRecords(store).start_forget(author="jeanne canard", source=None, author_hash=key_hash, reason="erasure",
                                       requested_by="cli", now=datetime.now(UTC))
    store.close()  # ... the process was killed here

    bot = await launch_bot(bot_env(tmp_path, slack, feeds, signing_secret, free_port))

    def finished() -> bool:
        return sql(bot.services.store).execute("select finished_at from erasures").fetchone()[0] is not None

    await eventually(finished)
    authors = sql(bot.services.store).execute("select author_name from mentions").fetchall()
    assert authors == [("Paul",)]
    assert sql(bot.services.store).execute("select author from erasures").fetchall() == [(None,)]
