"""Where /summarize and /draft show their answers: a "working on it" message first, then the answer in its place.

Either through the response_url of a command, shortcut or button (ephemeral: only the requester sees it), or as
a message the bot posts in a Slack thread and then updates (the team sees it there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.assist.conversations import Target, WindowRef
from veilleur.slack.links import MessageRef
from veilleur.slack.targets import MentionRef

log = logging.getLogger(__name__)
Message = Mapping[str, Any]
# Background work waits until no request was acknowledged for this long, but never more than PATIENCE in all.
QUIET_SECONDS = 0.02
PATIENCE_SECONDS = 1.0


class Reply(Protocol):
    async def working(self, message: Message) -> None: ...

    async def show(self, message: Message) -> None: ...


class EphemeralReply:
    """Through a response_url. `replaceable`: the working message can be replaced (a command's or shortcut's own
    answer, or a message holding the button); a card's button would replace the card, so it adds a message."""

    def __init__(self, respond: AsyncRespond, *, replaceable: bool = True) -> None:
        self.respond = respond
        self.replaceable = replaceable

    async def working(self, message: Message) -> None:
        await self.respond(response_type="ephemeral", replace_original=self.replaceable, **message)

    async def show(self, message: Message) -> None:
        await self.respond(response_type="ephemeral", replace_original=self.replaceable, **message)


class ThreadReply:
    """A message in a Slack thread, posted as "working on it" and then updated with the answer."""

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.ts: str | None = None

    async def working(self, message: Message) -> None:
        self.ts = await self._post(message)

    async def show(self, message: Message) -> None:
        if self.ts is None:
            self.ts = await self._post(message)
            return
        await self.client.chat_update(channel=self.channel, ts=self.ts, **message)

    async def permalink(self) -> str | None:
        if self.ts is None:
            return None
        try:
            return (await self.client.chat_getPermalink(channel=self.channel, message_ts=self.ts))["permalink"]
        except SlackApiError as error:
            log.warning("chat.getPermalink failed: %s", error.response.get("error"))
            return None

    async def _post(self, message: Message) -> str:
        response = await self.client.chat_postMessage(
            channel=self.channel, thread_ts=self.thread_ts, unfurl_links=False, unfurl_media=False, **message
        )
        return str(response["ts"])


def audit_subject(target: Target, channel: str | None = None) -> str:
    """What the audit log names as summarised or drafted: where it is, never what it says (`channel`: where a
    window of messages was read). A post's URL is left out: it can name its author, and the audit log is kept
    longer than mentions."""
    if isinstance(target, MentionRef):
        return f"mention:{target.mention_id}"
    if isinstance(target, MessageRef):
        return f"message:{target.channel}:{target.ts}"
    if isinstance(target, WindowRef):
        return f"channel:{channel}:{int(target.window.total_seconds() // 3600)}h"
    return "post-url"


def is_retry(headers: Mapping[str, Sequence[str]]) -> bool:
    """Slack sends an event again when our first answer was late or lost: it must not be acted on twice."""
    return bool(headers.get("x-slack-retry-num"))


class AckFirst:
    """Acknowledgements before background work, on the one event loop they share.

    Slack wants an answer within 3 seconds, and a burst of requests (20 people asking at once) is acknowledged one
    after the other. Summaries and drafts already under way would take the loop between those acks (measured: the
    99th percentile ack went from about 55 ms to 200-300 ms); instead, before each of their steps, they wait for a
    moment without acks, a short one, and only so long.
    """

    def __init__(self, quiet: float = QUIET_SECONDS, patience: float = PATIENCE_SECONDS) -> None:
        self.quiet = quiet
        self.patience = patience
        self._calm = asyncio.Event()
        self._calm.set()
        self._timer: asyncio.TimerHandle | None = None

    def acked(self) -> None:
        self._calm.clear()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self.quiet, self._calm.set)

    async def give_way(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._calm.wait(), self.patience)
