"""Slack messages for /summarize (and the "working on it" and problem messages /draft shares): pure functions.

Everything in a Summary that came from outside (authors, messages, and the LLM's points and next steps) is
escaped and cut to a budget; numbers are ours. Each section stays under Block Kit's 3000 characters.
"""

from __future__ import annotations

import re
from datetime import timedelta

from veilleur.assist.conversations import MAX_MESSAGES, Conversation, Post
from veilleur.assist.summarize import AuthorStat, StanceLine, Summary
from veilleur.core.i18n import format_count, format_reach, t, t_plural
from veilleur.core.stance_synthesis import synthesis_sentence
from veilleur.core.text import one_line, truncate, without_invisible
from veilleur.slack.cards import SOURCES
from veilleur.slack.markup import escape, link, markup, phrase_line

# A summary of hostile text fills every list to its cap: this keeps the French one (narrow no-break spaces are six
# characters each in the JSON sent to Slack) under the ~12k of blocks Slack accepts.
ITEM_LIMIT = 370
NAME_LIMIT = 80
EXCERPT_LIMIT = 200
DETAIL_LIMIT = 200
# Most messages against: worth an official's eye.
FLAG_SHARE = 50
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def clean(text: str, limit: int) -> str:
    """Outside text for one line, unescaped: whitespace collapsed, invisible characters dropped, cut to `limit`."""
    return truncate(one_line(without_invisible(text)), limit)


def source_name(source: str | None) -> str:
    if source == "slack":
        return "Slack"
    return SOURCES[source][1] if source in SOURCES else clean(source or "?", NAME_LIMIT)


def channel_markup(channel: str | None) -> str:
    """A `<#C…>` link for a real channel ID, else the escaped text."""
    return f"<#{channel}>" if channel and _CHANNEL_ID.match(channel) else escape(channel or "?")


