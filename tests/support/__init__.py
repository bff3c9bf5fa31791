"""What the tests share: real servers on 127.0.0.1 that play Slack, the web and an LLM, the bot harness, and the
checks every message is held to. Test modules import from here, never from each other.

- `slack_api.FakeSlack`: the Slack Web API, `response_url` receivers and a Socket Mode WebSocket.
- `feed_server.FeedServer`: feeds and API payloads with conditional GET, delays, hangs, redirects.
- `openai_api.FakeOpenAI`: an OpenAI-compatible chat API.
- `slack_requests.SlackRequests`: signed requests as Slack sends them to a Bolt app in HTTP mode.
- `database_lock.locked_database`: another process holding the database's write lock.
- `bot.Bot`: the whole bot in-process, in HTTP mode or Socket Mode, against the fakes (fixture `launch_bot`).
- `cli`: `bot.py` as a child process (`run_cli`, `BotProcess`) and its environment (`env_for`).
- `world`: the feeds, watcher files and Hacker News story end-to-end tests watch.
- `digest.DigestRun`: the digest side of the bot alone, over a database file.
- `block_kit`: Block Kit's limits, and hostile outside text kept inert.
- `listeners`: a recorder for `ack` and `respond`, for a listener called alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from types import TracebackType
from typing import Self

from aiohttp import web


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (another process may still take it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """An aiohttp app on an ephemeral 127.0.0.1 port; subclasses add routes in `build_app`.

    `stopping` is set when `stop()` begins, so handlers that wait on purpose (delays, hangs, endless bodies)
    can give up at once instead of holding shutdown.
    """

    def __init__(self) -> None:
        self.port = 0
        self.stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.stopping.clear()
        # No access log: the benchmark sends thousands of requests through these servers.
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, backlog=1024).start()

    async def stop(self) -> None:
        self.stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def sleep_unless_stopping(self, seconds: float | None) -> None:
        """Wait `seconds` (None: forever), but return as soon as the server starts stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
