"""The morning digest's content: volumes and trends, top mentions, themes, escalations and source health.

Everything here is computed in code, never by a model. The mentions a digest counts are those "found by a
watcher": cards that were not recorded quietly on a watcher's first poll, dated by when the watcher found them
(`deliveries.created_at`). Per watcher, a mention two watchers found counts for both; the total and the
per-source counts count distinct mentions.

Counts come from SQL aggregation. Themes come from clustering at most CLUSTER_TOP + CLUSTER_SPREAD of the
period's mentions (the highest-scoring ones plus an evenly spread, deterministic sample of the rest), so a digest
over 100,000 mentions costs about what one over 500 does. `narrate` asks the LLM for a paragraph written from a
bounded block of these facts (at most FACTS_LIMIT characters, whatever the volume), and falls back to template
sentences when it cannot answer.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Literal

from veilleur.assist.conversations import author_labels
from veilleur.assist.llm import LLM, LLMUnavailable, Prompt
from veilleur.assist.prompt_book import Fence, PromptBook
from veilleur.core.i18n import format_count, format_duration, t, t_plural
from veilleur.core.language import language_name, topic_words
from veilleur.core.mentions import Mention, interactions, mention_score
from veilleur.core.query import fold
from veilleur.core.stances import StanceShare, classify_lexically, tally
from veilleur.core.text import one_line, truncate
from veilleur.core.watcher_config import AuthorLabel, normal_handle
from veilleur.slack.cards import mention_excerpt
from veilleur.storage.digests import FoundMention, FoundMentions
from veilleur.storage.escalations import Escalation, EscalationStore
from veilleur.storage.store import PollFailure, Store

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
CHART_DAYS = 7
# Clustering input: the best-scoring mentions, plus an evenly spread sample of the others.
CLUSTER_TOP = 200
CLUSTER_SPREAD = 300
# A mention joins the theme whose centroid is at least this close (cosine of TF-IDF vectors), else starts one.
SIMILARITY = 0.3
MIN_THEME_SIZE = 2
MAX_THEMES = 5
THEME_TERMS = 3
# A term found in more than this share of the clustered mentions (the watched keyword, say) labels no theme.
COMMON_TERM_SHARE = 0.5
THEME_AUTHORS = 3
THEME_EXAMPLES = 2

# Narrative: the facts block is cut to these budgets, so the prompt has a fixed maximum size.
NARRATIVE_WATCHERS = 8
NARRATIVE_SOURCES = 6
NARRATIVE_TOP = 5
NARRATIVE_FAILURES = 5
FACT_SNIPPET = 160
FACT_NAME = 60
FACT_ERROR = 120
FACTS_LIMIT = 6000
NARRATIVE_MAX_TOKENS = 400
NARRATIVE_CHARS = 1200





@dataclass(frozen=True)
class DigestPeriod:
    """[start, end): aware datetimes. Days (daily_volume) are counted in `end`'s time zone."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class Change:
    """How a count compares with a reference: "up", "down", "flat", or "new" when the reference was zero.

    `percent` is the whole-percent change, rounded half away from zero (None for "new"); "flat" when it rounds to 0.
    """

    direction: str
    percent: int | None


@dataclass(frozen=True)
class Volume:
    """Mentions of one watcher (or source, or all) in the period, the previous period of the same length and the
    7 days before the period (`week`), with the changes against each: the 7-day one against the 7-day daily
    average scaled to the period's length (a 3-day weekend is compared with 3 average days)."""

    name: str
    count: int
    previous: int
    week: int
    vs_previous: Change
    vs_week: Change


@dataclass(frozen=True)
class TopMention:
    mention_id: int
    watcher: str
    mention: Mention
    engagement: int  # the sum of the mention's engagement counts
    score: int  # engagement + author reach // REACH_PER_INTERACTION


@dataclass(frozen=True)
class ThemeAuthor:
    author: str
    handle: str
    source: str
    reach: int | None
    mentions: int
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Theme:
    label: str  # its top terms, joined with " · "
    terms: tuple[str, ...]
    size: int
    percent: int  # of the mentions in the shown themes, which add up to exactly 100
    stances: tuple[StanceShare, ...]  # lexical classifier, LABELS order, adding up to 100
    influential: tuple[ThemeAuthor, ...]  # by reach
    labelled: tuple[ThemeAuthor, ...]  # [[author]] tables
    examples: tuple[TopMention, ...]  # its best-scoring mentions


