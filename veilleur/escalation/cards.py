"""Slack messages and modals for escalations: pure functions, data in, Block Kit out.

The escalation quotes its mention with the card's own pieces (cards.py), so outside text is escaped the same
way. Notes, answers and reasons are typed by people in Slack: they are escaped too, so a note saying
`<!channel>` pings no one. The only `<@U…>` mentions that leave this module are built here from user IDs
checked against the user ID pattern; that is how officials get pinged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from veilleur.core.i18n import format_datetime, format_duration, t, t_plural
from veilleur.core.mentions import Mention
from veilleur.core.settings import USER_ID
from veilleur.core.text import truncate
from veilleur.slack.cards import mention_excerpt, quoted_mention_blocks
from veilleur.slack.markup import TEXT_LIMIT, escape, link, markup, mrkdwn, plain_text
from veilleur.storage.escalations import Escalation

FLAG_MODAL = "flag_mention"
ANSWER_MODAL = "escalation_answer"
REASON_MODAL = "escalation_reason"
ACKNOWLEDGE = "escalation_acknowledge"
ANSWER = "escalation_answer"
CLOSE = "escalation_close"
NOT_OURS = "escalation_not_ours"
DISMISS = "escalation_dismiss"
# The buttons each state offers: (action_id, catalogue key of the label, style); each button's value is the id.
STATE_BUTTONS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "open": (
        (ACKNOWLEDGE, "button.acknowledge", "primary"),
        (ANSWER, "button.answer", None),
        (NOT_OURS, "button.not_ours", None),
        (DISMISS, "button.escalation_dismiss", None),
    ),
    "acknowledged": (
        (ANSWER, "button.answer", "primary"),
        (NOT_OURS, "button.not_ours", None),
        (DISMISS, "button.escalation_dismiss", None),
    ),
    "answered": ((CLOSE, "button.close", "primary"),),
}
STATE_EMOJI = {
    "open": ":rotating_light:",
    "acknowledged": ":eyes:",
    "answered": ":speech_balloon:",
    "closed": ":white_check_mark:",
    "not_ours": ":leftwards_arrow_with_hook:",
    "dismissed": ":heavy_multiplication_x:",
}

# Budgets, in characters of markup (escaped text), keeping the whole message under ~12k characters of blocks.
PEOPLE_LIMIT = 1000
NOTE_LIMIT = 400
NOTES_LIMIT = 1500
ANSWER_LIMIT = 2500
REASON_LIMIT = 600
EXCERPT_LIMIT = 80
LIST_LIMIT = 20
# What people may type in the modals (Slack's plain_text_input allows up to 3000).
NOTE_INPUT_LIMIT = 1000
ANSWER_INPUT_LIMIT = 3000
REASON_INPUT_LIMIT = 1000
# Slack's limits for a modal's title and its submit and close buttons.
MODAL_TITLE_LIMIT = 24


def user_ref(user_id: str) -> str:
    """A `<@U…>` mention for a well-formed user ID; anything else is shown escaped and pings no one."""
    return f"<@{user_id}>" if USER_ID.match(user_id) else escape(user_id)


def user_refs(users: Iterable[str]) -> str:
    return ", ".join(user_ref(user) for user in users)


def escalation_title(escalation: Escalation, lang: str) -> str:
    return t("escalation.title", lang, id=escalation.id)


def escalation_link(escalation: Escalation, lang: str) -> str:
    """ "Escalation #12", linked to its message once Slack has it."""
    title = escalation_title(escalation, lang)
    return link(escalation.permalink, title) if escalation.permalink else escape(title)


def state_line(escalation: Escalation, lang: str) -> str:
    """Where the escalation stands and who moved it there, as markup."""
    state = escalation.state
    if state == "open":
        escalators = user_refs(e.user for e in escalation.escalators)
        if not escalation.officials:
            return t("escalation.state.open_nobody", lang, escalators=escalators)
        return t("escalation.state.open", lang, officials=user_refs(escalation.officials), escalators=escalators)
    user = {"acknowledged": escalation.acknowledged_by, "answered": escalation.answered_by}.get(
        state, escalation.finished_by
    )
    return t(f"escalation.state.{state}", lang, user=user_ref(user or "?"))


def state_name(escalation: Escalation, lang: str) -> str:
    return t(f"escalation.state_name.{escalation.state}", lang)


def escalation_status(escalation: Escalation, lang: str) -> str:
    """The line under the escalated mention's card (`cards.mention_card(..., status=...)`)."""
    link = escalation_link(escalation, lang)
    return t("escalation.status_line", lang, emoji=STATE_EMOJI[escalation.state], link=link,
             state=state_line(escalation, lang))


