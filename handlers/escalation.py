"""Escalation listeners: the reaction, `/flag`, the message shortcut, the card's Flag button, and the buttons and
modals of the escalation message. Each parses the request, acks, calls the EscalationService and answers the
person privately; the service does the rest.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.private_replies import tell_privately
from veilleur.core.errors import UserError
from veilleur.core.i18n import t
from veilleur.escalation import cards as ui
from veilleur.escalation.service import EscalationService, NotAllowed, Resolved, parse_flag_text, reaction_name
from veilleur.slack.links import MessageRef
from veilleur.slack.markup import user_error_text
from veilleur.slack.targets import MentionRef
from veilleur.storage.escalations import Escalation, TransitionRefused
from veilleur.storage.store import utcnow

if TYPE_CHECKING:
    from veilleur.services import Services

Payload = dict[str, Any]

ANSWERABLE = ("open", "acknowledged")
# What the flag modal is opened on: the message of the shortcut, or the card of the Flag button.
ModalTarget = MessageRef | MentionRef
Listener = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Escalations:
    """What the escalation listeners use: the service, the language, and the emojis that escalate a card."""

    service: EscalationService
    lang: str
    emojis: frozenset[str]

    def explain(self, error: UserError | NotAllowed | TransitionRefused) -> str:
        """What to tell the person whose click could not be done."""
        if isinstance(error, NotAllowed):
            return ui.refusal(error.escalation, self.lang)
        if isinstance(error, TransitionRefused):
            return ui.conflict(error.escalation, self.lang)
        return user_error_text(error, self.lang)

    async def clicked(self, action: Payload, respond: AsyncRespond) -> Escalation | None:
        """The escalation a button belongs to, or None after telling the person why not."""
        try:
            return self.service.get(int(action["value"]))
        except UserError as error:
            await reply(respond, self.explain(error))
            return None


async def reply(respond: AsyncRespond, text: str) -> None:
    """A private answer under the message the person acted on, which stays as it was."""
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def tell(client: AsyncWebClient, channel: str | None, user: str, text: str) -> None:
    """Best effort: the bot may not be in that channel, and a modal has no message to answer under."""
    await tell_privately(client, channel, user, text, else_direct_message=False)


async def handle_reaction(event: Payload, client: AsyncWebClient, *, escalations: Escalations) -> None:
    service, item = escalations.service, event.get("item") or {}
    if reaction_name(event.get("reaction", "")) not in escalations.emojis or item.get("type") != "message":
        return
    card = service.card_at(item["channel"], item["ts"])
    if card is None or card.mention_id is None:
        return
    user = event["user"]
    result = await service.escalate(Resolved(card.mention_id, card), user=user, via="reaction", reopen=False)
    if result.outcome == "finished":
        await tell(client, item["channel"], user, ui.flag_reply(result.escalation, result.outcome, escalations.lang))


async def handle_flag(ack: AsyncAck, command: Payload, respond: AsyncRespond, *, escalations: Escalations) -> None:
    await ack()
    service, lang = escalations.service, escalations.lang
    if command.get("text", "").strip().lower() == "list":
        await respond(response_type="ephemeral", **ui.flag_list(service.in_progress(), now=utcnow(), lang=lang))
        return
    try:
        request = parse_flag_text(command.get("text", ""))
        resolved = service.resolve(request.target)
        result = await service.escalate(
            resolved, user=command["user_id"], via="command", note=request.note, officials=request.officials
        )
    except UserError as error:
        await reply(respond, escalations.explain(error))
        return
    await reply(respond, ui.flag_reply(result.escalation, result.outcome, lang))


async def handle_shortcut(
    ack: AsyncAck, shortcut: Payload, client: AsyncWebClient, respond: AsyncRespond, *, escalations: Escalations
) -> None:
    await ack()
    message = shortcut["message"]
    target = MessageRef(shortcut["channel"]["id"], message["ts"], message.get("thread_ts"))
    await open_flag_modal(escalations, target, "shortcut", shortcut["trigger_id"], client, respond)


async def handle_flag_button(
    ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient, respond: AsyncRespond, *,
    escalations: Escalations,
) -> None:
    await ack()
    container = body.get("container") or {}
    target: ModalTarget = (
        MessageRef(container["channel_id"], container["message_ts"])
        if container.get("message_ts")
        else MentionRef(int(action["value"]))
    )
    await open_flag_modal(escalations, target, "button", body["trigger_id"], client, respond)


async def open_flag_modal(
    escalations: Escalations, target: ModalTarget, via: str, trigger_id: str, client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    try:
        resolved = escalations.service.resolve(target)
    except UserError as error:
        await reply(respond, escalations.explain(error))
        return
    metadata = json.dumps({"target": _target_to_json(target), "via": via})
    mention = escalations.service.mention(resolved.mention_id)
    modal = ui.flag_modal(mention, private_metadata=metadata, lang=escalations.lang)
    await client.views_open(trigger_id=trigger_id, view=modal)


async def handle_flag_submit(
    ack: AsyncAck, body: Payload, view: Payload, client: AsyncWebClient, *, escalations: Escalations
) -> None:
    service = escalations.service
    metadata = json.loads(view["private_metadata"])
    target = _target_from_json(metadata["target"])
    values = view["state"]["values"]
    official = _value(values, "official", "user", "selected_user")
    note = (_value(values, "note", "text", "value") or "").strip() or None
    user = body["user"]["id"]
    try:
        resolved = service.resolve(target)
    except UserError as error:
        await ack(response_action="errors", errors={"note": escalations.explain(error)})
        return
    await ack()
    channel = resolved.card.channel if resolved.card else None
    try:
        result = await service.escalate(
            resolved, user=user, via=metadata["via"], note=note, officials=(official,) if official else ()
        )
    except UserError as error:
        text = escalations.explain(error)
    else:
        text = ui.flag_reply(result.escalation, result.outcome, escalations.lang)
        channel = channel or result.escalation.channel
    await tell(client, channel, user, text)


async def handle_acknowledge(
    ack: AsyncAck, body: Payload, action: Payload, respond: AsyncRespond, *, escalations: Escalations
) -> None:
    await ack()
    try:
        await escalations.service.acknowledge(int(action["value"]), body["user"]["id"])
    except (TransitionRefused, UserError) as error:
        await reply(respond, escalations.explain(error))


async def handle_answer_button(
    ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient, respond: AsyncRespond, *,
    escalations: Escalations,
) -> None:
    await ack()
    escalation = await escalations.clicked(action, respond)
    if escalation is None:
        return
    if escalation.state not in ANSWERABLE:
        await reply(respond, ui.conflict(escalation, escalations.lang))
        return
    modal = ui.answer_modal(escalation, escalations.service.mention_of(escalation), escalations.lang)
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def handle_answer_submit(
    ack: AsyncAck, body: Payload, view: Payload, client: AsyncWebClient, *, escalations: Escalations
) -> None:
    text = (_value(view["state"]["values"], "answer", "text", "value") or "").strip()
    if not text:
        await ack(response_action="errors", errors={"answer": t("modal.answer.label", escalations.lang)})
        return
    await ack()
    escalation_id, user = int(view["private_metadata"]), body["user"]["id"]
    try:
        await escalations.service.answer(escalation_id, user, text)
    except TransitionRefused as refused:
        await tell(client, refused.escalation.channel, user, escalations.explain(refused))


async def handle_close(
    ack: AsyncAck, body: Payload, action: Payload, respond: AsyncRespond, *, escalations: Escalations
) -> None:
    await ack()
    try:
        await escalations.service.close(int(action["value"]), body["user"]["id"])
    except (NotAllowed, TransitionRefused, UserError) as error:
        await reply(respond, escalations.explain(error))


async def handle_finish_button(
    ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient, respond: AsyncRespond, *,
    escalations: Escalations,
) -> None:
    """Not ours, Dismiss: the modal asking why, for those who may finish an escalation still answerable."""
    await ack()
    escalation = await escalations.clicked(action, respond)
    if escalation is None:
        return
    lang = escalations.lang
    if not escalations.service.may_finish(escalation, body["user"]["id"]):
        await reply(respond, ui.refusal(escalation, lang))
    elif escalation.state not in ANSWERABLE:
        await reply(respond, ui.conflict(escalation, lang))
    else:
        outcome = "not_ours" if action["action_id"] == ui.NOT_OURS else "dismissed"
        await client.views_open(trigger_id=body["trigger_id"], view=ui.reason_modal(escalation, outcome, lang))


async def handle_reason_submit(
    ack: AsyncAck, body: Payload, view: Payload, client: AsyncWebClient, *, escalations: Escalations
) -> None:
    service = escalations.service
    reason = (_value(view["state"]["values"], "reason", "text", "value") or "").strip()
    if not reason:
        await ack(response_action="errors", errors={"reason": t("modal.reason.label", escalations.lang)})
        return
    metadata, user = json.loads(view["private_metadata"]), body["user"]["id"]
    try:
        escalation = service.get(int(metadata["id"]))
    except UserError as error:
        await ack(response_action="errors", errors={"reason": escalations.explain(error)})
        return
    if not service.may_finish(escalation, user):
        await ack(response_action="errors", errors={"reason": ui.refusal(escalation, escalations.lang)})
        return
    await ack()
    try:
        await service.finish(escalation.id, user, metadata["outcome"], reason)
    except TransitionRefused as refused:
        await tell(client, escalation.channel, user, escalations.explain(refused))


def register(app: AsyncApp, services: Services) -> None:
    settings = services.settings
    escalations = Escalations(services.escalations, settings.bot_language, frozenset(settings.escalation_emoji))

    def given(listener: Listener) -> Listener:
        return partial(listener, escalations=escalations)

    app.event("reaction_added")(given(handle_reaction))
    app.command("/flag")(given(handle_flag))
    app.shortcut("flag_message")(given(handle_shortcut))
    app.action("mention_flag")(given(handle_flag_button))
    app.view(ui.FLAG_MODAL)(given(handle_flag_submit))
    app.action(ui.ACKNOWLEDGE)(given(handle_acknowledge))
    app.action(ui.ANSWER)(given(handle_answer_button))
    app.view(ui.ANSWER_MODAL)(given(handle_answer_submit))
    app.action(ui.CLOSE)(given(handle_close))
    app.action(ui.NOT_OURS)(given(handle_finish_button))
    app.action(ui.DISMISS)(given(handle_finish_button))
    app.view(ui.REASON_MODAL)(given(handle_reason_submit))


def _value(values: Payload, block_id: str, action_id: str, key: str) -> Any:
    return (values.get(block_id) or {}).get(action_id, {}).get(key)


def _target_to_json(target: ModalTarget) -> Payload:
    if isinstance(target, MessageRef):
        return {"channel": target.channel, "ts": target.ts, "thread_ts": target.thread_ts}
    return {"mention_id": target.mention_id}


def _target_from_json(data: Payload) -> ModalTarget:
    if "mention_id" in data:
        return MentionRef(int(data["mention_id"]))
    return MessageRef(data["channel"], data["ts"], data.get("thread_ts"))
