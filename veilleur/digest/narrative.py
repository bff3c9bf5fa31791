"""The digest's narrative: a short paragraph the LLM writes from a bounded block of the digest's facts, or
template sentences over the same facts when it cannot answer.

The model only words the figures: every number it reads was computed in code. The facts block is at most
FACTS_LIMIT characters whatever the volume, so the prompt has a fixed maximum size.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from veilleur.assist.llm import LLM, LLMUnavailable, Prompt
from veilleur.assist.prompt_book import Fence, PromptBook
from veilleur.assist.pseudonyms import REAL_NAMES, Pseudonyms
from veilleur.core.i18n import format_count, format_duration, t, t_plural
from veilleur.core.language import language_name
from veilleur.core.text import one_line, truncate
from veilleur.digest.model import (
    Change,
    ClaimLine,
    Digest,
    EscalationFigures,
    Narrative,
    SourceFailure,
    Theme,
    ThemeAuthor,
    TopMention,
    Volume,
    mention_text,
)

log = logging.getLogger(__name__)

# Narrative: the facts block is cut to these budgets, so the prompt has a fixed maximum size.
NARRATIVE_WATCHERS = 8
NARRATIVE_SOURCES = 6
NARRATIVE_TOP = 5
NARRATIVE_FAILURES = 5
NARRATIVE_CLAIMS = 5
FACT_SNIPPET = 160
FACT_NAME = 60
FACT_ERROR = 120
FACTS_LIMIT = 6000
NARRATIVE_MAX_TOKENS = 400
NARRATIVE_CHARS = 1200


async def narrate(digest: Digest, llm: LLM | None, lang: str, *, prompts: PromptBook | None = None) -> Narrative:
    """A short paragraph from the digest's facts: the LLM's, or template sentences when it cannot answer.

    Never raises. `prompts` defaults to the templates beside the code (pass PromptBook(settings.prompts_dir)).
    """
    if llm is None or not llm.configured:
        return Narrative(fallback_text(digest, lang), by_llm=False, fallback="not_configured")
    pseudonyms = Pseudonyms(lang, active=llm.pseudonymise)
    try:
        prompt = narrative_prompt(digest, lang, prompts or PromptBook(), pseudonyms)
        answer = pseudonyms.reveal(await llm.complete("digest", prompt, max_tokens=NARRATIVE_MAX_TOKENS))
    except LLMUnavailable as failure:
        return Narrative(fallback_text(digest, lang), by_llm=False, fallback=failure.reason)
    except OSError as error:
        # The prompt template could not be read (PROMPTS_DIR edited or moved).
        log.warning("digest prompt unavailable: %s", error)
        return Narrative(fallback_text(digest, lang), by_llm=False, fallback="error")
    text = truncate(one_line(answer), NARRATIVE_CHARS)
    return Narrative(text, by_llm=True) if text else Narrative(fallback_text(digest, lang), False, "error")


def narrative_prompt(
    digest: Digest, lang: str, prompts: PromptBook, pseudonyms: Pseudonyms = REAL_NAMES
) -> Prompt:
    """The request for the narrative: our instructions, and the facts (outside text among them) fenced as data."""
    fence = Fence.new()
    facts = facts_text(digest, pseudonyms)
    return prompts.prompt("digest", fence.wrap(facts), fence, language=language_name(lang))


def facts_text(digest: Digest, pseudonyms: Pseudonyms = REAL_NAMES) -> str:
    """The digest's figures as the model reads them: bounded (at most FACTS_LIMIT characters) whatever the volume.
    Active `pseudonyms` name the authors, and hide the people the snippets name."""
    for theme in digest.themes:
        for author in (*theme.influential, *theme.labelled):
            pseudonyms.author(author.handle, author.author)
    for item in digest.top_mentions[:NARRATIVE_TOP]:
        pseudonyms.author(item.mention.author_handle, item.mention.author_name)
    period = digest.period
    lines = [
        f"Period: {period.start.isoformat(timespec='minutes')} to {period.end.isoformat(timespec='minutes')}"
        f" ({_hours(period.length)} hours).",
        f"Mentions found: {_volume_fact(digest.overall)}.",
        "By watcher: " + _listing([f"{_name(v.name)}: {_volume_fact(v)}" for v in digest.by_watcher],
                                  NARRATIVE_WATCHERS) + ".",
        "By source: " + _listing([f"{_name(v.name)}: {_volume_fact(v)}" for v in digest.by_source],
                                 NARRATIVE_SOURCES) + ".",
    ]
    if digest.themes:
        lines.append(f"Themes (drawn from {digest.clustered} of the {digest.total} mentions; share of themed ones):")
        lines += [f"- {_theme_fact(theme, pseudonyms)}" for theme in digest.themes]
    if digest.top_mentions:
        lines.append("Top mentions (by reach and engagement):")
        lines += [f"- {_mention_fact(item, pseudonyms)}" for item in digest.top_mentions[:NARRATIVE_TOP]]
    if digest.claims is not None and digest.claims.claims:
        lines.append("False claims the team follows (their mentions in the period):")
        lines += [f"- {_claim_fact(line, pseudonyms)}" for line in digest.claims.claims[:NARRATIVE_CLAIMS]]
    if digest.hostile.total:
        lines.append(f"Hostile posts (insults, threats, harassment): {digest.hostile.total}"
                     f" ({digest.hostile.estimated} of them estimated by a word list).")
    lines.append(_escalation_fact(digest.escalations, pseudonyms))
    if digest.failures:
        lines.append("Source problems: " + _listing([_failure_fact(f) for f in digest.failures], NARRATIVE_FAILURES))
    if digest.unpolled:
        unpolled = _listing([_name(name) for name in digest.unpolled], NARRATIVE_FAILURES)
        lines.append(f"Not polled yet (no figures from them): {unpolled}")
    return truncate("\n".join(lines), FACTS_LIMIT)


def _volume_fact(volume: Volume) -> str:
    return (f"{volume.count} (previous period {volume.previous}, {_change_fact(volume.vs_previous)};"
            f" against the 7-day average {_change_fact(volume.vs_week)})")


def _change_fact(value: Change) -> str:
    return "new" if value.direction == "new" else f"{value.percent:+d}%"


def _theme_fact(theme: Theme, pseudonyms: Pseudonyms) -> str:
    stances = ", ".join(f"{share.label} {share.percent}%" for share in theme.stances if share.count)
    # A theme's label is made of its mentions' words, which may be someone's name.
    parts = [f'"{_name(pseudonyms.hide(theme.label))}": {theme.size} mentions, {theme.percent}%; stances: {stances}']
    tally = theme.stance_tally
    if tally is not None and tally.estimated:
        # The model is told which shares are guesses, so that its paragraph does not state them as fact.
        parts.append(f"{tally.estimated} of these {tally.total} stances estimated by a word list")

    def who(author: ThemeAuthor) -> str:
        return _name(pseudonyms.author(author.handle, author.author, shown=author.author))

    if theme.influential:
        parts.append("influential: " + ", ".join(
            f"{who(a)} ({pseudonyms.reach(a.reach or 0)})" for a in theme.influential))
    if theme.labelled:
        parts.append("labelled: " + ", ".join(f"{who(a)} ({', '.join(a.labels)})" for a in theme.labelled))
    return "; ".join(parts)


def _mention_fact(item: TopMention, pseudonyms: Pseudonyms) -> str:
    mention = item.mention
    shown = mention.author_name or mention.author_handle
    author = _name(pseudonyms.author(mention.author_handle, mention.author_name, shown=shown)) if shown else ""
    reach = f"{pseudonyms.reach(mention.author_reach)}, " if mention.author_reach is not None else ""
    snippet = truncate(one_line(pseudonyms.hide(mention_text(mention))), FACT_SNIPPET)
    return f"[{_name(mention.source)}] {author or 'unknown author'} ({reach}engagement {item.engagement}): {snippet}"


def _claim_fact(line: ClaimLine, pseudonyms: Pseudonyms) -> str:
    text = f'"{_name(pseudonyms.hide(line.text))}": {line.mentions} mentions, {line.high_reach} of high reach'
    if not line.corrected:
        return f"{text}; no official correction recorded yet"
    return (f"{text}; {line.before_correction} before the official correction was published,"
            f" {line.after_correction} after")


def _escalation_fact(figures: EscalationFigures, pseudonyms: Pseudonyms) -> str:
    text = (f"Escalations: {figures.opened} opened, {figures.answered} answered, {figures.still_open} still waiting"
            " for an answer")
    if figures.median_to_answer is not None:
        text += f", median time to answer {_hours(figures.median_to_answer)} hours"
    if figures.oldest_open:
        oldest = figures.oldest_open[0]
        excerpt = truncate(one_line(pseudonyms.hide(oldest.excerpt)), FACT_NAME)
        text += f"; the oldest waits for {_hours(oldest.age)} hours: {excerpt}"
    return text + "."


def _failure_fact(failure: SourceFailure) -> str:
    state = "still failing" if failure.still_failing else "recovered"
    error = truncate(one_line(failure.last_error), FACT_ERROR)
    return f"{_name(failure.watcher)} failed {failure.failures} times ({state}; last error: {error})"


def _listing(items: Sequence[str], limit: int) -> str:
    if not items:
        return "none"
    rest = len(items) - limit
    return "; ".join(items[:limit]) + (f"; and {rest} more" if rest > 0 else "")


def _name(text: str) -> str:
    return truncate(one_line(text), FACT_NAME)


def _hours(duration: timedelta) -> str:
    return f"{duration.total_seconds() / 3600:.1f}".removesuffix(".0")


def fallback_text(digest: Digest, lang: str) -> str:
    """The narrative without an LLM: template sentences over the same facts."""
    if digest.total == 0:
        sentences = [t("digest.story.quiet", lang)]
    else:
        comparison = ", ".join(comparisons(digest.overall, lang))
        sentences = [
            t_plural("digest.story.volume", digest.total, lang, count=format_count(digest.total, lang),
                     comparison=comparison)
        ]
    if digest.themes:
        theme = digest.themes[0]
        leading = max(theme.stances, key=lambda share: share.count)
        sentences.append(t("digest.story.theme", lang, label=theme.label, percent=theme.percent,
                           stance=t(f"stance.{leading.label}", lang).casefold(), stance_percent=leading.percent))
    figures = digest.escalations
    if figures.opened or figures.still_open or figures.answered:
        sentences.append(t("digest.story.escalations", lang, figures=", ".join(escalation_counts(figures, lang))))
    if figures.median_to_answer is not None:
        sentences.append(t("digest.story.median", lang, duration=format_duration(figures.median_to_answer, lang)))
    failing = [failure.watcher for failure in digest.failures]
    if failing:
        sentences.append(t_plural("digest.story.failures", len(failing), lang, count=len(failing),
                                  names=", ".join(failing[:NARRATIVE_FAILURES])))
    return " ".join(sentences)


def change_text(value: Change, lang: str) -> str:
    """"↑ 12 %", "↓ 5%", "→ 0%", or "none before" when the reference was zero, as the reader's language writes
    it."""
    if value.direction == "new":
        return t("digest.change.new", lang)
    return t(f"digest.change.{value.direction}", lang, percent=abs(value.percent or 0))


def comparisons(volume: Volume, lang: str) -> list[str]:
    """How `volume` compares with the previous period and with the 7-day average, each said in full: "↑ 12 % vs
    the previous period", or "none in the previous period" when there was nothing to compare with."""
    return [
        t(key + "_none", lang) if change.direction == "new" else t(key, lang, change=change_text(change, lang))
        for key, change in (("digest.compare.previous", volume.vs_previous), ("digest.compare.week", volume.vs_week))
    ]


def trend_text(volume: Volume, lang: str) -> str:
    """The two changes side by side, "↑ 12 % · → 0 %"; once "none before" when neither reference had any."""
    if volume.vs_previous.direction == volume.vs_week.direction == "new":
        return t("digest.change.new", lang)
    return " · ".join(change_text(change, lang) for change in (volume.vs_previous, volume.vs_week))


def escalation_counts(figures: EscalationFigures, lang: str, *, waiting: str = "{}") -> list[str]:
    """ "2 opened", "1 answered", "1 waiting for an answer": each count agreeing with its own noun. `waiting`
    wraps the last count (the card makes it bold)."""
    return [
        t_plural("digest.escalations.opened", figures.opened, lang, count=figures.opened),
        t_plural("digest.escalations.answered", figures.answered, lang, count=figures.answered),
        t_plural("digest.escalations.waiting", figures.still_open, lang, count=waiting.format(figures.still_open)),
    ]
