"""The false claims' Slack surfaces: pure functions, data in, Block Kit out.

A claim's text, key phrases and correction are the team's words, but pasted from posts: like every outside text they
are escaped, cut to a budget and sent in verbatim mrkdwn or plain_text.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from veilleur.assist.summary_cards import clean, source_name
from veilleur.core.i18n import format_datetime, t, t_plural
from veilleur.core.mentions import Mention
from veilleur.core.reach import LEVEL_NAMES
from veilleur.slack.cards import SOURCES, UNKNOWN_SOURCE_EMOJI, mention_line
from veilleur.slack.markup import escape, link, markup, plain_text, web_url
from veilleur.storage.claims import Claim, ClaimSpread

CLAIM_MODAL = "claim_modal"
CLAIM_TEXT_LIMIT = 1500
CLAIM_SHOWN_LIMIT = 600
LIST_TEXT_LIMIT = 120
PHRASES_INPUT_LIMIT = 1000
CORRECTION_INPUT_LIMIT = 1500
CORRECTION_SHOWN_LIMIT = 300
PHRASE_SHOWN_LIMIT = 60
MAX_SOURCES = 6
MODAL_TITLE_LIMIT = 24
LIST_LIMIT = 3000


def claim_modal(
    text: str, phrases: Sequence[str], *, channel: str | None, private_metadata: str, lang: str
) -> dict[str, object]:
    """Marking a claim: its text (prefilled with the post's), the proposed key phrases, an optional correction and
    the channel where its message goes."""
    channel_element: dict[str, object] = {
        "type": "conversations_select",
        "action_id": "channel",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if channel:
        channel_element["initial_conversation"] = channel
    return {
        "type": "modal",
        "callback_id": CLAIM_MODAL,
        "private_metadata": private_metadata,
        "title": plain_text(t("claim.modal.title", lang), MODAL_TITLE_LIMIT),
        "submit": plain_text(t("claim.modal.submit", lang), MODAL_TITLE_LIMIT),
        "close": plain_text(t("modal.cancel", lang), MODAL_TITLE_LIMIT),
        "blocks": [
            _input("text", t("claim.modal.text", lang), text[:CLAIM_TEXT_LIMIT], CLAIM_TEXT_LIMIT),
            _input("phrases", t("claim.modal.phrases", lang), "\n".join(phrases), PHRASES_INPUT_LIMIT,
                   hint=t("claim.modal.phrases_hint", lang), optional=True),
            _input("correction", t("claim.modal.correction", lang), "", CORRECTION_INPUT_LIMIT,
                   hint=t("claim.modal.correction_hint", lang), optional=True),
            {"type": "input", "block_id": "channel", "label": plain_text(t("claim.modal.channel", lang), 2000),
             "element": channel_element},
        ],
    }


def _input(
    block_id: str, label: str, initial: str, limit: int, *, hint: str | None = None, optional: bool = False
) -> dict[str, object]:
    element: dict[str, object] = {"type": "plain_text_input", "action_id": "value", "multiline": True,
                                  "max_length": limit}
    if initial.strip():
        element["initial_value"] = initial
    block: dict[str, object] = {"type": "input", "block_id": block_id, "optional": optional,
                                "label": plain_text(label, 2000), "element": element}
    if hint:
        block["hint"] = plain_text(hint, 2000)
    return block


def claim_message(claim: Claim, spread: ClaimSpread, *, lang: str, tz: ZoneInfo) -> dict[str, object]:
    """The claim's message in its channel: the claim, its correction, and how far it went so far."""
    title = t("claim.title", lang, id=claim.id)
    state = t("claim.state.open", lang) if claim.state == "open" else t("claim.state.closed", lang)
    quoted = "\n".join(f"> {line}" for line in escape(clean(claim.text, CLAIM_SHOWN_LIMIT)).splitlines() or [""])
    blocks: list[dict[str, object]] = [
        {"type": "section", "block_id": "claim", "text": markup(f":no_entry: *{title}* · {state}\n{quoted}")},
        {"type": "context", "block_id": "phrases", "elements": [markup(_phrases(claim, lang))]},
        {"type": "section", "block_id": "correction", "text": markup(correction_line(claim, lang, tz))},
        {"type": "section", "block_id": "spread", "text": markup(spread_text(claim, spread, lang))},
    ]
    marked = t("claim.marked_by", lang, user=f"<@{claim.created_by}>",
               at=format_datetime(claim.created_at, tz, lang))
    if claim.state == "closed" and claim.closed_at is not None:
        marked += " · " + t("claim.closed_by", lang, user=f"<@{claim.closed_by}>",
                             at=format_datetime(claim.closed_at, tz, lang))
    else:
        marked += " · " + t("claim.how_to_close", lang, id=claim.id)
    blocks.append({"type": "context", "block_id": "marked", "elements": [markup(marked)]})
    fallback = t_plural("claim.fallback", spread.mentions, lang, id=claim.id, count=spread.mentions,
                        text=escape(clean(claim.text, LIST_TEXT_LIMIT)))
    return {"text": fallback, "blocks": blocks}


def _phrases(claim: Claim, lang: str) -> str:
    phrases = " · ".join(f"“{escape(clean(phrase, PHRASE_SHOWN_LIMIT))}”" for phrase in claim.phrases)
    how = phrases or t("claim.no_phrases", lang)
    if claim.fingerprint is not None:
        how = t("claim.found_by_copies", lang, phrases=how)
    return t("common.labelled", lang, label=t("claim.found_by", lang), text=how)


def correction_line(claim: Claim, lang: str, tz: ZoneInfo) -> str:
    """The claim's correction (linked) and when it was published, or how to record one."""
    if not claim.corrected:
        return ":grey_question: " + t("claim.no_correction", lang, id=claim.id)
    parts = []
    if claim.correction_text:
        parts.append(escape(clean(claim.correction_text, CORRECTION_SHOWN_LIMIT)))
    url = web_url(claim.correction_url or "")
    if url is not None:
        parts.append(link(url, clean(claim.correction_url or "", 80)))
    assert claim.correction_published_at is not None
    at = format_datetime(claim.correction_published_at, tz, lang)
    return ":white_check_mark: " + t("claim.correction", lang, correction=" ".join(parts), at=at)


def spread_text(claim: Claim, spread: ClaimSpread, lang: str) -> str:
    """How many mentions, where, how far they reach, and how many came before and after the correction."""
    lines = [f"*{t_plural('claim.mentions', spread.mentions, lang, count=spread.mentions)}*"]
    if spread.by_source:
        sources = " · ".join(f"{_emoji(source)} {escape(source_name(source))} {count}"
                             for source, count in spread.by_source[:MAX_SOURCES])
        lines.append(t("common.labelled", lang, label=t("claim.sources", lang), text=sources))
    levels = [t_plural(f"claim.level.{level}", spread.by_level[level], lang, count=spread.by_level[level])
              for level in reversed(LEVEL_NAMES) if spread.by_level.get(level)]
    if levels:
        lines.append(t("common.labelled", lang, label=t("claim.reach", lang), text=" · ".join(levels)))
    if claim.corrected:
        lines.append(t("claim.before_after", lang, before=spread.before_correction, after=spread.after_correction))
    return "\n".join(lines)


def acceleration_reply(
    claim: Claim, mentions: Sequence[Mention], *, this_hour: int, previous_hour: int, lang: str,
    reach_tiers: bool = False,
) -> dict[str, object]:
    """The thread reply when a claim spreads faster: the new mentions, best reach first."""
    headline = t_plural("claim.accelerating", this_hour, lang, id=claim.id, count=this_hour, previous=previous_hour)
    lines = "\n".join(f"• {mention_line(mention, lang, reach_tiers=reach_tiers)}" for mention in mentions)
    return {
        "text": headline,
        "blocks": [
            {"type": "section", "block_id": "accelerating", "text": markup(f":chart_with_upwards_trend: {headline}")},
            {"type": "section", "block_id": "new_mentions", "text": markup(lines or "…")},
        ],
    }


def claim_list(claims: Sequence[tuple[Claim, ClaimSpread]], *, lang: str) -> dict[str, object]:
    """`/claim list`: the open claims, then the latest closed, each with its mentions and before/after counts."""
    if not claims:
        text = t("claim.list.empty", lang)
        return {"text": text, "blocks": [{"type": "section", "block_id": "empty", "text": markup(text)}]}
    lines = [f"*{t('claim.list.title', lang)}*"]
    for claim, spread in claims:
        state = t("claim.state.open", lang) if claim.state == "open" else t("claim.state.closed", lang)
        counts = t_plural("claim.mentions", spread.mentions, lang, count=spread.mentions)
        if claim.corrected:
            counts += " · " + t("claim.before_after", lang, before=spread.before_correction,
                                after=spread.after_correction)
        else:
            counts += " · " + t("claim.uncorrected", lang)
        lines.append(f"• *#{claim.id}* ({state}) {escape(clean(claim.text, LIST_TEXT_LIMIT))} — {counts}")
    text = "\n".join(lines)
    return {"text": t("claim.list.title", lang),
            "blocks": [{"type": "section", "block_id": "claims", "text": markup(text, LIST_LIMIT)}]}


def _emoji(source: str) -> str:
    return SOURCES.get(source, (UNKNOWN_SOURCE_EMOJI, source))[0]
