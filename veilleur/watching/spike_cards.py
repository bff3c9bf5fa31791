"""The spike alert message: a pure function, facts and summary in, `{"text": …, "blocks": […]}` out.

Numbers are ours. Everything else came from outside (terms are words of the mentions, the summary is the LLM's or
a mention's) and reaches Slack escaped, cut to a budget, in verbatim mrkdwn; the whole stays within Block Kit's
limits whatever the input.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from veilleur.assist.summary_cards import clean, source_name
from veilleur.core.i18n import format_datetime, format_number, t, t_plural
from veilleur.slack.cards import SOURCES, UNKNOWN_SOURCE_EMOJI, mention_line, stance_shares_line
from veilleur.slack.markup import escape, markup, phrase_line
from veilleur.watching.spike_facts import SpikeFacts, SpikeSummary

NAME_LIMIT = 80
TERM_LIMIT = 40
SUMMARY_LIMIT = 600
QUOTE_LIMIT = 300
DETAIL_LIMIT = 200


def spike_alert(
    facts: SpikeFacts, summary: SpikeSummary, *, until: datetime, lang: str, tz: ZoneInfo, reach_tiers: bool = False
) -> dict[str, object]:
    """The alert for one spike. `until` is when the watcher's cooldown ends; `reach_tiers` shows authors' reach as
    tiers (PRIVACY_PROFILE=public-body)."""
    volume = facts.volume
    watcher = clean(volume.watcher, NAME_LIMIT)
    usual = _usual(volume.baseline, len(volume.history), lang)
    headline = [t_plural("spike.volume", volume.recent, lang, count=volume.recent, usual=usual)]
    if volume.history and volume.baseline >= 1:
        headline.append(t("spike.ratio", lang, ratio=format_number(volume.recent / volume.baseline, lang)))
    title = t("spike.title", lang, watcher=escape(watcher))
    blocks: list[dict[str, object]] = [
        {
            "type": "section",
            "block_id": "volume",
            "text": markup(f":chart_with_upwards_trend: *{title}*\n{' · '.join(headline)}"),
        },
        {"type": "context", "block_id": "baseline", "elements": [markup(_baseline_note(facts, lang))]},
    ]
    if summary.text:
        blocks.append({"type": "section", "block_id": "summary", "text": markup(_summary(summary, lang))})
        blocks.append({"type": "context", "block_id": "summary_how", "elements": [markup(_how(summary, lang))]})
    if facts.terms:
        terms = " · ".join(f"{escape(clean(term, TERM_LIMIT))} ({count})" for term, count in facts.terms)
        heading = t("common.labelled", lang, label=t("spike.terms", lang), text=terms)
        blocks.append({"type": "section", "block_id": "terms", "text": markup(heading)})
    if facts.sources:
        sources = " · ".join(
            f"{_emoji(source)} {escape(source_name(source))} {count}" for source, count in facts.sources
        )
        heading = t("common.labelled", lang, label=t("spike.sources", lang), text=sources)
        blocks.append({"type": "section", "block_id": "sources", "text": markup(heading)})
    if facts.stances is not None and facts.stances.total:
        heading = t("common.labelled", lang, label=t("spike.stances", lang),
                    text=escape(stance_shares_line(facts.stances, lang)))
        blocks.append({"type": "section", "block_id": "stances", "text": markup(heading)})
    if facts.top:
        lines = "\n".join(f"• {mention_line(found.mention, lang, reach_tiers=reach_tiers)}" for found in facts.top)
        blocks.append({"type": "section", "block_id": "top", "text": markup(f"*{t('spike.top', lang)}*\n{lines}")})
    cooldown = t("spike.cooldown", lang, time=format_datetime(until, tz, lang))
    blocks.append({"type": "context", "block_id": "cooldown", "elements": [markup(cooldown)]})
    fallback = t_plural("spike.fallback", volume.recent, lang, watcher=watcher, count=volume.recent, usual=usual)
    return {"text": escape(fallback), "blocks": blocks}


def _usual(baseline: float, days: int, lang: str) -> str:
    return format_number(baseline, lang) if days else t("spike.none", lang)


def _baseline_note(facts: SpikeFacts, lang: str) -> str:
    days = len(facts.volume.history)
    if not days:
        # Without history the reference is the floor.
        floor = facts.volume.reference
        return t_plural("spike.floor", floor, lang, count=format_number(floor, lang))
    return t_plural("spike.baseline", days, lang, count=days)


def _summary(summary: SpikeSummary, lang: str) -> str:
    heading = f"*{t('spike.summary', lang)}*"
    if summary.fallback is None:
        return f"{heading}\n{escape(clean(summary.text, SUMMARY_LIMIT))}"
    sentence = t(
        "spike.summary.extract",
        lang,
        author=escape(clean(summary.author, NAME_LIMIT)) or "?",
        source=escape(source_name(summary.source)),
        excerpt=escape(clean(summary.text, QUOTE_LIMIT)),
    )
    return f"{heading}\n{sentence}"


def _how(summary: SpikeSummary, lang: str) -> str:
    if summary.fallback is None:
        return t("spike.summary.llm", lang)
    detail = escape(phrase_line(summary.detail, lang, DETAIL_LIMIT)) or "?"
    return t(f"spike.summary.fallback.{summary.fallback}", lang, detail=detail)


def _emoji(source: str) -> str:
    return SOURCES[source][0] if source in SOURCES else UNKNOWN_SOURCE_EMOJI
