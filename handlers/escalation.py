"""Escalation listeners: the reaction, `/flag`, the message shortcut, the card's Flag button, and the buttons and
modals of the escalation message. Each parses the request, acks, calls the EscalationService and answers the
person privately; the service does the rest.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.i18n import t
from veilleur.escalation import cards as ui
from veilleur.escalation.service import (
    EscalationError,
    MentionIdTarget,
    NotAllowed,
    Resolved,
    Target,
    parse_flag_text,
    reaction_name,
)
from veilleur.slack.links import MessageRef
from veilleur.storage.escalations import Escalation, TransitionRefused
from veilleur.storage.store import utcnow

if TYPE_CHECKING:
    from veilleur.services import Services

log = logging.getLogger(__name__)
Payload = dict[str, Any]

ANSWERABLE = ("open", "acknowledged")


def register(app: AsyncApp, services: Services) -> None:
    service = services.escalations
    lang = services.settings.bot_language
    emojis = frozenset(services.settings.escalation_emoji)

    async def reply(respond: AsyncRespond, text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    def explain(error: EscalationError | NotAllowed | TransitionRefused) -> str:
        """What to tell the person whose click could not be done."""
        if isinstance(error, NotAllowed):
            return ui.refusal(error.escalation, lang)
        if isinstance(error, TransitionRefused):
            return ui.conflict(error.escalation, lang)
        return t(error.key, lang, **error.params)

    async def clicked_escalation(action: Payload, respond: AsyncRespond) -> Escalation | None:
        """The escalation a button belongs to, or None after telling the person why not."""
        try:
            return service.get(int(action["value"]))
        except EscalationError as error:
            await reply(respond, explain(error))
            return None

    async def on_reaction(event: Payload, client: AsyncWebClient) -> None:
        item = event.get("item") or {}
        if reaction_name(event.get("reaction", "")) not in emojis or item.get("type") != "message":
            return
        card = service.card_at(item["channel"], item["ts"])
        if card is None or card.mention_id is None:
            return
        user = event["user"]
        result = await service.escalate(Resolved(card.mention_id, card), user=user, via="reaction", reopen=False)
        if result.outcome == "finished":
            text = ui.flag_reply(result.escalation, result.outcome, lang)
            await _tell(client, item["channel"], user, text)

    async def on_flag(ack: AsyncAck, command: Payload, respond: AsyncRespond) -> None:
        await ack()
        if command.get("text", "").strip().lower() == "list":
            message = ui.flag_list(service.in_progress(), now=utcnow(), lang=lang)
            await respond(response_type="ephemeral", **message)
            return
        try:
            request = parse_flag_text(command.get("text", ""))
            resolved = service.resolve(request.target)
            result = await service.escalate(
                resolved, user=command["user_id"], via="command", note=request.note, officials=request.officials
            )
        except EscalationError as error:
            await reply(respond, explain(error))
            return
        await reply(respond, ui.flag_reply(result.escalation, result.outcome, lang))

    async def on_shortcut(
        ack: AsyncAck, shortcut: Payload, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        message = shortcut["message"]
        target = MessageRef(shortcut["channel"]["id"], message["ts"], message.get("thread_ts"))
        await open_flag_modal(target, "shortcut", shortcut["trigger_id"], client, respond)

    async def on_flag_button(
        ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        container = body.get("container") or {}
        target: Target = (
            MessageRef(container["channel_id"], container["message_ts"])
            if container.get("message_ts")
            else MentionIdTarget(int(action["value"]))
        )
        await open_flag_modal(target, "button", body["trigger_id"], client, respond)

    async def open_flag_modal(
        target: Target, via: str, trigger_id: str, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        try:
            resolved = service.resolve(target)
        except EscalationError as error:
            await reply(respond, explain(error))
            return
        metadata = json.dumps({"target": _target_to_json(target), "via": via})
        mention = service.store.mention(resolved.mention_id)
        modal = ui.flag_modal(mention, private_metadata=metadata, lang=lang)
        await client.views_open(trigger_id=trigger_id, view=modal)

    async def on_flag_submit(ack: AsyncAck, body: Payload, view: Payload, client: AsyncWebClient) -> None:
        metadata = json.loads(view["private_metadata"])
        target = _target_from_json(metadata["target"])
        values = view["state"]["values"]
        official = _value(values, "official", "user", "selected_user")
        note = (_value(values, "note", "text", "value") or "").strip() or None
        user = body["user"]["id"]
        try:
            resolved = service.resolve(target)
        except EscalationError as error:
            await ack(response_action="errors", errors={"note": explain(error)})
            return
        await ack()
        channel = resolved.card.channel if resolved.card else None
        try:
            result = await service.escalate(
                resolved, user=user, via=metadata["via"], note=note, officials=(official,) if official else ()
            )
        except EscalationError as error:
            text = explain(error)
        else:
            text = ui.flag_reply(result.escalation, result.outcome, lang)
            channel = channel or result.escalation.channel
        if channel:
            await _tell(client, channel, user, text)

    async def on_acknowledge(ack: AsyncAck, body: Payload, action: Payload, respond: AsyncRespond) -> None:
        await ack()
        try:
            await service.acknowledge(int(action["value"]), body["user"]["id"])
        except (TransitionRefused, EscalationError) as error:
            await reply(respond, explain(error))

    async def on_answer(
        ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        escalation = await clicked_escalation(action, respond)
        if escalation is None:
            return
        if escalation.state not in ANSWERABLE:
            await reply(respond, ui.conflict(escalation, lang))
            return
        modal = ui.answer_modal(escalation, service.mention_of(escalation), lang)
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    async def on_answer_submit(ack: AsyncAck, body: Payload, view: Payload, client: AsyncWebClient) -> None:
        text = (_value(view["state"]["values"], "answer", "text", "value") or "").strip()
        if not text:
            await ack(response_action="errors", errors={"answer": t("modal.answer.label", lang)})
            return
        await ack()
        escalation_id, user = int(view["private_metadata"]), body["user"]["id"]
        try:
            await service.answer(escalation_id, user, text)
        except TransitionRefused as refused:
            await _tell(client, refused.escalation.channel, user, explain(refused))

    async def on_close(ack: AsyncAck, body: Payload, action: Payload, respond: AsyncRespond) -> None:
        await ack()
        try:
            await service.close(int(action["value"]), body["user"]["id"])
        except (NotAllowed, TransitionRefused, EscalationError) as error:
            await reply(respond, explain(error))

    async def on_finish_button(
        ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        escalation = await clicked_escalation(action, respond)
        if escalation is None:
            return
        if not service.may_finish(escalation, body["user"]["id"]):
            await reply(respond, ui.refusal(escalation, lang))
        elif escalation.state not in ANSWERABLE:
            await reply(respond, ui.conflict(escalation, lang))
        else:
            outcome = "not_ours" if action["action_id"] == ui.NOT_OURS else "dismissed"
            await client.views_open(trigger_id=body["trigger_id"], view=ui.reason_modal(escalation, outcome, lang))

    async def on_reason_submit(ack: AsyncAck, body: Payload, view: Payload, client: AsyncWebClient) -> None:
        reason = (_value(view["state"]["values"], "reason", "text", "value") or "").strip()
        if not reason:
            await ack(response_action="errors", errors={"reason": t("modal.reason.label", lang)})
            return
        metadata, user = json.loads(view["private_metadata"]), body["user"]["id"]
        try:
            escalation = service.get(int(metadata["id"]))
        except EscalationError as error:
            await ack(response_action="errors", errors={"reason": explain(error)})
            return
        if not service.may_finish(escalation, user):
            await ack(response_action="errors", errors={"reason": ui.refusal(escalation, lang)})
            return
        await ack()
        try:
            await service.finish(escalation.id, user, metadata["outcome"], reason)
        except TransitionRefused as refused:
            await _tell(client, escalation.channel, user, explain(refused))

    app.event("reaction_added")(on_reaction)
    app.command("/flag")(on_flag)
    app.shortcut("flag_message")(on_shortcut)
    app.action("mention_flag")(on_flag_button)
    app.view(ui.FLAG_MODAL)(on_flag_submit)
    app.action(ui.ACKNOWLEDGE)(on_acknowledge)
    app.action(ui.ANSWER)(on_answer)
    app.view(ui.ANSWER_MODAL)(on_answer_submit)
    app.action(ui.CLOSE)(on_close)
    app.action(ui.NOT_OURS)(on_finish_button)
    app.action(ui.DISMISS)(on_finish_button)
    app.view(ui.REASON_MODAL)(on_reason_submit)


async def _tell(client: AsyncWebClient, channel: str, user: str, text: str) -> None:
    """A message only `user` sees; best effort, since the bot may not be in that channel."""
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as error:
        log.info("could not answer %s in %s: %s", user, channel, error.response.get("error"))


def _value(values: Payload, block_id: str, action_id: str, key: str) -> Any:
    return (values.get(block_id) or {}).get(action_id, {}).get(key)


def _target_to_json(target: Target) -> Payload:
    if isinstance(target, MessageRef):
        return {"channel": target.channel, "ts": target.ts, "thread_ts": target.thread_ts}
    assert isinstance(target, MentionIdTarget)
    return {"mention_id": target.mention_id}


def _target_from_json(data: Payload) -> Target:
    if "mention_id" in data:
        return MentionIdTarget(int(data["mention_id"]))
    return MessageRef(data["channel"], data["ts"], data.get("thread_ts"))
