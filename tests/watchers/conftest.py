from collections.abc import AsyncIterator

import httpx
import pytest

from watchers.base import new_http_client


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The watchers' real HTTP client, with a 1 s timeout so tests of silent servers stay quick."""
    client = new_http_client(httpx.Timeout(1.0))
    yield client
    await client.aclose()