def card_status(
    escalation: Escalation | None, dismissed_by: str | None, dismissed_at: datetime | None, *, tz: ZoneInfo, lang: str
) -> str | None:
    """The line under a mention card's buttons (`cards.mention_card(..., status=...)`): the state of the card's
    escalation or who dismissed the card, whichever changed last; None when neither happened."""
    if escalation is not None and (dismissed_at is None or _last_change(escalation) >= dismissed_at):
        return escalation_status(escalation, lang)
    if dismissed_by and dismissed_at:
        return t("card.dismissed", lang, user=f"<@{dismissed_by}>", time=format_datetime(dismissed_at, tz, lang))
    return None


def _last_change(escalation: Escalation) -> datetime:
    moments = (escalation.created_at, escalation.acknowledged_at, escalation.answered_at, escalation.finished_at)
    return max(moment for moment in moments if moment is not None)


def escalation_message(
    escalation: Escalation, mention: Mention, *, tz: ZoneInfo, lang: str, reach_tiers: bool = False
) -> dict[str, object]:
    """The message that pings the officials, then shows every step until the escalation is finished."""
    title = escalation_title(escalation, lang)
    head = f"{STATE_EMOJI[escalation.state]} *{escape(title)}* · {state_line(escalation, lang)}"
    officials = user_refs(escalation.officials) or t("escalation.no_official", lang)
    people = t(
        "escalation.people",
        lang,
        officials=officials,
        escalators=user_refs(e.user for e in escalation.escalators),
        when=format_datetime(escalation.created_at, tz, lang),
    )
    blocks: list[dict[str, object]] = [
        {"type": "section", "block_id": "head", "text": markup(head)},
        {"type": "section", "block_id": "people", "text": markup(people, PEOPLE_LIMIT)},
        *quoted_mention_blocks(mention, watcher=escalation.watcher or "-", tz=tz, lang=lang, reach_tiers=reach_tiers),
    ]
    notes = [
        t("escalation.note_line", lang, user=user_ref(e.user), note=escape(truncate(e.note, NOTE_LIMIT)))
        for e in escalation.escalators if e.note
    ]
    if notes:
        text = "\n".join([t("escalation.notes", lang), *notes])
        blocks.append({"type": "section", "block_id": "notes", "text": markup(text, NOTES_LIMIT)})
    if escalation.answer is not None and escalation.answered_at is not None:
        heading = t(
            "escalation.answer",
            lang,
            user=user_ref(escalation.answered_by or "?"),
            when=format_datetime(escalation.answered_at, tz, lang),
        )
        text = f"{heading}\n{escape(escalation.answer)}"
        blocks.append({"type": "section", "block_id": "answer", "text": markup(text, ANSWER_LIMIT)})
    if escalation.reason is not None:
        text = t("escalation.reason", lang, reason=escape(escalation.reason))
        blocks.append({"type": "section", "block_id": "reason", "text": markup(text, REASON_LIMIT)})
    if not escalation.in_progress:
        blocks.append(
            {"type": "context", "block_id": "times", "elements": [markup(response_times(escalation, lang))]}
        )
    if escalation.thread_ts is not None:
        note = t("escalation.in_card_thread", lang)
        blocks.append({"type": "context", "block_id": "where", "elements": [plain_text(note, TEXT_LIMIT)]})
    buttons = _buttons(escalation, lang)
    if buttons:
        blocks.append({"type": "actions", "block_id": "escalation_actions", "elements": buttons})
    return {"text": _fallback(escalation, mention, lang), "blocks": blocks}


def response_times(escalation: Escalation, lang: str) -> str:
    times = escalation.response_times()
    steps = (
        ("escalation.time.acknowledge", times.to_acknowledge),
        ("escalation.time.answer", times.to_answer),
        ("escalation.time.close", times.to_close),
    )
    parts = [t(key, lang, duration=format_duration(delay, lang)) for key, delay in steps if delay is not None]
    return t("escalation.times", lang, times=" · ".join(parts))


def thread_note(escalation: Escalation, lang: str) -> dict[str, object]:
    """Told in the card's thread when the escalation went to the escalation channel."""
    escalators = user_refs(e.user for e in escalation.escalators)
    link_text = escalation_link(escalation, lang)
    # "Ann a signalé", "Ann, Bob ont signalé": the verb agrees with how many escalated.
    people = len(escalation.escalators)
    if escalation.officials:
        officials = user_refs(escalation.officials)
        sentence = t_plural("escalation.thread_note", people, lang, escalators=escalators, officials=officials,
                            link=link_text)
    else:
        sentence = t_plural("escalation.thread_note_nobody", people, lang, escalators=escalators, link=link_text)
    return _sentence(f"{STATE_EMOJI['open']} {sentence}", "escalation_note")


