"""/draft, the "Draft a reply" message shortcut, the card's Draft button, and the draft's own buttons
(Regenerate, Shorter, More formal).

A draft is shown only to whoever asked (ephemeral), or, with DRAFT_VISIBILITY=thread, in the thread of the card or
message it answers. Its buttons carry, in their value, what to redraft: the target, the instructions and the draft
shown, so a redraft needs no stored state. The bot never posts on the social network.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers.assist_replies import AckFirst, EphemeralReply, Reply, ThreadReply
from veilleur.assist.conversations import ConversationError, ConversationFetcher, MentionRef, UrlRef, parse_target
from veilleur.assist.draft_cards import DRAFT_BUTTONS, draft_in_thread_notice, draft_message
from veilleur.assist.drafting import Drafter, DraftRequest, resolve_subject
from veilleur.assist.prompt_book import PromptBook
from veilleur.assist.summary_cards import problem_message, working_message
from veilleur.slack.links import MessageRef

if TYPE_CHECKING:
    from veilleur.services import Services

log = logging.getLogger(__name__)

BUTTON_VALUE_LIMIT = 2000
INSTRUCTIONS_LIMIT = 300
VARIANT_OF_BUTTON = {"draft_regenerate": "regenerate", "draft_shorter": "shorter", "draft_formal": "formal"}
DraftTarget = MentionRef | MessageRef | UrlRef
# A draft's message for the person it is shown to in a thread (None: shown to the requester alone).
Render = Callable[[str | None], dict[str, Any]]


def encode_state(target: MentionRef | MessageRef, instructions: str, draft: str) -> str:
    """A draft button's value: what to redraft, within Slack's 2000 characters (the draft is cut first)."""
    if isinstance(target, MentionRef):
        state: dict[str, Any] = {"m": target.mention_id}
    else:
        state = {"c": target.channel, "ts": target.ts, "th": target.thread_ts}
    state["i"] = instructions[:INSTRUCTIONS_LIMIT]
    state["d"] = draft
    value = json.dumps(state, ensure_ascii=False)
    while len(value) > BUTTON_VALUE_LIMIT:  # each pass cuts at least the excess: quotes and controls escape longer
        state["d"] = state["d"][: len(state["d"]) - (len(value) - BUTTON_VALUE_LIMIT)]
        value = json.dumps(state, ensure_ascii=False)
    return value


def decode_state(value: str) -> tuple[MentionRef | MessageRef, str, str] | None:
    """(target, instructions, previous draft) from a button's value, or None when it is not one of ours."""
    try:
        state = json.loads(value)
        if "m" in state:
            target: MentionRef | MessageRef = MentionRef(int(state["m"]))
        else:
            target = MessageRef(str(state["c"]), str(state["ts"]), state.get("th") and str(state["th"]))
        return target, str(state.get("i") or ""), str(state.get("d") or "")
    except (ValueError, TypeError, KeyError):
        return None


def register(app: AsyncApp, services: Services) -> None:
    settings = services.settings
    lang = settings.bot_language
    in_thread = settings.draft_visibility == "thread"
    fetcher = ConversationFetcher(services.store, services.slack, services.watchers, services.authors)
    drafter = Drafter(services.llm, PromptBook(settings.prompts_dir), lang)
    pacing = AckFirst()

    async def draft_for(
        target: DraftTarget, instructions: str, variant: str, previous: str | None
    ) -> tuple[Render, tuple[str, str] | None]:
        """How to show a draft for `target` (given who it is for, when it goes in a thread) and the thread it
        belongs to; or how to say why there is none, and None."""
        try:
            await pacing.give_way()
            subject = await resolve_subject(fetcher, target)
            await pacing.give_way()
            draft = await drafter.draft(
                DraftRequest(
                    subject=subject.post,
                    conversation=subject.conversation,
                    official_answer=subject.official_answer,
                    instructions=instructions,
                    variant=variant,
                    previous=previous,
                )
            )
        except ConversationError as problem:
            failure = problem_message(problem.key, lang, **problem.params)
            return (lambda requester: failure), None
        except Exception:
            log.exception("draft for %s failed", target)
            return (lambda requester: problem_message("assist.failed", lang)), None
        ref = MentionRef(subject.mention_id) if subject.mention_id is not None else target
        state = encode_state(ref, instructions, draft.text)

        def render(requester: str | None) -> dict[str, Any]:
            return draft_message(draft, subject=subject.post, state=state, lang=lang, requester=requester)

        return render, subject.thread

    async def answer_request(
        reply: EphemeralReply, target: DraftTarget, instructions: str, client: AsyncWebClient, user: str
    ) -> None:
        """A command's or shortcut's draft: shown to the requester, or posted in its thread and linked for them."""
        render, thread = await draft_for(target, instructions, "initial", None)
        if not in_thread or thread is None:
            await reply.show(render(None))
            return
        posted = ThreadReply(client, *thread)
        await posted.show(render(user))
        await reply.show(draft_in_thread_notice(await posted.permalink(), lang))

    async def command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        first, _, instructions = command.get("text", "").strip().partition(" ")
        target = parse_target(first) if first else None
        if not isinstance(target, MentionRef | MessageRef | UrlRef):
            await ack(response_type="ephemeral", **problem_message("draft.usage", lang))
            return
        await ack(response_type="ephemeral", **working_message("draft", lang))
        pacing.acked()
        await answer_request(EphemeralReply(respond), target, instructions.strip(), client, command["user_id"])

    async def shortcut(ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        await ack()
        pacing.acked()
        message = shortcut["message"]
        target = MessageRef(shortcut["channel"]["id"], message["ts"], message.get("thread_ts"))
        reply = EphemeralReply(respond)
        await reply.working(working_message("draft", lang))
        await answer_request(reply, target, "", client, shortcut["user"]["id"])

    async def card_button(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        pacing.acked()
        reply: Reply = EphemeralReply(respond, replaceable=False)
        if in_thread:
            card = body.get("message") or {}
            thread_ts = card.get("thread_ts") or body["container"]["message_ts"]
            reply = ThreadReply(client, body["container"]["channel_id"], thread_ts)
        await reply.working(working_message("draft", lang))
        render, _ = await draft_for(MentionRef(int(action["value"])), "", "initial", None)
        await reply.show(render(body["user"]["id"] if in_thread else None))

    async def redraft(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        """Regenerate, Shorter, More formal: the draft's message (ephemeral or in a thread) is replaced."""
        await ack()
        pacing.acked()
        reply = EphemeralReply(respond)
        state = decode_state(action.get("value", ""))
        if state is None:
            await reply.show(problem_message("assist.failed", lang))
            return
        target, instructions, previous = state
        requester = None if (body.get("container") or {}).get("is_ephemeral") else body["user"]["id"]
        await reply.working(working_message("redraft", lang))
        variant = VARIANT_OF_BUTTON[action["action_id"]]
        render, _ = await draft_for(target, instructions, variant, previous)
        await reply.show(render(requester))

    app.command("/draft")(command)
    app.message_shortcut("draft_reply")(shortcut)
    app.action("mention_draft")(card_button)
    for action_id, _ in DRAFT_BUTTONS:
        app.action(action_id)(redraft)
