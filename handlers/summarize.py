"""/summarize, the "Summarize thread" message shortcut, @veilleur in a thread, and the card's Summarize button.

Each is acknowledged at once with a "working on it" message that the summary then replaces: through the
response_url for the command and the shortcut (only the requester sees it), in the thread for a mention of the
bot and for the card's button (the team sees it there).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.assist_replies import AckFirst, EphemeralReply, Reply, ThreadReply, is_retry
from veilleur.assist.conversations import (
    DEFAULT_WINDOW,
    ConversationError,
    ConversationFetcher,
    MentionRef,
    Target,
    WindowRef,
    parse_target,
)
from veilleur.assist.prompt_book import PromptBook
from veilleur.assist.summarize import Summarizer
from veilleur.assist.summary_cards import problem_message, summary_message, working_message
from veilleur.slack.links import MessageRef

if TYPE_CHECKING:
    from veilleur.services import Services

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    lang = services.settings.bot_language
    fetcher = ConversationFetcher(services.store, services.slack, services.watchers, services.authors)
    summarizer = Summarizer(services.llm, PromptBook(services.settings.prompts_dir), lang)
    pacing = AckFirst()

    async def summarize_into(reply: Reply, target: Target, channel: str) -> None:
        """Read the conversation, summarise it, and show the summary (or why not) in place of "working"."""
        try:
            await pacing.give_way()
            conversation = await fetcher.for_target(target, channel)
            await pacing.give_way()
            if conversation.posts:
                summary = await summarizer.summarize(conversation)
                await pacing.give_way()
                message = summary_message(summary, lang)
            else:
                message = problem_message("summarize.empty", lang)
        except ConversationError as problem:
            message = problem_message(problem.key, lang, **problem.params)
        except Exception:
            log.exception("summary of %s failed", target)
            message = problem_message("assist.failed", lang)
        await reply.show(message)

    async def command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = command.get("text", "").strip()
        target = parse_target(text) if text else WindowRef(DEFAULT_WINDOW)
        if target is None or " " in text:
            await ack(response_type="ephemeral", **problem_message("summarize.usage", lang))
            return
        await ack(response_type="ephemeral", **working_message("summary", lang))
        pacing.acked()
        await summarize_into(EphemeralReply(respond), target, command["channel_id"])

    async def shortcut(ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        pacing.acked()
        message, channel = shortcut["message"], shortcut["channel"]["id"]
        reply = EphemeralReply(respond)
        await reply.working(working_message("summary", lang))
        await summarize_into(reply, MessageRef(channel, message.get("thread_ts") or message["ts"]), channel)

    async def mentioned(event: dict[str, Any], client: AsyncWebClient, request: AsyncBoltRequest) -> None:
        pacing.acked()  # Bolt acknowledges events by itself
        if is_retry(request.headers):
            return
        channel, thread_ts = event["channel"], event.get("thread_ts")
        if not thread_ts:
            await ThreadReply(client, channel, event["ts"]).show(problem_message("summarize.mention_hint", lang))
            return
        reply = ThreadReply(client, channel, thread_ts)
        await reply.working(working_message("summary", lang))
        await summarize_into(reply, MessageRef(channel, thread_ts), channel)

    async def button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        pacing.acked()
        channel = body["container"]["channel_id"]
        card = body.get("message") or {}
        reply = ThreadReply(client, channel, card.get("thread_ts") or body["container"]["message_ts"])
        await reply.working(working_message("summary", lang))
        await summarize_into(reply, MentionRef(int(action["value"])), channel)

    app.command("/summarize")(command)
    app.message_shortcut("summarize_thread")(shortcut)
    app.event("app_mention")(mentioned)
    app.action("mention_summarize")(button)
