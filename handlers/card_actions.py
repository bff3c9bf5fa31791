"""The buttons on a mention card.

Dismiss marks the card as handled. Draft, Flag and Summarize arrive with their own issues; until then they
answer, only to the person who clicked, that the feature is not available yet. The Open button is a link, but
Slack still sends its click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

import cards
from i18n import format_datetime, t
from store import utcnow

if TYPE_CHECKING:
    from runtime import Services

COMING_SOON = {"mention_draft": "draft", "mention_flag": "flag", "mention_summarize": "summarize"}


def register(app: AsyncApp, services: Services) -> None:
    lang = services.settings.bot_language

    async def not_yet(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(
            text=cards.not_available_yet(COMING_SOON[action["action_id"]], lang),
            response_type="ephemeral",
            replace_original=False,
        )

    async def open_link(ack: AsyncAck) -> None:
        await ack()

    async def dismiss(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        await ack()
        channel, ts, user = body["container"]["channel_id"], body["container"]["message_ts"], body["user"]["id"]
        card = services.store.card_for_message(channel, ts)
        if card is None or card.mention_id is None:
            await respond(text=t("card.not_ours", lang), response_type="ephemeral", replace_original=False)
            return
        services.store.dismiss_card(card.id, user)
        status = t(
            "card.dismissed",
            lang,
            user=f"<@{user}>",
            time=format_datetime(utcnow(), services.settings.bot_timezone, lang),
        )
        message = cards.mention_card(
            services.store.mention(card.mention_id),
            mention_id=card.mention_id,
            watcher=card.watcher,
            tz=services.settings.bot_timezone,
            lang=lang,
            status=status,
        )
        await client.chat_update(channel=channel, ts=ts, **message)

    for action_id in COMING_SOON:
        app.action(action_id)(not_yet)
    app.action("mention_open")(open_link)
    app.action("mention_dismiss")(dismiss)