def thread_answer(escalation: Escalation, lang: str) -> dict[str, object]:
    """The official's answer, told in the card's thread where the team works on the mention."""
    heading = t(
        "escalation.thread_answer",
        lang,
        user=user_ref(escalation.answered_by or "?"),
        link=escalation_link(escalation, lang),
    )
    text = f"{STATE_EMOJI['answered']} {heading}\n{escape(escalation.answer or '')}"
    return {
        "text": heading,
        "blocks": [{"type": "section", "block_id": "escalation_answer", "text": markup(text, ANSWER_LIMIT)}],
    }


def joined_note(user: str, note: str | None, added_officials: Sequence[str], lang: str) -> dict[str, object]:
    """Told in the escalation's thread when someone escalates it again with a note or more officials."""
    lines = [t("escalation.joined", lang, user=user_ref(user))]
    if note:
        lines.append(f"> {escape(truncate(note, NOTE_LIMIT))}")
    if added_officials:
        lines.append(t("escalation.cc", lang, officials=user_refs(added_officials)))
    return _sentence("\n".join(lines), "escalation_joined")


def reminder(escalation: Escalation, *, now: datetime, limit: int, lang: str) -> dict[str, object]:
    """The reminder in the escalation's thread, pinging its officials again."""
    waited = format_duration(now - escalation.created_at, lang)
    number = escalation.reminders_sent + 1
    if escalation.officials:
        sentence = t(
            "escalation.reminder",
            lang,
            number=number,
            last=limit,
            officials=user_refs(escalation.officials),
            duration=waited,
        )
    else:
        sentence = t("escalation.reminder_nobody", lang, number=number, last=limit, duration=waited)
    return _sentence(f":alarm_clock: {sentence}", "escalation_reminder")


def reminder_dm(escalation: Escalation, mention: Mention, *, now: datetime, lang: str) -> dict[str, object]:
    """The reminder sent to each official directly."""
    sentence = t(
        "escalation.reminder_dm",
        lang,
        link=escalation_link(escalation, lang),
        duration=format_duration(now - escalation.created_at, lang),
    )
    text = f":alarm_clock: {sentence}"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "block_id": "escalation_reminder", "text": markup(text)},
            {"type": "context", "block_id": "excerpt", "elements": [mrkdwn(mention_excerpt(mention))]},
        ],
    }


def refusal(escalation: Escalation, lang: str) -> str:
    """Why someone may not close or dismiss an escalation, naming who may."""
    people = list(dict.fromkeys([*escalation.officials, *(e.user for e in escalation.escalators)]))
    return t("escalation.refused", lang, people=user_refs(people))


def conflict(escalation: Escalation, lang: str) -> str:
    """Someone else moved the escalation first: say where it stands now."""
    return t("escalation.conflict", lang, link=escalation_link(escalation, lang), state=state_name(escalation, lang))


def flag_reply(escalation: Escalation, outcome: str, lang: str) -> str:
    """The answer, to the person who escalated, for each outcome of `EscalationService.escalate`."""
    link_text = escalation_link(escalation, lang) if escalation.permalink else t("flag.pending", lang)
    if outcome == "created" and escalation.officials:
        return t("flag.done", lang, officials=user_refs(escalation.officials), link=link_text)
    if outcome == "created":
        return t("flag.done_nobody", lang, link=link_text)
    if outcome == "finished":
        return t("flag.finished", lang, link=link_text, state=state_name(escalation, lang))
    return t("flag.joined" if outcome == "joined" else "flag.already", lang, link=link_text)


def flag_list(items: Sequence[tuple[Escalation, Mention]], *, now: datetime, lang: str) -> dict[str, object]:
    """`/flag list`: the escalations in progress, oldest first, with their age and who has them in hand."""
    if not items:
        return _sentence(t("flag.list_empty", lang), "escalations")
    title = t("flag.list_title", lang)
    blocks: list[dict[str, object]] = [{"type": "section", "block_id": "title", "text": plain_text(title, 150)}]
    for position, (escalation, mention) in enumerate(items[:LIST_LIMIT], start=1):
        line = t(
            "flag.list_line",
            lang,
            link=escalation_link(escalation, lang),
            state=state_name(escalation, lang),
            age=format_duration(now - escalation.created_at, lang),
            owners=user_refs(escalation.owners) or "-",
            excerpt=escape(truncate(mention_excerpt(mention), EXCERPT_LIMIT)),
        )
        blocks.append({"type": "section", "block_id": f"escalation_{position}", "text": markup(line)})
    hidden = len(items) - LIST_LIMIT
    if hidden > 0:
        more = t_plural("flag.list_more", hidden, lang, count=hidden)
        blocks.append({"type": "context", "block_id": "more", "elements": [plain_text(more, TEXT_LIMIT)]})
    return {"text": title, "blocks": blocks}


