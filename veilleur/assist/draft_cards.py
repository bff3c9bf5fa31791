"""The Slack message showing a drafted reply: pure functions.

The draft is outside text (the model's, or a template filled with outside text): it is escaped and shown in a
code block, which is the "copy" block (Slack offers copying a code block as it is), and in no other form. The
buttons carry `state`, the handler's encoding of what to redraft.

For a hostile post the message is the charter's guidance instead (escaped, as plain reading, never in a copy block:
there is nothing to post), with one button to draft a reply anyway when the post was wrongly marked.
"""

from __future__ import annotations

from veilleur.assist.conversations import Post
from veilleur.assist.drafting import Draft
from veilleur.assist.summary_cards import DETAIL_LIMIT, NAME_LIMIT, clean, source_name
from veilleur.core.i18n import t
from veilleur.slack.markup import cut_markup, escape, link, markup, mrkdwn, phrase_line, plain_text

# (action_id, catalogue key of the label); each button's value is the draft's state.
DRAFT_BUTTONS = (
    ("draft_regenerate", "button.regenerate"),
    ("draft_shorter", "button.shorter"),
    ("draft_formal", "button.formal"),
)
CODE_FENCE = "```"
DRAFT_ANYWAY = "draft_anyway"
# Room inside a section's 3000 characters for the draft once escaped, between its two fences.
DRAFT_MARKUP_LIMIT = 3000 - 2 * len(CODE_FENCE) - 2


def draft_message(
    draft: Draft, *, subject: Post, state: str, lang: str, requester: str | None = None,
    claim: tuple[int, bool] | None = None,
) -> dict[str, object]:
    """The draft for `subject`. With `requester` (a user ID) it is shown in a thread and says whom it is for. With
    `claim` (its id, and whether a correction is recorded), the post repeats a false claim the team follows.

    A draft for a hostile post (`draft.hostile`) is the charter's guidance: see `guidance_message`."""
    if draft.hostile is not None:
        return guidance_message(draft, subject=subject, state=state, lang=lang, requester=requester)
    author = escape(clean(subject.author, NAME_LIMIT))
    title = t("draft.title", lang, author=author, source=escape(source_name(subject.source)))
    notes = [_how(draft, lang)]
    if claim is not None:
        claim_id, corrected = claim
        notes.append(t("draft.claim_corrected" if corrected else "draft.claim_uncorrected", lang, id=claim_id))
    if draft.used_answer and not (claim is not None and claim[1]):
        notes.append(t("draft.used_answer", lang))
    notes.append(t("draft.for_user", lang, user=f"<@{requester}>") if requester else t("draft.only_you", lang))
    blocks: list[dict[str, object]] = [
        {"type": "section", "block_id": "title", "text": markup(f":memo: {title}")},
        {"type": "context", "block_id": "how", "elements": [markup(note) for note in notes]},
        {"type": "section", "block_id": "draft", "text": markup(code_block(draft.text))},
        {
            "type": "actions",
            "block_id": "draft_actions",
            "elements": [
                {"type": "button", "action_id": action_id, "text": plain_text(t(key, lang), 75), "value": state}
                for action_id, key in DRAFT_BUTTONS
            ],
        },
        {"type": "context", "block_id": "copy_hint", "elements": [markup(t("draft.copy_hint", lang))]},
    ]
    return {"text": escape(t("draft.fallback_text", lang, author=clean(subject.author, NAME_LIMIT))), "blocks": blocks}


def guidance_message(
    draft: Draft, *, subject: Post, state: str, lang: str, requester: str | None = None
) -> dict[str, object]:
    """What to do about a hostile post, from the charter: a heading, who marked it, the guidance, and a button to
    draft a reply anyway (`state` asks for one)."""
    assert draft.hostile is not None
    author = escape(clean(subject.author, NAME_LIMIT))
    title = t("draft.hostile.title", lang, author=author, source=escape(source_name(subject.source)))
    notes = [
        t("draft.hostile.by_word_list" if draft.hostile.estimate else "draft.hostile.by_model", lang),
        t("draft.for_user", lang, user=f"<@{requester}>") if requester else t("draft.only_you", lang),
    ]
    anyway = {"type": "button", "action_id": DRAFT_ANYWAY, "text": plain_text(t("button.draft_anyway", lang), 75),
              "value": state}
    blocks: list[dict[str, object]] = [
        {"type": "section", "block_id": "title", "text": markup(f":shield: {title}")},
        {"type": "context", "block_id": "how", "elements": [markup(note) for note in notes]},
        {"type": "section", "block_id": "guidance", "text": mrkdwn(draft.text)},
        {"type": "actions", "block_id": "guidance_actions", "elements": [anyway]},
        {"type": "context", "block_id": "anyway_hint", "elements": [markup(t("draft.hostile.anyway_hint", lang))]},
    ]
    fallback = t("draft.hostile.fallback_text", lang, author=clean(subject.author, NAME_LIMIT))
    return {"text": escape(fallback), "blocks": blocks}


def code_block(text: str) -> str:
    """`text` escaped inside a code block; a run of backticks in it cannot close the block early."""
    body = escape(text.replace(CODE_FENCE, "``\u200b`")).strip() or " "
    return f"{CODE_FENCE}\n{cut_markup(body, DRAFT_MARKUP_LIMIT)}\n{CODE_FENCE}"


def _how(draft: Draft, lang: str) -> str:
    if draft.fallback is None:
        return t("draft.llm", lang, language=draft.lang.upper())
    detail = escape(phrase_line(draft.fallback_detail, lang, DETAIL_LIMIT)) or "?"
    return t(f"draft.fallback.{draft.fallback}", lang, detail=detail)


def draft_in_thread_notice(permalink: str | None, lang: str) -> dict[str, object]:
    """The requester's answer when the draft went to the thread (DRAFT_VISIBILITY=thread)."""
    sentence = t("draft.in_thread", lang, link=link(permalink, permalink) if permalink else "")
    return {"text": sentence, "blocks": [{"type": "section", "block_id": "in_thread", "text": markup(sentence)}]}
