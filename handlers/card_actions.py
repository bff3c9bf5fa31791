"""The buttons on a mention card.

Dismiss marks the card as handled; Flag belongs to handlers/escalation.py, Draft to handlers/draft.py and Summarize
to handlers/summarize.py. The Open button is a link, but Slack still sends its click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.i18n import t

if TYPE_CHECKING:
    from veilleur.services import Services


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
        await client.chat_update(channel=channel, ts=ts, **services.stories.current_card(card))

    app.action("mention_open")(open_link)
    app.action("mention_dismiss")(dismiss)