def window_text(window: timedelta, lang: str) -> str:
    hours = int(window.total_seconds() // 3600)
    if hours % (24 * 7) == 0:
        return t_plural("window.weeks", hours // (24 * 7), lang, count=hours // (24 * 7))
    if hours % 24 == 0:
        return t_plural("window.days", hours // 24, lang, count=hours // 24)
    return t_plural("window.hours", hours, lang, count=hours)


def working_message(kind: str, lang: str) -> dict[str, object]:
    """ "Working on it", shown at once and replaced by the answer. `kind` is "summary", "draft" or "redraft"."""
    sentence = t(f"assist.working.{kind}", lang)
    return {"text": sentence, "blocks": [{"type": "section", "block_id": "working", "text": markup(sentence)}]}


def problem_message(key: str, lang: str, **params: str) -> dict[str, object]:
    """A sentence of the catalogue with outside-text `params` escaped, as a message."""
    sentence = t(key, lang, **{name: escape(clean(value, DETAIL_LIMIT)) for name, value in params.items()})
    return {"text": sentence, "blocks": [{"type": "section", "block_id": "problem", "text": markup(sentence)}]}


def summary_message(summary: Summary, lang: str) -> dict[str, object]:
    title = _title(summary, lang)
    covered = t_plural("summary.covered", summary.covered, lang, count=summary.covered)
    blocks: list[dict[str, object]] = [
        {"type": "section", "block_id": "title", "text": markup(f":memo: *{title}* · {covered}")},
        {"type": "context", "block_id": "how", "elements": [markup(_how(summary, lang))]},
    ]
    conversation = summary.conversation
    if conversation.problem:
        blocks.append({"type": "context", "block_id": "partial", "elements": [markup(_partial(conversation, lang))]})
    if summary.fallback is None:
        points = [escape(clean(point, ITEM_LIMIT)) for point in summary.main_points]
        _add_list(blocks, "points", t("summary.main_points", lang), points)
    else:
        quotes = [_quote(post, lang) for post in summary.key_posts]
        _add_list(blocks, "points", t("summary.key_posts", lang), quotes)
    tiers = summary.conversation.reach_tiers
    stances = [_stance(line, lang, tiers) for line in summary.stances]
    if summary.synthesis is not None:
        stances.append(escape(synthesis_sentence(summary.synthesis, lang)))
    _add_list(blocks, "stances", t("summary.stances", lang), stances)
    heading = t("summary.influential" if summary.by_reach else "summary.active", lang)
    _add_list(blocks, "influential", heading, [_author(stat, lang, tiers) for stat in summary.influential])
    labelled = [_author(stat, lang, tiers) for stat in summary.labelled]
    _add_list(blocks, "labelled", t("summary.labelled", lang), labelled)
    questions = [_quote(post, lang) for post in summary.questions]
    _add_list(blocks, "questions", t("summary.questions", lang), questions)
    _add_list(blocks, "next_steps", t("summary.next_steps", lang), _next_steps(summary, lang))
    return {"text": escape(f"{_plain_title(summary, lang)} · {covered}"), "blocks": blocks}


def _quote(post: Post, lang: str) -> str:
    """ "*Ann*: what she said", as markup."""
    return t("common.labelled", lang, label=escape(clean(post.author, NAME_LIMIT)),
             text=escape(clean(post.text, ITEM_LIMIT)))


def _partial(conversation: Conversation, lang: str) -> str:
    """Why the summary covers less than the whole conversation, as markup."""
    if conversation.problem == "conversation.truncated":
        return t_plural("summary.conversation.truncated", MAX_MESSAGES, lang, count=MAX_MESSAGES)
    detail = escape(phrase_line(conversation.problem_detail, lang, DETAIL_LIMIT))
    return t(f"summary.{conversation.problem}", lang, detail=detail)


def _title(summary: Summary, lang: str) -> str:
    conversation = summary.conversation
    if conversation.kind == "thread":
        return t("summary.title.thread", lang, channel=channel_markup(conversation.channel))
    if conversation.kind == "channel":
        window = window_text(conversation.window or timedelta(hours=24), lang)
        return t("summary.title.channel", lang, channel=channel_markup(conversation.channel), window=window)
    excerpt = clean(conversation.excerpt or "", EXCERPT_LIMIT) or "…"
    quoted = link(conversation.url, excerpt) if conversation.url else escape(excerpt)
    return t("summary.title.mention", lang, source=escape(source_name(conversation.source)), excerpt=quoted)


def _plain_title(summary: Summary, lang: str) -> str:
    """The title for notifications, where links and channel references do not render."""
    conversation = summary.conversation
    if conversation.kind == "mention":
        excerpt = clean(conversation.excerpt or "", EXCERPT_LIMIT // 2) or "…"
        return t("summary.title.mention", lang, source=source_name(conversation.source), excerpt=excerpt)
    return t("summary.title.plain", lang)


def _how(summary: Summary, lang: str) -> str:
    if summary.fallback is None:
        return t_plural("summary.llm", summary.chunks, lang, count=summary.chunks)
    detail = escape(phrase_line(summary.fallback_detail, lang, DETAIL_LIMIT)) or "?"
    return t(f"summary.fallback.{summary.fallback}", lang, detail=detail)


def _stance(line: StanceLine, lang: str, tiers: bool) -> str:
    parts = [t_plural("summary.stance_line", line.count, lang, stance=t(f"stance.{line.label}", lang),
                      count=line.count, percent=line.percent)]
    if line.count:
        parts.append(t_plural("summary.authors", line.authors, lang, count=line.authors))
    if line.reach is not None and line.count:
        # With tiers, the sum of each author's tier floor is only what the stance reaches at least.
        key = "summary.reach_at_least" if tiers else "summary.reach"
        parts.append(t(key, lang, reach=format_count(line.reach, lang)))
    if line.by_label:
        items = ", ".join(f"{t(f'label.{label}', lang)} {count}" for label, count in line.by_label)
        parts.append(t("summary.including", lang, items=items))
    return " · ".join(parts)


def _author(stat: AuthorStat, lang: str, tiers: bool) -> str:
    parts = [f"*{escape(clean(stat.author, NAME_LIMIT))}*"]
    if stat.reach is not None:
        parts.append(format_reach(stat.reach, lang, tiers=tiers))
    parts.append(t_plural("summary.posts", stat.posts, lang, count=stat.posts))
    if stat.labels:
        parts.append(", ".join(t(f"label.{label}", lang) for label in stat.labels))
    if stat.stances:
        parts.append(", ".join(f"{t(f'stance.{label}', lang).lower()} {count}" for label, count in stat.stances))
    return " · ".join(parts)


def _next_steps(summary: Summary, lang: str) -> list[str]:
    """The LLM's suggestions; without an LLM, the few that follow from the figures."""
    if summary.fallback is None:
        return [escape(clean(step, ITEM_LIMIT)) for step in summary.next_steps]
    steps = []
    if summary.questions:
        steps.append(t_plural("summary.step.answer", len(summary.questions), lang, count=len(summary.questions)))
    against = next((line for line in summary.stances if line.label == "against"), None)
    if against is not None and against.percent >= FLAG_SHARE:
        steps.append(t("summary.step.flag", lang, percent=against.percent))
    return steps


def _add_list(blocks: list[dict[str, object]], block_id: str, heading: str, items: list[str]) -> None:
    if items:
        text = f"*{heading}*\n" + "\n".join(f"• {item}" for item in items)
        blocks.append({"type": "section", "block_id": block_id, "text": markup(text)})

