"""The digest as a Slack message: pure Block Kit, readable on a phone, within limits whatever the volume.

Names, labels, excerpts, error messages and the LLM's narrative are outside text: escaped, cut to a budget, in
verbatim mrkdwn. Each section has a budget of characters and a number of lines, so the message stays within
Block Kit's limits (3000 characters per text, 50 blocks) and under 10k characters of blocks, however many
watchers, sources, themes or escalations there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from veilleur.core.i18n import format_count, format_datetime, format_duration, format_reach, t, t_plural
from veilleur.core.stance_synthesis import synthesis_sentence
from veilleur.core.text import one_line, truncate, without_invisible
from veilleur.digest.model import (
    ClaimFigures,
    Digest,
    HostilePosts,
    Narrative,
    SourceFailure,
    Theme,
    TopMention,
    Volume,
)
from veilleur.digest.narrative import comparisons, escalation_counts, trend_text
from veilleur.escalation.cards import user_refs
from veilleur.slack.cards import SOURCES, UNKNOWN_SOURCE_EMOJI, stance_shares_line
from veilleur.slack.markup import escape, link, markup, mrkdwn, phrase_line, plain_text, web_url

HEADER_LIMIT = 150
NAME_LIMIT = 60
LABEL_LIMIT = 80
EXCERPT_LIMIT = 90
ERROR_LIMIT = 150
# Per block, in characters of markup: together about 9k, under the ~12k of blocks at which Slack refuses a message.
NARRATIVE_LIMIT = 1200
SECTION_LIMIT = 1200
THEME_LIMIT = 450
CONTEXT_LIMIT = 300
MAX_THEMES = 5
MAX_WATCHERS = 8
MAX_SOURCES = 6
MAX_SCOPE = 10
MAX_TOP = 5
MAX_AUTHORS = 3
MAX_OPEN = 5
MAX_FAILURES = 6
MAX_CLAIMS = 5
FALLBACK_LIMIT = 300


def digest_message(
    digest: Digest, narrative: Narrative, *, lang: str, tz: ZoneInfo, reach_tiers: bool = False
) -> dict[str, Any]:
    """{"text": fallback, "blocks": [...]} for chat.postMessage; outside text escaped. `reach_tiers` shows authors'
    reach as tiers, not counts (PRIVACY_PROFILE=public-body)."""
    start, end = format_datetime(digest.period.start, tz, lang), format_datetime(digest.period.end, tz, lang)
    title = t("digest.title", lang, start=start, end=end)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "block_id": "title", "text": plain_text(title, HEADER_LIMIT)},
        {"type": "context", "block_id": "scope", "elements": [mrkdwn(_scope(digest, lang), CONTEXT_LIMIT)]},
    ]
    if narrative.text.strip():
        blocks.append({"type": "section", "block_id": "narrative", "text": mrkdwn(narrative.text, NARRATIVE_LIMIT)})
    blocks.append({"type": "context", "block_id": "narrative_source",
                   "elements": [plain_text(_narrative_source(narrative, lang), CONTEXT_LIMIT)]})
    blocks += [{"type": "divider"}, _section("volume", _volume_text(digest, lang))]
    if digest.top_mentions:
        blocks.append(_section("top", _top_text(digest.top_mentions, lang, reach_tiers)))
    blocks += _theme_blocks(digest, lang, reach_tiers)
    blocks.append(_section("escalations", _escalations_text(digest, lang)))
    if digest.claims is not None:
        blocks.append(_section("claims", _claims_text(digest.claims, lang)))
    blocks.append(_section("health", _health_text(digest.failures, digest.unpolled, tz, lang)))
    return {"text": _fallback(digest, start, end, lang), "blocks": blocks}


def _section(block_id: str, text: str, limit: int = SECTION_LIMIT) -> dict[str, Any]:
    return {"type": "section", "block_id": block_id, "text": markup(text, limit)}


def _scope(digest: Digest, lang: str) -> str:
    names = [_clean(name, NAME_LIMIT) for name in digest.watchers[:MAX_SCOPE]]
    rest = len(digest.watchers) - MAX_SCOPE
    if rest > 0:
        names.append(t_plural("digest.more", rest, lang, count=rest))
    return t("digest.scope", lang, names=", ".join(names) or "-")


def _narrative_source(narrative: Narrative, lang: str) -> str:
    if narrative.by_llm:
        return t("digest.narrative.llm", lang)
    reason = t(f"digest.reason.{narrative.fallback or 'not_configured'}", lang)
    return t("digest.narrative.template", lang, reason=reason)


def _volume_text(digest: Digest, lang: str) -> str:
    overall = digest.overall
    lines = [
        f"*{escape(t('digest.volume.title', lang))}*",
        t_plural("digest.volume.total", overall.count, lang, count=format_count(overall.count, lang)),
        escape(" · ".join(comparisons(overall, lang))),
    ]
    if digest.hostile.total:
        lines.append(_hostile_text(digest.hostile, lang))
    days = _days_summed(digest.daily_volume.values())
    if any(days):
        lines.append(escape(t("digest.volume.days", lang, sparkline=sparkline(days),
                              counts=" ".join(format_count(n, lang) for n in days))))
    if len(digest.by_watcher) > 1:
        trends = {name: sparkline([n for _, n in days]) for name, days in digest.daily_volume.items()}
        lines += _volume_lines(t("digest.volume.by_watcher", lang), digest.by_watcher, MAX_WATCHERS, lang,
                               trends=trends)
    lines += _volume_lines(t("digest.volume.by_source", lang), digest.by_source, MAX_SOURCES, lang,
                           naming=_source_name)
    return "\n".join(lines)


def _hostile_text(hostile: HostilePosts, lang: str) -> str:
    parts = [t_plural("digest.volume.hostile", hostile.total, lang, count=format_count(hostile.total, lang))]
    if hostile.estimated:
        parts.append(t_plural("digest.volume.hostile_estimated", hostile.estimated, lang,
                              count=format_count(hostile.estimated, lang)))
    return ":shield: " + " · ".join(parts)


def _volume_lines(
    title: str,
    volumes: Sequence[Volume],
    limit: int,
    lang: str,
    naming: Callable[[str], str] | None = None,
    trends: Mapping[str, str] | None = None,
) -> list[str]:
    shown = [volume for volume in volumes if volume.count or volume.previous or volume.week]
    if not shown:
        return []
    lines = [f"*{escape(title)}*"]
    for volume in shown[:limit]:
        name = naming(volume.name) if naming else escape(_clean(volume.name, NAME_LIMIT))
        line = t_plural("digest.volume.line", volume.count, lang, name=name, count=format_count(volume.count, lang),
                        trend=escape(trend_text(volume, lang)))
        trend = (trends or {}).get(volume.name)
        lines.append("• " + line + (f" `{trend}`" if trend else ""))
    if len(shown) > limit:
        lines.append(escape(t_plural("digest.more", len(shown) - limit, lang, count=len(shown) - limit)))
    return lines


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(counts: Sequence[int]) -> str:
    """One bar per count, scaled to the largest (all low when all are zero): a trend any client shows, where the
    PNG chart needs matplotlib and a file upload."""
    top = max(counts, default=0)
    if top <= 0:
        return SPARKS[0] * len(counts)
    return "".join(SPARKS[round(max(count, 0) / top * (len(SPARKS) - 1))] for count in counts)


def _days_summed(per_watcher: Iterable[Sequence[tuple[date, int]]]) -> list[int]:
    """Mentions per day of every watcher together (the same days for all, oldest first)."""
    totals: dict[date, int] = {}
    for days in per_watcher:
        for day, count in days:
            totals[day] = totals.get(day, 0) + count
    return [totals[day] for day in sorted(totals)]


def _source_name(source: str) -> str:
    emoji, name = SOURCES.get(source) or (UNKNOWN_SOURCE_EMOJI, _clean(source, NAME_LIMIT) or "?")
    return f"{emoji} {escape(name)}"


def _top_text(top: Sequence[TopMention], lang: str, reach_tiers: bool) -> str:
    lines = [f"*{escape(t('digest.top.title', lang))}*"]
    lines += [f"{number}. {_mention_line(item, lang, reach_tiers)}" for number, item in enumerate(top[:MAX_TOP], 1)]
    return "\n".join(lines)


def _mention_line(item: TopMention, lang: str, reach_tiers: bool) -> str:
    """A linked excerpt, then where, who, reach and interactions: "<url|excerpt> · 🐘 Mastodon · Ann · 12k · 40"."""
    mention = item.mention
    excerpt = _clean(mention.title or mention.text, EXCERPT_LIMIT) or _clean(mention.url, EXCERPT_LIMIT) or "…"
    parts = [link(mention.url, excerpt), _source_name(mention.source)]
    author = _clean(mention.author_name or mention.author_handle, NAME_LIMIT)
    if author:
        parts.append(escape(author))
    if mention.author_reach is not None:
        parts.append(escape(format_reach(mention.author_reach, lang, tiers=reach_tiers)))
    if item.level is not None:
        parts.append(t(f"reach.level.{item.level}", lang))
    if item.engagement:
        engagement = format_count(item.engagement, lang)
        parts.append(escape(t_plural("digest.top.engagement", item.engagement, lang, count=engagement)))
    return " · ".join(parts)


def _theme_blocks(digest: Digest, lang: str, reach_tiers: bool) -> list[dict[str, Any]]:
    title = f"*{escape(t('digest.themes.title', lang))}*"
    # The team's corrections are told even on a day too quiet for themes: they are the team's own work.
    corrected = (
        [t_plural("digest.corrected", digest.corrected, lang, count=format_count(digest.corrected, lang))]
        if digest.corrected
        else []
    )
    if not digest.themes:
        if not digest.total:
            return []
        blocks = [_section("themes", f"{title}\n{escape(t('digest.themes.none', lang))}")]
        notes = corrected
    else:
        blocks = [_section("themes", title)]
        blocks += [_section(f"theme_{number}", _theme_text(theme, lang, reach_tiers), THEME_LIMIT)
                   for number, theme in enumerate(digest.themes[:MAX_THEMES], start=1)]
        sample = t_plural("digest.themes.sample", digest.clustered, lang, count=format_count(digest.clustered, lang),
                          total=format_count(digest.total, lang))
        notes = [sample, *corrected]
    if notes:
        blocks.append({"type": "context", "block_id": "themes_note",
                       "elements": [plain_text(" ".join(notes), CONTEXT_LIMIT)]})
    return blocks


def _theme_text(theme: Theme, lang: str, reach_tiers: bool) -> str:
    lines = [t_plural("digest.themes.line", theme.size, lang, label=escape(_clean(theme.label, LABEL_LIMIT)),
                      count=format_count(theme.size, lang), percent=theme.percent)]
    if theme.stance_tally is not None and theme.stance_tally.total:
        lines.append(escape(stance_shares_line(theme.stance_tally, lang)))
    else:
        stances = [t("digest.themes.stance", lang, stance=t(f"stance.{share.label}", lang), percent=share.percent)
                   for share in theme.stances if share.count]
        if stances:
            lines.append(escape(" · ".join(stances)))
    if theme.synthesis is not None:
        lines.append(escape(synthesis_sentence(theme.synthesis, lang)))
    if theme.influential:
        names = ", ".join(
            f"{escape(_clean(a.author, NAME_LIMIT))} ({_reach(a.reach or 0, lang, reach_tiers)})"
            for a in theme.influential[:MAX_AUTHORS]
        )
        lines.append(t("digest.themes.influential", lang, names=names))
    if theme.labelled:
        names = ", ".join(
            f"{escape(_clean(a.author, NAME_LIMIT))} ({', '.join(t(f'label.{label}', lang) for label in a.labels)})"
            for a in theme.labelled[:MAX_AUTHORS]
        )
        lines.append(t("digest.themes.labelled", lang, names=names))
    lines += [f"› {link(item.mention.url, _clean(item.mention.title or item.mention.text, EXCERPT_LIMIT) or '…')}"
              for item in theme.examples]
    return "\n".join(lines)


def _reach(reach: int, lang: str, tiers: bool) -> str:
    """An influential author's reach: a short count ("12k"), or the tier's words when counts are not kept."""
    return escape(format_reach(reach, lang, tiers=True)) if tiers else format_count(reach, lang)


def _escalations_text(digest: Digest, lang: str) -> str:
    figures = digest.escalations
    lines = [
        f"*{escape(t('digest.escalations.title', lang))}*",
        " · ".join(escalation_counts(figures, lang, waiting="*{}*")),
    ]
    if figures.median_to_answer is not None:
        lines.append(escape(t("digest.escalations.median", lang,
                              duration=format_duration(figures.median_to_answer, lang))))
    for item in figures.oldest_open[:MAX_OPEN]:
        escalation = item.escalation
        excerpt = _clean(item.excerpt, EXCERPT_LIMIT) or "…"
        label = link(escalation.permalink, excerpt) if escalation.permalink else escape(excerpt)
        lines.append("• " + t("digest.escalations.open_item", lang, excerpt=label,
                              age=format_duration(item.age, lang), owners=user_refs(escalation.owners) or "-"))
    rest = figures.still_open - min(len(figures.oldest_open), MAX_OPEN)
    if rest > 0:
        lines.append(escape(t_plural("digest.more", rest, lang, count=rest)))
    return "\n".join(lines)


def _claims_text(figures: ClaimFigures, lang: str) -> str:
    """The claims followed: how many, their mentions in the period, of high reach, before and after correction."""
    counts = [
        t_plural("digest.claims.open", len(figures.claims), lang, count=len(figures.claims)),
        t_plural("digest.claims.mentions", figures.mentions, lang, count=figures.mentions),
        t_plural("digest.claims.high", figures.high_reach, lang, count=figures.high_reach),
    ]
    lines = [f"*{escape(t('digest.claims.title', lang))}*", escape(" · ".join(counts))]
    for line in figures.claims[:MAX_CLAIMS]:
        parts = [t_plural("digest.claims.mentions", line.mentions, lang, count=line.mentions)]
        if line.corrected:
            parts.append(t("digest.claims.before_after", lang, before=line.before_correction,
                           after=line.after_correction))
        else:
            parts.append(t("digest.claims.uncorrected", lang))
        if line.closed:
            parts.append(t("digest.claims.closed", lang))
        text = escape(" · ".join(parts))
        url = web_url(line.correction_url or "")
        if url is not None:
            text += " · " + link(url, _clean(line.correction_text or line.correction_url or "", EXCERPT_LIMIT))
        lines.append(f"• *#{line.claim_id}* {escape(_clean(line.text, EXCERPT_LIMIT))} — {text}")
    if (rest := len(figures.claims) - MAX_CLAIMS) > 0:
        lines.append(escape(t_plural("digest.more", rest, lang, count=rest)))
    return "\n".join(lines)


def _health_text(
    failures: Sequence[SourceFailure], unpolled: Sequence[str], tz: ZoneInfo, lang: str
) -> str:
    lines = [f"*{escape(t('digest.health.title', lang))}*"]
    if not failures and not unpolled:
        lines.append(escape(t("digest.health.ok", lang)))
    if unpolled:
        names = ", ".join(_clean(name, NAME_LIMIT) for name in unpolled[:MAX_FAILURES])
        if (rest := len(unpolled) - MAX_FAILURES) > 0:
            names += " " + t_plural("digest.more", rest, lang, count=rest)
        lines.append(escape(t_plural("digest.health.unpolled", len(unpolled), lang, names=names)))
    for failure in failures[:MAX_FAILURES]:
        at = format_datetime(failure.last_at, tz, lang) if failure.last_at else "-"
        watcher = escape(_clean(failure.watcher, NAME_LIMIT))
        error = escape(phrase_line(failure.problem, lang, ERROR_LIMIT))
        line = t_plural("digest.health.failed", failure.failures, lang, watcher=watcher, count=failure.failures,
                        at=at, error=error)
        if failure.still_failing:
            since = format_datetime(failure.failing_since, tz, lang) if failure.failing_since else "-"
            state = t("digest.health.still_failing", lang, since=since)
        else:
            state = t("digest.health.recovered", lang)
        lines.append(f"• {line} {state}")
    if len(failures) > MAX_FAILURES:
        rest = len(failures) - MAX_FAILURES
        lines.append(escape(t_plural("digest.more", rest, lang, count=rest)))
    return "\n".join(lines)


def _fallback(digest: Digest, start: str, end: str, lang: str) -> str:
    """The notification text: the period and how many mentions, in one short line."""
    count = format_count(digest.total, lang)
    total = t_plural("digest.volume.total", digest.total, lang, count=count).replace("*", "")
    return escape(truncate(t("digest.fallback", lang, start=start, end=end, found=total), FALLBACK_LIMIT))


def _clean(text: str, limit: int) -> str:
    """Outside text for one line: whitespace collapsed, invisible characters dropped, cut to `limit` (unescaped)."""
    return truncate(one_line(without_invisible(text)), limit)