@dataclass(frozen=True)
class OpenEscalation:
    escalation: Escalation
    age: timedelta  # at the end of the period
    excerpt: str  # the mention in a few words (outside text, unescaped)


@dataclass(frozen=True)
class EscalationFigures:
    opened: int  # raised during the period
    answered: int  # answered during the period, whenever raised
    still_open: int  # raised before the period's end and neither answered nor finished by then
    oldest_open: tuple[OpenEscalation, ...]  # the oldest `top` of them
    median_to_answer: timedelta | None  # of those answered during the period


@dataclass(frozen=True)
class SourceFailure:
    watcher: str
    failures: int  # failed polls during the period
    last_error: str  # outside text (an HTTP error, a server's message)
    last_at: datetime | None
    still_failing: bool
    failing_since: datetime | None


@dataclass(frozen=True)
class Digest:
    period: DigestPeriod
    watchers: tuple[str, ...]
    total: int  # distinct mentions found in the period
    overall: Volume
    by_watcher: tuple[Volume, ...]
    by_source: tuple[Volume, ...]
    daily_volume: dict[str, list[tuple[date, int]]]  # per watcher, the 7 days ending with the period
    top_mentions: tuple[TopMention, ...]
    themes: tuple[Theme, ...]
    clustered: int  # how many of the period's mentions the themes were drawn from
    escalations: EscalationFigures
    failures: tuple[SourceFailure, ...]


@dataclass(frozen=True)
class Narrative:
    text: str  # plain text (the LLM's answer is outside text: escape it)
    by_llm: bool
    fallback: str | None = None  # why the template wrote it: a reason of LLMUnavailable


def compute_digest(
    store: Store,
    period: DigestPeriod,
    *,
    watchers: Collection[str] | None = None,
    authors: Sequence[AuthorLabel] = (),
    top: int = 5,
) -> Digest:
    """The digest of `period`, for `watchers` (None: every watcher). Pure computation: no LLM, no Slack."""
    names = _watchers_in_scope(store, watchers)
    found = FoundMentions(store, names)
    overall = _volumes(found, period, None, ("",))[0]
    best = _best_mentions(store, found, period, max(top, CLUSTER_TOP))
    sample = [*best[:CLUSTER_TOP], *_spread_sample(store, found, period, CLUSTER_SPREAD, {m.mention_id for m in best})]
    return Digest(
        period=period,
        watchers=names,
        total=overall.count,
        overall=overall,
        by_watcher=_volumes(found, period, "watcher", names),
        by_source=_volumes(found, period, "source", ()),
        daily_volume=_daily_volume(found, period, names),
        top_mentions=tuple(best[:top]),
        themes=themes(sample, authors),
        clustered=len(sample),
        escalations=_escalation_figures(store, period, None if watchers is None else set(names), top),
        failures=_failures(store, period, names),
    )


# Counting -----------------------------------------------------------------------------------------------------


def _watchers_in_scope(store: Store, watchers: Collection[str] | None) -> tuple[str, ...]:
    if watchers is not None:
        return tuple(sorted(set(watchers)))
    # Notices (health alerts, digests) are outbox rows too, under pseudo-watcher names: only cards are watchers'.
    return tuple(sorted(store.watchers_with_cards() | set(store.watcher_names())))


def _volumes(
    found: FoundMentions, period: DigestPeriod, group_by: Literal["watcher", "source"] | None, names: Sequence[str]
) -> tuple[Volume, ...]:
    """One Volume per watcher or source (None: one for everything), biggest first; `names` are listed even
    without mentions. Per watcher, each watcher's finds count; otherwise distinct mentions."""
    previous_start = period.start - period.length
    week_start = period.start - WEEK
    windows = [(period.start, period.end), (previous_start, period.start), (week_start, period.start)]
    counts = found.counts(group_by, windows)
    for name in names:
        counts.setdefault(name, (0, 0, 0))
    volumes = [
        Volume(
            name=name,
            count=count,
            previous=previous,
            week=week,
            vs_previous=change(count, Fraction(previous)),
            vs_week=change(count, Fraction(week) * _fraction_of_week(period.length)),
        )
        for name, (count, previous, week) in counts.items()
    ]
    return tuple(sorted(volumes, key=lambda volume: (-volume.count, volume.name)))


