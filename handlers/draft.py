"""/draft, the "Draft a reply" message shortcut, the card's Draft button, and the draft's own buttons
(Regenerate, Shorter, More formal; on a hostile post's guidance, Draft a reply anyway).

A draft is shown only to whoever asked (ephemeral), or, with DRAFT_VISIBILITY=thread, in the thread of the card or
message it answers. Its buttons carry, in their value, what to redraft: the target, the instructions, the draft
shown and whether the team asked for a reply to a post marked hostile, so a redraft needs no stored state. The bot
never posts on the social network.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.assist_replies import AckFirst, EphemeralReply, Reply, ThreadReply, audit_subject
from veilleur.assist.conversations import ConversationFetcher
from veilleur.assist.draft_cards import DRAFT_ANYWAY, DRAFT_BUTTONS, draft_in_thread_notice, draft_message
from veilleur.assist.drafting import Drafter, DraftRequest, resolve_subject
from veilleur.assist.summary_cards import problem_message, working_message
from veilleur.core.errors import UserError
from veilleur.slack.links import MessageRef
from veilleur.slack.targets import MentionRef, PostTarget, parse_target
from veilleur.storage.audit import AuditLog

if TYPE_CHECKING:
    from veilleur.services import Services

log = logging.getLogger(__name__)

BUTTON_VALUE_LIMIT = 2000
INSTRUCTIONS_LIMIT = 300
VARIANT_OF_BUTTON = {
    "draft_regenerate": "regenerate", "draft_shorter": "shorter", "draft_formal": "formal", DRAFT_ANYWAY: "initial",
}
# A draft's message for the person it is shown to in a thread (None: shown to the requester alone).
Render = Callable[[str | None], dict[str, Any]]


class DraftState(NamedTuple):
    """What a draft button redrafts; `anyway`: a reply even though the post is marked hostile."""

    target: MentionRef | MessageRef
    instructions: str
    previous: str
    anyway: bool = False


def encode_state(target: MentionRef | MessageRef, instructions: str, draft: str, *, anyway: bool = False) -> str:
    """A draft button's value: what to redraft, within Slack's 2000 characters (the draft is cut first)."""
    if isinstance(target, MentionRef):
        state: dict[str, Any] = {"m": target.mention_id}
    else:
        state = {"c": target.channel, "ts": target.ts, "th": target.thread_ts}
    state["i"] = instructions[:INSTRUCTIONS_LIMIT]
    if anyway:
        state["a"] = 1
    state["d"] = draft
    value = json.dumps(state, ensure_ascii=False)
    while len(value) > BUTTON_VALUE_LIMIT:  # each pass cuts at least the excess: quotes and controls escape longer
        state["d"] = state["d"][: len(state["d"]) - (len(value) - BUTTON_VALUE_LIMIT)]
        value = json.dumps(state, ensure_ascii=False)
    return value


def decode_state(value: str) -> DraftState | None:
    """What to redraft from a button's value, or None when it is not one of ours."""
    try:
        state = json.loads(value)
        if "m" in state:
            target: MentionRef | MessageRef = MentionRef(int(state["m"]))
        else:
            target = MessageRef(str(state["c"]), str(state["ts"]), state.get("th") and str(state["th"]))
        return DraftState(target, str(state.get("i") or ""), str(state.get("d") or ""), bool(state.get("a")))
    except (ValueError, TypeError, KeyError):
        return None


