"""The buttons on a mention card.

Dismiss marks the card as handled; Flag belongs to handlers/escalation.py, Draft to handlers/draft.py and Summarize
to handlers/summarize.py. The Open button is a link, but Slack still sends its click.
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


def register(app: AsyncApp, services: Services) -> None:
    lang = services.settings.bot_language

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

    app.action("mention_open")(open_link)
    app.action("mention_dismiss")(dismiss)
