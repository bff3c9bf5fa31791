"""The bot harness: the whole bot in-process (`Runtime`), in HTTP mode or Socket Mode, against the fake Slack, the
playback server and the fake LLM; signed requests in as Slack sends them, and what Slack got read back.

The `launch_bot` fixture (tests/conftest.py) starts one with given settings and stops it after the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from tests.support.feed_server import FeedServer
from tests.support.openai_api import FakeOpenAI
from tests.support.slack_api import FakeSlack, Message
from tests.support.slack_requests import SignedRequest, SlackRequests, send
from tests.support.sql import sql
from tests.support.world import CARDS
from veilleur.core.mentions import Mention
from veilleur.core.settings import parse_settings
from veilleur.escalation.service import EscalationService
from veilleur.runtime import Runtime
from veilleur.services import Services
from veilleur.storage.escalations import Escalation

T = TypeVar("T")


async def eventually(check: Callable[[], T], within: float = 5.0) -> T:
    """Wait until `check()` is truthy (the bot works after acknowledging Slack), and return it."""
    async with asyncio.timeout(within):
        # Polling on purpose: the state lives in the bot's database and the fake Slack, which offer no event.
        while not (value := check()):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return value


@dataclass
class Card:
    """A mention card the bot posted."""

    mention_id: int
    channel: str
    ts: str
    message: Message


@dataclass
class Bot:
    """A running bot and the fakes around it. `url` is its Slack endpoint in HTTP mode ("" in Socket Mode)."""

    runtime: Runtime
    url: str
    slack: FakeSlack
    requests: SlackRequests
    feeds: FeedServer
    llm: FakeOpenAI | None = None
    cards: dict[str, Card] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        assert self.runtime.services is not None
        return self.runtime.services

    # ---- requests in, as Slack sends them ----

    async def send(self, request: SignedRequest) -> httpx.Response:
        """Post a signed request to the bot; Slack's HTTP answer (the ack), which must be a 200."""
        response = await send(self.url, request)
        assert response.status_code == 200, response.text
        return response

    async def slash(self, command: str, text: str = "", **fields: str) -> tuple[httpx.Response, str]:
        """Send a slash command; returns Slack's HTTP answer (the ack) and the response_url used."""
        response_url = self.slack.response_url()
        response = await self.send(self.requests.slash_command(command, text, response_url=response_url, **fields))
        return response, response_url

    async def react(self, card: Card, user: str = "U0ANN", reaction: str = "rotating_light") -> None:
        await self.send(self.requests.reaction_added(reaction, card.channel, card.ts, user=user))

    async def click(self, action_id: str, escalation: Escalation, user: str) -> None:
        """Click a button of an escalation's message."""
        message = self.escalation_message(escalation)
        action = {"action_id": action_id, "block_id": "escalation_actions", "value": str(escalation.id)}
        await self.send(self.requests.block_actions([action], message=message, channel=escalation.channel, user=user))

    async def submit(self, view_call: int, values: dict[str, Any], user: str) -> httpx.Response:
        """Submit the modal opened by the `view_call`-th views.open, with `values` typed in."""
        view = self.slack.calls_to("views.open")[view_call].args["view"]
        request = self.requests.view_submission(view["callback_id"], values, view["private_metadata"], user=user)
        return await self.send(request)

    # ---- what Slack got ----

    async def post_card(self, mention: Mention, watcher: str = "hn", channel: str = CARDS) -> tuple[int, Message]:
        """Store `mention` as found by `watcher` and wait for the outbox to post its card."""
        store, outbox = self.services.store, self.services.outbox
        store.record_poll(watcher, channel, [mention], {}, backfill=1)
        mention_id = next(sql(store).query("select max(id) as id from mentions"))["id"]
        outbox.wake()
        before = len(self.slack.calls_to("chat.postMessage"))
        await self.slack.wait_for_calls("chat.postMessage", before + 1, within=10)
        return mention_id, self.slack.posted_messages(channel)[-1]

    def responses_to(self, response_url: str) -> list[dict[str, Any]]:
        response_id = response_url.rsplit("/", 1)[1]
        return [post.body for post in self.slack.responses if post.id == response_id]

    async def reply(self, count: int = 1) -> str:
        """The text of the `count`-th private answer that reached a response_url."""
        responses = await self.slack.wait_for_response(count)
        body = responses[count - 1].body
        assert body.get("response_type", "ephemeral") == "ephemeral"
        return body["text"]

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [m for m in self.slack.posted_messages(channel) if m.get("thread_ts") == ts and m["ts"] != ts]

    # ---- escalations ----

    @property
    def escalations(self) -> EscalationService:
        return self.services.escalations

    def latest(self, mention_id: int) -> Escalation | None:
        return self.escalations.records.latest_for_mention(mention_id)

    def escalation_message(self, escalation: Escalation) -> Message:
        (message,) = [m for m in self.slack.posted_messages(escalation.channel) if m["ts"] == escalation.message_ts]
        return message


BotFactory = Callable[..., Awaitable[Bot]]


class BotLauncher:
    """Starts bots with given settings, in-process, against these fakes; `stop()` stops those still running."""

    def __init__(self, slack: FakeSlack, feeds: FeedServer, requests: SlackRequests) -> None:
        self.slack, self.feeds, self.requests = slack, feeds, requests
        self._runtimes: list[Runtime] = []

    async def __call__(self, env: Mapping[str, str], *, llm: FakeOpenAI | None = None) -> Bot:
        """Start the bot with the settings `env`: HTTP mode on PORT, Socket Mode with SLACK_APP_TOKEN."""
        settings = parse_settings(dict(env))
        runtime = Runtime(settings, host="127.0.0.1")
        await runtime.start()
        self._runtimes.append(runtime)
        url = "" if settings.socket_mode else f"http://127.0.0.1:{settings.port}/slack/events"
        return Bot(runtime, url, self.slack, self.requests, self.feeds, llm)

    async def stop(self) -> None:
        for runtime in self._runtimes:
            if runtime.scheduler is not None and runtime.scheduler.running:  # a restart test stopped one itself
                await runtime.stop()
