"""Telling one person something where only they see it: an ephemeral message, or an ephemeral ack."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


async def ephemeral(ack: AsyncAck, text: str) -> None:
    """Acknowledge a slash command with a message only its author sees."""
    await ack(response_type="ephemeral", text=text)


async def tell_privately(
    client: AsyncWebClient, channel: str | None, user: str, text: str, *, else_direct_message: bool
) -> None:
    """A message only `user` sees in `channel`. The bot may not be in that channel: with `else_direct_message`
    the person gets it in a direct message instead (also when there is no channel), else it is not sent."""
    if channel:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as error:
            log.info("could not answer %s in %s: %s", user, channel, error.response.get("error"))
    if else_direct_message:
        await client.chat_postMessage(channel=user, text=text)
