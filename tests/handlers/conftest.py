"""The whole bot in HTTP mode, in-process, with the fake Slack Web API, a fake OpenAI-compatible LLM, and the source
playback server standing in for Hacker News (whose watcher fetches a mention's conversation)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.feed_server import FeedServer
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack, Message
from tests.fakes.slack_requests import SignedRequest, SlackRequests, send
from tests.sql import sql
from veilleur.core.mentions import Mention
from veilleur.core.settings import parse_settings
from veilleur.runtime import Runtime

CARDS = "C0CARDS"
STORY = "100"


@dataclass
class Bot:
    runtime: Runtime
    url: str
    slack: FakeSlack
    llm: FakeOpenAI
    feeds: FeedServer
    requests: SlackRequests

    async def send(self, request: SignedRequest) -> httpx.Response:
        return await send(self.url, request)

    async def post_card(self, mention: Mention) -> tuple[int, Message]:
        """Store `mention` as found by the hn watcher and wait for the outbox to post its card."""
        services = self.runtime.services
        assert services is not None and services.outbox is not None
        services.store.record_poll("hn", CARDS, [mention], {}, backfill=1)
        mention_id = next(sql(services.store).query("select max(id) as id from mentions"))["id"]
        services.outbox.wake()
        before = len(self.slack.calls_to("chat.postMessage"))
        await self.slack.wait_for_calls("chat.postMessage", before + 1, within=10)
        return mention_id, self.slack.posted_messages(CARDS)[-1]

    async def slash(self, command: str, text: str = "", **fields: str) -> tuple[httpx.Response, str]:
        """Send a slash command; returns Slack's HTTP answer (the ack) and the response_url used."""
        response_url = self.slack.response_url()
        response = await self.send(self.requests.slash_command(command, text, response_url=response_url, **fields))
        return response, response_url

    def responses_to(self, response_url: str) -> list[dict[str, Any]]:
        response_id = response_url.rsplit("/", 1)[1]
        return [post.body for post in self.slack.responses if post.id == response_id]


def hn_item(item_id: int, author: str, text: str, children: list[dict[str, Any]] | None = None,
            title: str | None = None) -> dict[str, Any]:
    item = {"id": item_id, "type": "story" if title else "comment", "author": author, "text": f"<p>{text}</p>",
            "created_at_i": 1_700_000_000 + item_id, "children": children or []}
    if title:
        item["title"] = title
    return item


def story_mention(item_id: str = STORY, text: str = "The city will close the tram line for two years") -> Mention:
    return Mention(source="hackernews", external_id=item_id, url=f"https://news.ycombinator.com/item?id={item_id}",
                   text=text, title="Tram line closing", author_handle="cityhall", conversation_id=STORY)


BotFactory = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def make_bot(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, openai_api: FakeOpenAI, signing_secret: str, free_port: int
) -> AsyncIterator[BotFactory]:
    """Start the bot with extra settings; `llm=False` leaves the LLM unconfigured."""
    runtimes: list[Runtime] = []

    async def start(*, llm: bool = True, authors: str = "", **env: str) -> Bot:
        (tmp_path / "watchers.toml").write_text(
            f'[[watcher]]\nname = "hn"\nsource = "hackernews"\nbase_url = "{feeds.base_url}"\nquery = "tram"\n'
            f'channel = "{CARDS}"\ninterval = "1h"\n\n{authors}'
        )
        feeds.add("/api/v1/search_by_date", json.dumps({"hits": [], "nbPages": 0}), content_type="application/json")
        values = {
            "DATABASE_PATH": str(tmp_path / "veilleur.db"), "WATCHERS_FILE": str(tmp_path / "watchers.toml"),
            "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url, "SLACK_SIGNING_SECRET": signing_secret,
            "PORT": str(free_port), "LOG_LEVEL": "WARNING",
        }
        if llm:
            values |= {"OPENAI_BASE_URL": openai_api.api_url, "OPENAI_API_KEY": "sk-test"}
        runtime = Runtime(parse_settings(values | env), host="127.0.0.1")
        await runtime.start()
        runtimes.append(runtime)
        return Bot(runtime, f"http://127.0.0.1:{free_port}/slack/events", slack, openai_api, feeds,
                   SlackRequests(signing_secret, slack))

    yield start
    for runtime in runtimes:
        await runtime.stop()


def serve_story(feeds: FeedServer, comments: list[tuple[str, str]]) -> None:
    """The Hacker News discussion of the story: the story, then one comment per (author, text)."""
    children = [hn_item(200 + n, author, text) for n, (author, text) in enumerate(comments)]
    story = hn_item(int(STORY), "cityhall", "The city will close the tram line for two years", children,
                    title="Tram line closing")
    feeds.add(f"/api/v1/items/{STORY}", json.dumps(story), content_type="application/json")
