"""The whole bot in HTTP mode, in-process, with the fake Slack Web API, a fake OpenAI-compatible LLM, and the source
playback server standing in for Hacker News (whose watcher fetches a mention's conversation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bot import Bot, BotFactory, BotLauncher
from tests.support.feed_server import FeedServer
from tests.support.openai_api import FakeOpenAI
from tests.support.slack_api import FakeSlack
from tests.support.world import write_hn_watcher


@pytest.fixture
def make_bot(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, openai_api: FakeOpenAI, signing_secret: str, free_port: int,
    launch_bot: BotLauncher,
) -> BotFactory:
    """Start the bot with the Hacker News watcher "hn" and extra settings; `llm=False` leaves the LLM unconfigured;
    `authors` is TOML added to the watchers file; `subject` is the watcher's."""

    async def start(*, llm: bool = True, authors: str = "", subject: str | None = None, **env: str) -> Bot:
        write_hn_watcher(tmp_path / "watchers.toml", feeds, authors, subject=subject)
        values = {
            "DATABASE_PATH": str(tmp_path / "veilleur.db"), "WATCHERS_FILE": str(tmp_path / "watchers.toml"),
            "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url, "SLACK_SIGNING_SECRET": signing_secret,
            "PORT": str(free_port), "LOG_LEVEL": "WARNING",
        }
        if llm:
            values |= {"OPENAI_BASE_URL": openai_api.api_url, "OPENAI_API_KEY": "sk-test"}
        return await launch_bot(values | env, llm=openai_api)

    return start
