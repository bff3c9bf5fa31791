"""What a digest is made of: the figures `compute_digest` returns and `cards.digest_message` renders.

Plain frozen data, no behaviour: every part of the digest (volumes, top mentions, themes, escalations, source
health, narrative) fills one of these, so each part can be computed, tested and rendered alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from veilleur.core.i18n import Phrase, technical
from veilleur.core.mentions import Mention
from veilleur.core.stance_labels import Stance, StanceTally
from veilleur.core.stance_synthesis import StanceSynthesis
from veilleur.core.stances import StanceShare
from veilleur.core.text import title_then_text
from veilleur.storage.escalations import Escalation


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
    level: str | None = None  # reach compared across sources (reach.reach_level): low, medium, high
    stance: Stance | None = None  # the stored team's or model's stance; None: the word list's estimate applies


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
    stances: tuple[StanceShare, ...]  # effective stances (stance_labels.py), LABELS order, adding up to 100
    influential: tuple[ThemeAuthor, ...]  # by reach
    labelled: tuple[ThemeAuthor, ...]  # [[author]] tables
    examples: tuple[TopMention, ...]  # its best-scoring mentions
    # Stances per author, of high-reach authors and public figures (stance_synthesis.py); None without authors.
    synthesis: StanceSynthesis | None = None
    # The same shares with who gave the stances (the team, the model, the word list): estimates are said so.
    stance_tally: StanceTally | None = None


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
    last_error: str  # in English; outside text (an HTTP error, a server's message)
    last_at: datetime | None
    still_failing: bool
    failing_since: datetime | None
    last_problem: Phrase | None = None  # the same error, to say in the digest's language

    @property
    def problem(self) -> Phrase:
        return self.last_problem or technical(self.last_error)


@dataclass(frozen=True)
class HostilePosts:
    """The period's posts marked hostile: by the model, or estimated by the word list (`estimated` of `total`)."""

    total: int = 0
    estimated: int = 0


@dataclass(frozen=True)
class ClaimLine:
    """One false claim the team follows, in the period: its mentions, how many of high reach, and how many came
    before and after its correction was published (all before, when none is)."""

    claim_id: int
    text: str  # the team's words, pasted from posts: outside text
    closed: bool
    mentions: int
    high_reach: int
    before_correction: int
    after_correction: int
    corrected: bool
    correction_text: str | None = None
    correction_url: str | None = None


@dataclass(frozen=True)
class ClaimFigures:
    claims: tuple[ClaimLine, ...]  # most mentioned first

    @property
    def mentions(self) -> int:
        return sum(line.mentions for line in self.claims)

    @property
    def high_reach(self) -> int:
        return sum(line.high_reach for line in self.claims)


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
    unpolled: tuple[str, ...] = ()  # watchers not polled yet: neither worked nor failed
    hostile: HostilePosts = HostilePosts()
    corrected: int = 0  # stance labels the team corrected during the period (on the card's menu)
    claims: ClaimFigures | None = None  # None when no false claim is followed


@dataclass(frozen=True)
class Narrative:
    text: str  # plain text (the LLM's answer is outside text: escape it)
    by_llm: bool
    fallback: str | None = None  # why the template wrote it: a reason of LLMUnavailable


def mention_text(mention: Mention) -> str:
    """What the digest reads of a mention (themes, stances, facts): its title, if any, then its text."""
    return title_then_text(mention.title, mention.text)