def change(count: int, reference: Fraction) -> Change:
    """`count` against `reference` (a count, or an average scaled to the period)."""
    if reference == 0:
        return Change("new", None) if count else Change("flat", 0)
    percent = _round_half_away(Fraction(count - reference) * 100 / reference)
    direction = "up" if percent > 0 else "down" if percent < 0 else "flat"
    return Change(direction, percent)


def _round_half_away(value: Fraction) -> int:
    whole = math.floor(abs(value) + Fraction(1, 2))
    return whole if value >= 0 else -whole


def _fraction_of_week(length: timedelta) -> Fraction:
    return Fraction(_microseconds(length), _microseconds(WEEK))


def _microseconds(duration: timedelta) -> int:
    return (duration.days * 86400 + duration.seconds) * 1_000_000 + duration.microseconds


def _daily_volume(
    found: FoundMentions, period: DigestPeriod, names: Sequence[str]
) -> dict[str, list[tuple[date, int]]]:
    """Mentions per watcher and local day, for the 7 days ending with the day the period ends in."""
    tz = period.end.tzinfo or UTC
    last = (period.end - timedelta(microseconds=1)).astimezone(tz).date()
    days = [last - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    bounds = [datetime.combine(day, time(), tzinfo=tz) for day in [*days, last + timedelta(days=1)]]
    counts = found.daily_counts(bounds)
    return {name: list(zip(days, counts.get(name, [0] * CHART_DAYS), strict=True)) for name in names}


# Mentions -----------------------------------------------------------------------------------------------------

def _best_mentions(store: Store, found: FoundMentions, period: DigestPeriod, limit: int) -> list[TopMention]:
    """The period's distinct mentions with the highest score (ties: the earliest stored first)."""
    return _load(store, found.best_scored(period.start, period.end, limit))


def _spread_sample(
    store: Store, found: FoundMentions, period: DigestPeriod, limit: int, excluded: Collection[int]
) -> list[TopMention]:
    """Up to `limit` of the period's mentions not in `excluded`, spread over the period whatever its volume."""
    sample = found.spread_over(period.start, period.end, limit + len(excluded))
    return _load(store, [row for row in sample if row.mention_id not in excluded][:limit])


def _load(store: Store, found: Iterable[FoundMention]) -> list[TopMention]:
    loaded = []
    for row in found:
        mention = store.mention(row.mention_id)
        loaded.append(TopMention(row.mention_id, row.found_by, mention, interactions(mention), mention_score(mention)))
    return loaded


# Themes -------------------------------------------------------------------------------------------------------


@dataclass
class _Cluster:
    members: list[int] = field(default_factory=list)
    centroid: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    norm2: float = 0.0


def themes(mentions: Sequence[TopMention], authors: Sequence[AuthorLabel] = ()) -> tuple[Theme, ...]:
    """The main themes of `mentions`: clusters of similar texts, biggest first, at most MAX_THEMES.

    Each text is a bag of folded words (case and accents removed, English and French stop words, numbers and links
    dropped), weighted by TF-IDF. Mentions are read in order (best first, so the prominent ones lead): each joins
    the theme whose centroid is the most similar, if at least SIMILARITY by cosine, else starts a theme. Themes
    with fewer than MIN_THEME_SIZE mentions are not shown; shares are of the mentions in the shown themes.
    """
    words = [topic_words(_text(item.mention)) for item in mentions]
    documents = [Counter(folded for folded, _ in pairs) for pairs in words]
    vectors, frequency = _tf_idf(documents)
    clusters = _cluster(vectors)
    kept = sorted(
        (cluster for cluster in clusters if len(cluster.members) >= MIN_THEME_SIZE),
        key=lambda cluster: (-len(cluster.members), cluster.members[0]),
    )[:MAX_THEMES]
    spelling = _spellings(words)
    percents = whole_percentages([len(cluster.members) for cluster in kept])
    common = COMMON_TERM_SHARE * len(documents)
    shown = []
    for cluster, percent in zip(kept, percents, strict=True):
        members = [mentions[index] for index in cluster.members]
        ranked = sorted(cluster.centroid, key=lambda term: (frequency[term] > common, -cluster.centroid[term], term))
        terms = tuple(spelling[term] for term in ranked[:THEME_TERMS])
        theme_authors = _theme_authors(members, authors)
        shown.append(
            Theme(
                label=" · ".join(terms),
                terms=terms,
                size=len(members),
                percent=percent,
                stances=tuple(tally([classify_lexically(_text(item.mention)) for item in members])),
                influential=tuple(
                    sorted((a for a in theme_authors if a.reach is not None),
                           key=lambda a: (-(a.reach or 0), -a.mentions, a.author))[:THEME_AUTHORS]
                ),
                labelled=tuple(
                    sorted((a for a in theme_authors if a.labels), key=lambda a: (-a.mentions, a.author))[
                        :THEME_AUTHORS
                    ]
                ),
                examples=_examples(members),
            )
        )
    return tuple(shown)


def _examples(members: Sequence[TopMention]) -> tuple[TopMention, ...]:
    """The theme's best-scoring mentions, one per text (reposts and copies say the same thing)."""
    by_text: dict[str, TopMention] = {}
    for item in sorted(members, key=lambda item: -item.score):
        by_text.setdefault(fold(one_line(_text(item.mention))), item)
    return tuple(by_text.values())[:THEME_EXAMPLES]


def whole_percentages(counts: Sequence[int]) -> list[int]:
    """Whole percentages of `counts` adding up to exactly 100 (all 0 when the counts are): largest remainder,
    ties to the earlier count, as stances.tally does."""
    total = sum(counts)
    if total == 0:
        return [0 for _ in counts]
    floors = [count * 100 // total for count in counts]
    by_remainder = sorted(range(len(counts)), key=lambda index: (-(counts[index] * 100 % total), index))
    for index in by_remainder[: 100 - sum(floors)]:
        floors[index] += 1
    return floors


def _text(mention: Mention) -> str:
    return f"{mention.title}\n{mention.text}" if mention.title else mention.text


def _spellings(words: Iterable[Iterable[tuple[str, str]]]) -> dict[str, str]:
    """Each folded term's most common written form, so labels keep their accents."""
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for pairs in words:
        for folded, written in pairs:
            forms[folded][written] += 1
    return {folded: min(counter, key=lambda form: (-counter[form], form)) for folded, counter in forms.items()}


def _tf_idf(documents: Sequence[Counter[str]]) -> tuple[list[dict[str, float]], Counter[str]]:
    """Unit-length TF-IDF vectors (smoothed IDF, as scikit-learn's default) and each term's document frequency."""
    frequency: Counter[str] = Counter(term for document in documents for term in document)
    size = len(documents)
    idf = {term: math.log((1 + size) / (1 + seen)) + 1 for term, seen in frequency.items()}
    vectors = []
    for document in documents:
        weights = {term: count * idf[term] for term, count in document.items()}
        norm = math.sqrt(sum(weight * weight for weight in weights.values())) or 1.0
        vectors.append({term: weight / norm for term, weight in weights.items()})
    return vectors, frequency


def _cluster(vectors: Sequence[dict[str, float]]) -> list[_Cluster]:
    """Leader clustering by cosine to each cluster's centroid; only clusters sharing a term are compared."""
    clusters: list[_Cluster] = []
    by_term: dict[str, set[int]] = defaultdict(set)
    for index, vector in enumerate(vectors):
        if not vector:
            continue
        candidates = set().union(*(by_term[term] for term in vector if term in by_term))
        chosen, chosen_dot, best = None, 0.0, SIMILARITY
        for number in sorted(candidates):
            cluster = clusters[number]
            dot = sum(weight * cluster.centroid.get(term, 0.0) for term, weight in vector.items())
            similarity = dot / math.sqrt(cluster.norm2)
            if similarity >= best and (chosen is None or similarity > best):
                chosen, chosen_dot, best = number, dot, similarity
        if chosen is None:
            chosen = len(clusters)
            clusters.append(_Cluster())
        cluster = clusters[chosen]
        cluster.members.append(index)
        # |c + v|² = |c|² + 2 c·v + |v|², and |v| = 1.
        cluster.norm2 += 2 * chosen_dot + 1.0
        for term, weight in vector.items():
            cluster.centroid[term] += weight
            by_term[term].add(chosen)
    return clusters


def _theme_authors(members: Sequence[TopMention], authors: Sequence[AuthorLabel]) -> list[ThemeAuthor]:
    """One line per author of the theme (by source and handle, else name), with their reach and labels."""
    grouped: dict[tuple[str, str], list[Mention]] = defaultdict(list)
    for item in members:
        mention = item.mention
        key = normal_handle(mention.author_handle) or mention.author_name.casefold()
        if key:
            grouped[(mention.source, key)].append(mention)
    lines = []
    for (source, _), written in grouped.items():
        first = written[0]
        reaches = [mention.author_reach for mention in written if mention.author_reach is not None]
        lines.append(
            ThemeAuthor(
                author=first.author_name or first.author_handle,
                handle=first.author_handle,
                source=source,
                reach=max(reaches) if reaches else None,
                mentions=len(written),
                labels=author_labels(authors, source, first.author_handle, first.author_name),
            )
        )
    return lines


# Escalations and source health --------------------------------------------------------------------------------


def _escalation_figures(
    store: Store, period: DigestPeriod, watchers: Collection[str] | None, top: int
) -> EscalationFigures:
    """Escalations of the watchers in scope (all of them, unattributed ones included, when `watchers` is None)."""
    escalations = EscalationStore(store)

    def in_scope(found: Iterable[Escalation]) -> list[Escalation]:
        return [e for e in found if watchers is None or e.watcher in watchers]

    opened = in_scope(escalations.created_between(period.start, period.end))
    answered = in_scope(escalations.answered_between(period.start, period.end))
    waiting = in_scope(escalations.awaiting_answer_at(period.end))
    waits = [e.answered_at - e.created_at for e in answered if e.answered_at is not None]
    return EscalationFigures(
        opened=len(opened),
        answered=len(answered),
        still_open=len(waiting),
        oldest_open=tuple(
            OpenEscalation(e, period.end - e.created_at, mention_excerpt(store.mention(e.mention_id)))
            for e in waiting[:top]
        ),
        median_to_answer=statistics.median(waits) if waits else None,
    )


def _failures(store: Store, period: DigestPeriod, watchers: Collection[str]) -> tuple[SourceFailure, ...]:
    """Watchers with failed polls in the period, and those failing now even without one recorded in it."""
    polls: dict[str, list[PollFailure]] = defaultdict(list)
    for failure in store.poll_failures(period.start, period.end):
        if failure.watcher in watchers:
            polls[failure.watcher].append(failure)
    lines = []
    for name in watchers:
        status = store.watcher_status(name)
        failing = status.consecutive_failures > 0
        if not polls[name] and not failing:
            continue
        last = polls[name][-1] if polls[name] else None
        lines.append(
            SourceFailure(
                watcher=name,
                failures=len(polls[name]),
                last_error=last.error if last else status.last_error or "",
                last_at=last.at if last else _moment(status.last_error_at),
                still_failing=failing,
                failing_since=_moment(status.failing_since) if failing else None,
            )
        )
    return tuple(sorted(lines, key=lambda line: (not line.still_failing, -line.failures, line.watcher)))


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# Narrative ----------------------------------------------------------------------------------------------------


async def narrate(digest: Digest, llm: LLM | None, lang: str, *, prompts: PromptBook | None = None) -> Narrative:
    """A short paragraph from the digest's facts: the LLM's, or template sentences when it cannot answer.

    Never raises. `prompts` defaults to the templates beside the code (pass PromptBook(settings.prompts_dir)).
    """
    if llm is None or not llm.configured:
        return Narrative(fallback_text(digest, lang), by_llm=False, fallback="not_configured")
    try:
        prompt = narrative_prompt(digest, lang, prompts or PromptBook())
        answer = await llm.complete("digest", prompt, max_tokens=NARRATIVE_MAX_TOKENS)
    except LLMUnavailable as failure:
        return Narrative(fallback_text(digest, lang), by_llm=False, fallback=failure.reason)
    except OSError as error:
        # The prompt template could not be read (PROMPTS_DIR edited or moved).
        log.warning("digest prompt unavailable: %s", error)
        return Narrative(fallback_text(digest, lang), by_llm=False, fallback="error")
    text = truncate(one_line(answer), NARRATIVE_CHARS)
    return Narrative(text, by_llm=True) if text else Narrative(fallback_text(digest, lang), False, "error")


def narrative_prompt(digest: Digest, lang: str, prompts: PromptBook) -> Prompt:
    """The request for the narrative: our instructions, and the facts (outside text among them) fenced as data."""
    fence = Fence.new()
    return prompts.prompt("digest", fence.wrap(facts_text(digest)), fence, language=language_name(lang))


def facts_text(digest: Digest) -> str:
    """The digest's figures as the model reads them: bounded (at most FACTS_LIMIT characters) whatever the volume."""
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
        lines += [f"- {_theme_fact(theme)}" for theme in digest.themes]
    if digest.top_mentions:
        lines.append("Top mentions (by reach and engagement):")
        lines += [f"- {_mention_fact(item)}" for item in digest.top_mentions[:NARRATIVE_TOP]]
    lines.append(_escalation_fact(digest.escalations))
    if digest.failures:
        lines.append("Source problems: " + _listing([_failure_fact(f) for f in digest.failures], NARRATIVE_FAILURES))
    return truncate("\n".join(lines), FACTS_LIMIT)


def _volume_fact(volume: Volume) -> str:
    return (f"{volume.count} (previous period {volume.previous}, {_change_fact(volume.vs_previous)};"
            f" against the 7-day average {_change_fact(volume.vs_week)})")


def _change_fact(value: Change) -> str:
    return "new" if value.direction == "new" else f"{value.percent:+d}%"


def _theme_fact(theme: Theme) -> str:
    stances = ", ".join(f"{share.label} {share.percent}%" for share in theme.stances if share.count)
    parts = [f'"{_name(theme.label)}": {theme.size} mentions, {theme.percent}%; stances: {stances}']
    if theme.influential:
        parts.append("influential: " + ", ".join(
            f"{_name(a.author)} (reach {a.reach})" for a in theme.influential))
    if theme.labelled:
        parts.append("labelled: " + ", ".join(f"{_name(a.author)} ({', '.join(a.labels)})" for a in theme.labelled))
    return "; ".join(parts)


def _mention_fact(item: TopMention) -> str:
    mention = item.mention
    author = _name(mention.author_name or mention.author_handle) or "unknown author"
    reach = f"reach {mention.author_reach}, " if mention.author_reach is not None else ""
    snippet = truncate(one_line(_text(mention)), FACT_SNIPPET)
    return f"[{_name(mention.source)}] {author} ({reach}engagement {item.engagement}): {snippet}"


def _escalation_fact(figures: EscalationFigures) -> str:
    text = (f"Escalations: {figures.opened} opened, {figures.answered} answered, {figures.still_open} still waiting"
            " for an answer")
    if figures.median_to_answer is not None:
        text += f", median time to answer {_hours(figures.median_to_answer)} hours"
    if figures.oldest_open:
        oldest = figures.oldest_open[0]
        text += f"; the oldest waits for {_hours(oldest.age)} hours: {truncate(one_line(oldest.excerpt), FACT_NAME)}"
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
        sentences = [
            t_plural("digest.story.volume", digest.total, lang, count=format_count(digest.total, lang),
                     previous=change_text(digest.overall.vs_previous, lang),
                     week=change_text(digest.overall.vs_week, lang))
        ]
    if digest.themes:
        theme = digest.themes[0]
        leading = max(theme.stances, key=lambda share: share.count)
        sentences.append(t("digest.story.theme", lang, label=theme.label, percent=theme.percent,
                           stance=t(f"stance.{leading.label}", lang).casefold(), stance_percent=leading.percent))
    figures = digest.escalations
    if figures.opened or figures.still_open or figures.answered:
        sentences.append(t_plural("digest.story.escalations", figures.still_open, lang, open=figures.still_open,
                                  opened=figures.opened, answered=figures.answered))
    if figures.median_to_answer is not None:
        sentences.append(t("digest.story.median", lang, duration=format_duration(figures.median_to_answer, lang)))
    failing = [failure.watcher for failure in digest.failures]
    if failing:
        sentences.append(t_plural("digest.story.failures", len(failing), lang, count=len(failing),
                                  names=", ".join(failing[:NARRATIVE_FAILURES])))
    return " ".join(sentences)


def change_text(value: Change, lang: str) -> str:
    """"↑ 12 %", "↓ 5%", "→ 0%" or "new", as the reader's language writes it."""
    if value.direction == "new":
        return t("digest.change.new", lang)
    return t(f"digest.change.{value.direction}", lang, percent=abs(value.percent or 0))