def flag_modal(mention: Mention, *, private_metadata: str, lang: str) -> dict[str, object]:
    """Asked by the card's Flag button and the message shortcut: an optional official and note."""
    return {
        "type": "modal",
        "callback_id": FLAG_MODAL,
        "private_metadata": private_metadata,
        "title": plain_text(t("modal.flag.title", lang), MODAL_TITLE_LIMIT),
        "submit": plain_text(t("modal.flag.submit", lang), MODAL_TITLE_LIMIT),
        "close": plain_text(t("modal.cancel", lang), MODAL_TITLE_LIMIT),
        "blocks": [
            {"type": "context", "block_id": "mention", "elements": [mrkdwn(mention_excerpt(mention))]},
            {
                "type": "input",
                "block_id": "official",
                "optional": True,
                "label": plain_text(t("modal.flag.official", lang), 2000),
                "hint": plain_text(t("modal.flag.official_hint", lang), 2000),
                "element": {"type": "users_select", "action_id": "user"},
            },
            _text_input("note", t("modal.flag.note", lang), NOTE_INPUT_LIMIT, optional=True),
        ],
    }


def answer_modal(escalation: Escalation, mention: Mention, lang: str) -> dict[str, object]:
    """The official writes the answer; it is kept with the escalation for drafting replies."""
    return {
        "type": "modal",
        "callback_id": ANSWER_MODAL,
        "private_metadata": str(escalation.id),
        "title": plain_text(t("modal.answer.title", lang), MODAL_TITLE_LIMIT),
        "submit": plain_text(t("modal.answer.submit", lang), MODAL_TITLE_LIMIT),
        "close": plain_text(t("modal.cancel", lang), MODAL_TITLE_LIMIT),
        "blocks": [
            {"type": "context", "block_id": "mention", "elements": [mrkdwn(mention_excerpt(mention))]},
            _text_input("answer", t("modal.answer.label", lang), ANSWER_INPUT_LIMIT, optional=False),
        ],
    }


def reason_modal(escalation: Escalation, outcome: str, lang: str) -> dict[str, object]:
    """Asked before an escalation ends as `not_ours` or `dismissed`: the reason is required."""
    label_key = "button.not_ours" if outcome == "not_ours" else "button.escalation_dismiss"
    return {
        "type": "modal",
        "callback_id": REASON_MODAL,
        "private_metadata": json.dumps({"id": escalation.id, "outcome": outcome}),
        "title": plain_text(t(label_key, lang), MODAL_TITLE_LIMIT),
        "submit": plain_text(t("modal.reason.submit", lang), MODAL_TITLE_LIMIT),
        "close": plain_text(t("modal.cancel", lang), MODAL_TITLE_LIMIT),
        "blocks": [_text_input("reason", t("modal.reason.label", lang), REASON_INPUT_LIMIT, optional=False)],
    }


def _text_input(block_id: str, label: str, max_length: int, *, optional: bool) -> dict[str, object]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain_text(label, 2000),
        "element": {"type": "plain_text_input", "action_id": "text", "multiline": True, "max_length": max_length},
    }


def _buttons(escalation: Escalation, lang: str) -> list[dict[str, object]]:
    buttons: list[dict[str, object]] = []
    for action_id, label_key, style in STATE_BUTTONS.get(escalation.state, ()):
        button: dict[str, object] = {
            "type": "button",
            "action_id": action_id,
            "text": plain_text(t(label_key, lang), 75),
            "value": str(escalation.id),
        }
        if style:
            button["style"] = style
        buttons.append(button)
    return buttons


def _fallback(escalation: Escalation, mention: Mention, lang: str) -> str:
    """The notification text; it carries the officials' mentions, so they are notified."""
    excerpt = escape(mention_excerpt(mention))
    if escalation.officials:
        return t("escalation.fallback", lang, id=escalation.id, officials=user_refs(escalation.officials),
                 excerpt=excerpt)
    return t("escalation.fallback_nobody", lang, id=escalation.id, excerpt=excerpt)


def _sentence(text: str, block_id: str) -> dict[str, object]:
    """A one-section message of our own markup; the notification text is the same markup."""
    return {"text": text, "blocks": [{"type": "section", "block_id": block_id, "text": markup(text)}]}
