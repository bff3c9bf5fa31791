"""/summarize, the "Summarize thread" message shortcut, @veilleur in a thread, and the card's Summarize button.

Each is acknowledged at once with a "working on it" message that the summary then replaces: through the
response_url for the command and the shortcut (only the requester sees it), in the thread for a mention of the
bot and for the card's button (the team sees it there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.assist_replies import AckFirst, EphemeralReply, Reply, ThreadReply, audit_subject, is_retry
from veilleur.assist.conversations import (
    DEFAULT_WINDOW,
    ConversationFetcher,
    Target,
    WindowRef,
    parse_conversation_target,
)
from veilleur.assist.summarize import Summarizer
from veilleur.assist.summary_cards import problem_message, summary_message, working_message
from veilleur.core.errors import UserError
from veilleur.slack.links import MessageRef
from veilleur.slack.targets import MentionRef
from veilleur.storage.audit import AuditLog

if TYPE_CHECKING:
    from veilleur.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Summaries:
    """What the summary listeners use; `pacing` is shared by them all."""

    conversations: ConversationFetcher
    summarizer: Summarizer
    audit: AuditLog
    lang: str
    pacing: AckFirst = field(default_factory=AckFirst)

    async def summarize_into(self, reply: Reply, target: Target, channel: str, user: str) -> None:
        """Read the conversation, summarise it, and show the summary (or why not) in place of "working"."""
        try:
            self.audit.record(user, "summarize", audit_subject(target, channel))
            await self.pacing.give_way()
            conversation = await self.conversations.for_target(target, channel)
            await self.pacing.give_way()
            if conversation.posts:
                summary = await self.summarizer.summarize(conversation)
                await self.pacing.give_way()
                message = summary_message(summary, self.lang)
            else:
                message = problem_message("summarize.empty", self.lang)
        except UserError as problem:
            message = problem_message(problem.key, self.lang, **problem.params)
        except Exception:
            log.exception("summary of %s failed", target)
            message = problem_message("assist.failed", self.lang)
        await reply.show(message)


async def handle_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, *, summaries: Summaries
) -> None:
    text = command.get("text", "").strip()
    target = parse_conversation_target(text) if text else WindowRef(DEFAULT_WINDOW)
    if target is None or " " in text:
        await ack(response_type="ephemeral", **problem_message("summarize.usage", summaries.lang))
        return
    await ack(response_type="ephemeral", **working_message("summary", summaries.lang))
    summaries.pacing.acked()
    await summaries.summarize_into(EphemeralReply(respond), target, command["channel_id"], command["user_id"])


async def handle_shortcut(
    ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond, *, summaries: Summaries
) -> None:
    await ack()
    summaries.pacing.acked()
    message, channel = shortcut["message"], shortcut["channel"]["id"]
    reply = EphemeralReply(respond)
    await reply.working(working_message("summary", summaries.lang))
    target = MessageRef(channel, message.get("thread_ts") or message["ts"])
    await summaries.summarize_into(reply, target, channel, shortcut["user"]["id"])


async def handle_app_mention(
    event: dict[str, Any], client: AsyncWebClient, request: AsyncBoltRequest, *, summaries: Summaries
) -> None:
    summaries.pacing.acked()  # Bolt acknowledges events by itself
    if is_retry(request.headers):
        return
    channel, thread_ts = event["channel"], event.get("thread_ts")
    if not thread_ts:
        hint = problem_message("summarize.mention_hint", summaries.lang)
        await ThreadReply(client, channel, event["ts"]).show(hint)
        return
    reply = ThreadReply(client, channel, thread_ts)
    await reply.working(working_message("summary", summaries.lang))
    await summaries.summarize_into(reply, MessageRef(channel, thread_ts), channel, event["user"])


async def handle_card_button(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, *, summaries: Summaries
) -> None:
    await ack()
    summaries.pacing.acked()
    channel = body["container"]["channel_id"]
    card = body.get("message") or {}
    reply = ThreadReply(client, channel, card.get("thread_ts") or body["container"]["message_ts"])
    await reply.working(working_message("summary", summaries.lang))
    await summaries.summarize_into(reply, MentionRef(int(action["value"])), channel, body["user"]["id"])


def register(app: AsyncApp, services: Services) -> None:
    summaries = Summaries(services.conversations, services.summarizer, services.audit, services.settings.bot_language)
    app.command("/summarize")(partial(handle_command, summaries=summaries))
    app.message_shortcut("summarize_thread")(partial(handle_shortcut, summaries=summaries))
    app.event("app_mention")(partial(handle_app_mention, summaries=summaries))
    app.action("mention_summarize")(partial(handle_card_button, summaries=summaries))
