"""The buttons on a mention card, and its stance menu.

Dismiss marks the card as handled; the stance menu stores the team's correction (which the model never
overwrites) and redraws the card. Flag belongs to handlers/escalation.py, Draft to handlers/draft.py and Summarize
to handlers/summarize.py. The Open button is a link, but Slack still sends its click.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.i18n import t
from veilleur.slack.cards import STANCE_ACTION
from veilleur.storage.audit import AuditLog
from veilleur.watching.mention_cards import MentionCards

if TYPE_CHECKING:
    from veilleur.services import Services


async def handle_open(ack: AsyncAck) -> None:
    await ack()


async def handle_dismiss(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, *, cards: MentionCards,
    lang: str,
) -> None:
    await ack()
    channel, ts, user = body["container"]["channel_id"], body["container"]["message_ts"], body["user"]["id"]
    card = cards.dismiss(channel, ts, user)
    if card is None:
        await respond(text=t("card.not_ours", lang), response_type="ephemeral", replace_original=False)
        return
    await client.chat_update(channel=channel, ts=ts, **card)


async def handle_stance(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, *, cards: MentionCards,
    audit: AuditLog, lang: str,
) -> None:
    await ack()
    channel, ts, user = body["container"]["channel_id"], body["container"]["message_ts"], body["user"]["id"]
    action = next((a for a in body.get("actions", ()) if a.get("action_id") == STANCE_ACTION), {})
    mention, _, stance = ((action.get("selected_option") or {}).get("value") or "").partition(":")
    card = cards.correct_stance(channel, ts, int(mention), stance, user) if mention.isdigit() else None
    if card is None:
        await respond(text=t("card.not_ours", lang), response_type="ephemeral", replace_original=False)
        return
    audit.record(user, "stance", f"mention:{mention}:{stance}")
    await client.chat_update(channel=channel, ts=ts, **card)


def register(app: AsyncApp, services: Services) -> None:
    app.action("mention_open")(handle_open)
    app.action("mention_dismiss")(partial(handle_dismiss, cards=services.cards, lang=services.settings.bot_language))
    app.action(STANCE_ACTION)(
        partial(handle_stance, cards=services.cards, audit=services.audit, lang=services.settings.bot_language)
    )
