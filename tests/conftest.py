"""Shared fixtures: the fake Slack, feed and OpenAI-compatible servers, on ephemeral 127.0.0.1 ports per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from tests.fakes import free_port as find_free_port
from tests.fakes.feed_server import FeedServer
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SlackRequests
from veilleur.assist.llm import LLM
from veilleur.core.settings import parse_settings
from veilleur.storage.store import Store


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
def free_port() -> int:
    return find_free_port()


@pytest.fixture
def store() -> Iterator[Store]:
    """A fresh in-memory database with every migration applied."""
    store = Store.open(":memory:")
    yield store
    store.close()


LLMFactory = Callable[..., LLM]


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
