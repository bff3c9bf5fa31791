"""Shared fixtures: the fake Slack, feed and OpenAI-compatible servers, on ephemeral 127.0.0.1 ports per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

pytest.register_assert_rewrite("tests.support")  # their assertions explain themselves like the tests' own

from tests.support import free_port as find_free_port  # noqa: E402  (after the assert-rewrite registration)
from tests.support.bot import BotLauncher  # noqa: E402
from tests.support.feed_server import FeedServer  # noqa: E402
from tests.support.openai_api import FakeOpenAI, LLMFactory  # noqa: E402
from tests.support.slack_api import FakeSlack  # noqa: E402
from tests.support.slack_requests import SlackRequests  # noqa: E402
from veilleur.assist.llm import LLM  # noqa: E402
from veilleur.core.settings import parse_settings  # noqa: E402
from veilleur.storage.store import Store  # noqa: E402


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def openai_api() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def signing_secret() -> str:
    return "8f742231b10e8888abcd99yyyzzz85a5"  # the example secret in Slack's request-signing docs


@pytest.fixture
def slack_requests(signing_secret: str, slack: FakeSlack) -> SlackRequests:
    """Signed request builder whose response_urls land in `slack.responses`."""
    return SlackRequests(signing_secret, slack)


@pytest.fixture
async def launch_bot(
    slack: FakeSlack, feeds: FeedServer, slack_requests: SlackRequests
) -> AsyncIterator[BotLauncher]:
    """`await launch_bot(env)`: the whole bot started in-process with these settings, stopped after the test."""
    launcher = BotLauncher(slack, feeds, slack_requests)
    yield launcher
    await launcher.stop()


@pytest.fixture
def free_port() -> int:
    return find_free_port()


@pytest.fixture
def store() -> Iterator[Store]:
    """A fresh in-memory database with every migration applied."""
    store = Store.open(":memory:")
    yield store
    store.close()



@pytest.fixture
async def make_llm(store: Store) -> AsyncIterator[LLMFactory]:
    """`make_llm(openai_api_or_None, **env)`: an LLM on the fake endpoint (None: no LLM), closed after the test."""
    made: list[LLM] = []

    def make(openai_api: FakeOpenAI | None, **env: str) -> LLM:
        if openai_api is not None:
            env = {"OPENAI_BASE_URL": openai_api.api_url, "OPENAI_API_KEY": "sk-test", **env}
        llm = LLM(parse_settings(env), store)
        made.append(llm)
        return llm

    yield make
    for llm in made:
        await llm.aclose()
