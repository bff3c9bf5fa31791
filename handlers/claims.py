"""False claims: the card's "False claim" button, `/claim` and the modal that marks one.

Anyone in the channel may mark a claim; closing it or recording its correction is for whoever marked it and for
the admins (ADMIN_USERS, ADMIN_GROUP, else the workspace's admins).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.private_replies import tell_privately
from veilleur.core.errors import UserError
from veilleur.core.i18n import t
from veilleur.slack.admin_access import AdminAccess
from veilleur.slack.markup import user_error_text
from veilleur.watching import claim_cards as ui
from veilleur.watching.claim_matching import propose_phrases
from veilleur.watching.claims import ClaimDraft, ClaimService

if TYPE_CHECKING:
    from veilleur.services import Services

Payload = dict[str, Any]


@dataclass(frozen=True)
class Claims:
    service: ClaimService
    access: AdminAccess
    lang: str
    # Redraws a mention's posted cards (StoryService.redraw_mention_cards): a card marked from says so.
    redraw_cards: Callable[[Collection[int]], None]

    def explain(self, error: UserError) -> str:
        return user_error_text(error, self.lang)


async def handle_card_button(
    ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient, respond: AsyncRespond, *, claims: Claims
) -> None:
    """Open the modal, prefilled with the post's text and the key phrases proposed from it."""
    await ack()
    mention_id = int(action["value"])
    if not claims.service.store.has_mention(mention_id):  # erased since the card was posted
        await respond(text=t("card.not_ours", claims.lang), response_type="ephemeral", replace_original=False)
        return
    mention = claims.service.store.mention(mention_id)
    text = "\n".join(part for part in (mention.title, mention.text) if part.strip())
    channel = (body.get("container") or {}).get("channel_id")
    metadata = json.dumps({"mention_id": mention_id})
    modal = ui.claim_modal(text, propose_phrases(text), channel=channel, private_metadata=metadata, lang=claims.lang)
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def handle_command(
    ack: AsyncAck, command: Payload, client: AsyncWebClient, *, claims: Claims
) -> None:
    verb, _, rest = command.get("text", "").strip().partition(" ")
    user, lang = command["user_id"], claims.lang
    if verb.lower() in ("", "help"):
        await ack(response_type="ephemeral", text=t("claim.usage", lang))
        return
    if verb.lower() == "list":
        await ack(response_type="ephemeral", **ui.claim_list(claims.service.listed(), lang=lang))
        return
    if verb.lower() in ("close", "correct"):
        number, _, correction = rest.strip().partition(" ")
        if not number.lstrip("#").isdigit():
            await ack(response_type="ephemeral", text=t("claim.usage", lang))
            return
        claim_id = int(number.lstrip("#"))
        admin = await claims.access.is_admin(user)
        try:
            if verb.lower() == "close":
                claims.service.close(claim_id, user=user, admin=admin)
                claims.redraw_cards(claims.service.records.mention_ids(claim_id))  # their cards no longer say so
                text = t("claim.closed", lang, id=claim_id)
            else:
                claims.service.correct(claim_id, correction, user=user, admin=admin)
                text = t("claim.corrected", lang, id=claim_id)
        except UserError as error:
            text = claims.explain(error)
        await ack(response_type="ephemeral", text=text)
        return
    await ack()
    text = command.get("text", "").strip()
    channel = command.get("channel_id", "")
    modal = ui.claim_modal(
        text, propose_phrases(text), channel=None if channel.startswith("D") else channel,
        private_metadata=json.dumps({}), lang=lang,
    )
    await client.views_open(trigger_id=command["trigger_id"], view=modal)


async def handle_submit(
    ack: AsyncAck, body: Payload, view: Payload, client: AsyncWebClient, *, claims: Claims
) -> None:
    values = view["state"]["values"]
    metadata = json.loads(view.get("private_metadata") or "{}")
    channel = _value(values, "channel", "channel", "selected_conversation") or ""
    draft = ClaimDraft(
        text=_value(values, "text", "value", "value") or "",
        phrases=_value(values, "phrases", "value", "value") or "",
        correction=_value(values, "correction", "value", "value") or "",
        channel=channel,
    )
    user = body["user"]["id"]
    try:
        claim = claims.service.mark(draft, user=user, mention_id=metadata.get("mention_id"))
    except UserError as error:
        block = "text" if error.key == "claim.empty" else "phrases"
        await ack(response_action="errors", errors={block: claims.explain(error)})
        return
    await ack()
    if metadata.get("mention_id") is not None:
        claims.redraw_cards([metadata["mention_id"]])
    await tell_privately(client, channel, user, t("claim.marked", claims.lang, id=claim.id, channel=f"<#{channel}>"),
                         else_direct_message=False)


def _value(values: Payload, block: str, action: str, key: str) -> str | None:
    value = (values.get(block) or {}).get(action) or {}
    found = value.get(key)
    return found if isinstance(found, str) else None


def register(app: AsyncApp, services: Services) -> None:
    claims = Claims(services.claims, AdminAccess(services.settings, services.slack), services.settings.bot_language,
                    services.stories.redraw_mention_cards)
    app.action("mention_claim")(partial(handle_card_button, claims=claims))
    app.command("/claim")(partial(handle_command, claims=claims))
    app.view(ui.CLAIM_MODAL)(partial(handle_submit, claims=claims))

