"""For listeners called alone, as Bolt would call them: a recorder standing for `ack` or `respond`, and a Slack
client that is never called."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

# Never called: the paths tested with it answer before reaching Slack's Web API (port 9 is discard).
UNUSED_CLIENT = AsyncWebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")


class Recorder:
    """Stands for Bolt's `ack` or `respond`: records the keyword arguments of each call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)