@dataclass(frozen=True)
class Drafts:
    """What the draft listeners use; `in_thread` is DRAFT_VISIBILITY=thread; `pacing` is shared by them all."""

    conversations: ConversationFetcher
    drafter: Drafter
    audit: AuditLog
    lang: str
    in_thread: bool
    pacing: AckFirst = field(default_factory=AckFirst)

    async def draft_for(
        self, target: PostTarget, instructions: str, variant: str, previous: str | None, *, user: str,
        anyway: bool = False,
    ) -> tuple[Render, tuple[str, str] | None]:
        """How to show a draft for `target`, asked by `user` (given who it is for, when it goes in a thread) and
        the thread it belongs to; or how to say why there is none, and None. A post marked hostile gets the
        charter's guidance instead, unless `anyway`."""
        lang = self.lang
        try:
            self.audit.record(user, "draft", audit_subject(target))
            await self.pacing.give_way()
            subject = await resolve_subject(self.conversations, target)
            await self.pacing.give_way()
            draft = await self.drafter.draft(
                DraftRequest(
                    subject=subject.post,
                    conversation=subject.conversation,
                    official_answer=subject.official_answer,
                    instructions=instructions,
                    variant=variant,
                    previous=previous,
                    hostile=None if anyway else subject.hostile,
                )
            )
        except UserError as problem:
            failure = problem_message(problem.key, lang, **problem.params)
            return (lambda requester: failure), None
        except Exception:
            log.exception("draft for %s failed", target)
            return (lambda requester: problem_message("assist.failed", lang)), None
        ref = MentionRef(subject.mention_id) if subject.mention_id is not None else target
        if draft.hostile is not None:  # its button asks for a first reply
            state = encode_state(ref, instructions, "", anyway=True)
        else:
            state = encode_state(ref, instructions, draft.text, anyway=anyway)

        claim = (subject.claim.id, subject.claim.corrected) if subject.claim is not None else None

        def render(requester: str | None) -> dict[str, Any]:
            return draft_message(draft, subject=subject.post, state=state, lang=lang, requester=requester,
                                 claim=claim)

        return render, subject.thread

    async def answer_request(
        self, reply: EphemeralReply, target: PostTarget, instructions: str, client: AsyncWebClient, user: str
    ) -> None:
        """A command's or shortcut's draft: shown to the requester, or posted in its thread and linked for them."""
        render, thread = await self.draft_for(target, instructions, "initial", None, user=user)
        if not self.in_thread or thread is None:
            await reply.show(render(None))
            return
        posted = ThreadReply(client, *thread)
        await posted.show(render(user))
        await reply.show(draft_in_thread_notice(await posted.permalink(), self.lang))


async def handle_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, *, drafts: Drafts
) -> None:
    first, _, instructions = command.get("text", "").strip().partition(" ")
    target = parse_target(first) if first else None
    if target is None:
        await ack(response_type="ephemeral", **problem_message("draft.usage", drafts.lang))
        return
    await ack(response_type="ephemeral", **working_message("draft", drafts.lang))
    drafts.pacing.acked()
    await drafts.answer_request(EphemeralReply(respond), target, instructions.strip(), client, command["user_id"])


async def handle_shortcut(
    ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, *, drafts: Drafts
) -> None:
    await ack()
    drafts.pacing.acked()
    message = shortcut["message"]
    target = MessageRef(shortcut["channel"]["id"], message["ts"], message.get("thread_ts"))
    reply = EphemeralReply(respond)
    await reply.working(working_message("draft", drafts.lang))
    await drafts.answer_request(reply, target, "", client, shortcut["user"]["id"])


async def handle_card_button(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, *,
    drafts: Drafts,
) -> None:
    await ack()
    drafts.pacing.acked()
    reply: Reply = EphemeralReply(respond, replaceable=False)
    if drafts.in_thread:
        card = body.get("message") or {}
        thread_ts = card.get("thread_ts") or body["container"]["message_ts"]
        reply = ThreadReply(client, body["container"]["channel_id"], thread_ts)
    await reply.working(working_message("draft", drafts.lang))
    user = body["user"]["id"]
    render, _ = await drafts.draft_for(MentionRef(int(action["value"])), "", "initial", None, user=user)
    await reply.show(render(user if drafts.in_thread else None))


async def handle_redraft(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, *, drafts: Drafts
) -> None:
    """Regenerate, Shorter, More formal, and Draft a reply anyway (on a hostile post's guidance): the message
    (ephemeral or in a thread) is replaced."""
    await ack()
    drafts.pacing.acked()
    reply = EphemeralReply(respond)
    state = decode_state(action.get("value", ""))
    if state is None:
        await reply.show(problem_message("assist.failed", drafts.lang))
        return
    requester = None if (body.get("container") or {}).get("is_ephemeral") else body["user"]["id"]
    variant = VARIANT_OF_BUTTON[action["action_id"]]
    await reply.working(working_message("redraft" if variant != "initial" else "draft", drafts.lang))
    render, _ = await drafts.draft_for(state.target, state.instructions, variant, state.previous or None,
                                       user=body["user"]["id"], anyway=state.anyway)
    await reply.show(render(requester))


def register(app: AsyncApp, services: Services) -> None:
    settings = services.settings
    drafts = Drafts(
        services.conversations, services.drafter, services.audit, settings.bot_language,
        settings.draft_visibility == "thread",
    )
    app.command("/draft")(partial(handle_command, drafts=drafts))
    app.message_shortcut("draft_reply")(partial(handle_shortcut, drafts=drafts))
    app.action("mention_draft")(partial(handle_card_button, drafts=drafts))
    for action_id in (*(action_id for action_id, _ in DRAFT_BUTTONS), DRAFT_ANYWAY):
        app.action(action_id)(partial(handle_redraft, drafts=drafts))
