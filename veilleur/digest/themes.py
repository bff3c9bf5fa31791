"""The digest's themes: clusters of similar mentions, labelled by their top terms, with their effective stances
(the team's, the model's or the word list's estimate), their influential and labelled authors, and their best
examples."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from veilleur.assist.conversations import author_labels
from veilleur.core.language import topic_words
from veilleur.core.query import fold
from veilleur.core.reach import Outlets, reach_level
from veilleur.core.stance_labels import Stance, effective_stance, tally_stances
from veilleur.core.stance_synthesis import AuthorStance, author_stance, synthesize
from veilleur.core.text import one_line
from veilleur.core.watcher_config import PUBLIC_ROLES, AuthorLabel, normal_handle
from veilleur.digest.clustering import leader_clusters, tf_idf
from veilleur.digest.model import Theme, ThemeAuthor, TopMention, mention_text

MIN_THEME_SIZE = 2
MAX_THEMES = 5
THEME_TERMS = 3
# A term found in more than this share of the clustered mentions (the watched keyword, say) labels no theme.
COMMON_TERM_SHARE = 0.5
THEME_AUTHORS = 3
THEME_EXAMPLES = 2


def themes(
    mentions: Sequence[TopMention], authors: Sequence[AuthorLabel] = (), outlets: Outlets | None = None
) -> tuple[Theme, ...]:
    """The main themes of `mentions`: clusters of similar texts, biggest first, at most MAX_THEMES.

    Each text is a bag of folded words (case and accents removed, English and French stop words, numbers and links
    dropped), weighted by TF-IDF. Mentions are read in order (best first, so the prominent ones lead): each joins
    the theme whose centroid is the most similar, if at least clustering.SIMILARITY by cosine, else starts a
    theme. Themes with fewer than MIN_THEME_SIZE mentions are not shown; shares are of the mentions in the shown
    themes. `outlets` tell high-reach authors on news sites (reach.reach_level).
    """
    words = [topic_words(mention_text(item.mention)) for item in mentions]
    documents = [Counter(folded for folded, _ in pairs) for pairs in words]
    vectors, frequency = tf_idf(documents)
    clusters = leader_clusters(vectors)
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
        tallied = tally_stances([stance_of(item) for item in members])
        shown.append(
            Theme(
                label=" · ".join(terms),
                terms=terms,
                size=len(members),
                percent=percent,
                stances=tallied.shares,
                stance_tally=tallied,
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
                synthesis=synthesize(_author_stances(members, authors, outlets or {})),
            )
        )
    return tuple(shown)


def _author_stances(
    members: Sequence[TopMention], authors: Sequence[AuthorLabel], outlets: Outlets
) -> list[AuthorStance]:
    """Each author of the theme once: the stance most of their posts take, whether one of them reached far, and
    their public roles."""
    stances = []
    for source, written in _by_author(members):
        first = written[0].mention
        labels = author_labels(authors, source, first.author_handle, first.author_name)
        stances.append(AuthorStance(
            stance=author_stance([stance_of(item).label for item in written]),
            high_reach=any(reach_level(item.mention, outlets) == "high" for item in written),
            roles=tuple(label for label in labels if label in PUBLIC_ROLES),
        ))
    return stances


def stance_of(item: TopMention) -> Stance:
    """The mention's stored stance (the team's or the model's), else the word list's estimate."""
    return item.stance or effective_stance(mention_text(item.mention))


def _examples(members: Sequence[TopMention]) -> tuple[TopMention, ...]:
    """The theme's best-scoring mentions, one per text (reposts and copies say the same thing)."""
    by_text: dict[str, TopMention] = {}
    for item in sorted(members, key=lambda item: -item.score):
        by_text.setdefault(fold(one_line(mention_text(item.mention))), item)
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


def _spellings(words: Iterable[Iterable[tuple[str, str]]]) -> dict[str, str]:
    """Each folded term's most common written form, so labels keep their accents."""
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for pairs in words:
        for folded, written in pairs:
            forms[folded][written] += 1
    return {folded: min(counter, key=lambda form: (-counter[form], form)) for folded, counter in forms.items()}


def _theme_authors(members: Sequence[TopMention], authors: Sequence[AuthorLabel]) -> list[ThemeAuthor]:
    """One line per author of the theme (by source and handle, else name), with their reach and labels."""
    lines = []
    for source, written in _by_author(members):
        first = written[0].mention
        reaches = [item.mention.author_reach for item in written if item.mention.author_reach is not None]
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


def _by_author(members: Sequence[TopMention]) -> list[tuple[str, list[TopMention]]]:
    """The theme's mentions per author (by source and handle, else name), as (source, their mentions)."""
    grouped: dict[tuple[str, str], list[TopMention]] = defaultdict(list)
    for item in members:
        mention = item.mention
        key = normal_handle(mention.author_handle) or mention.author_name.casefold()
        if key:
            grouped[(mention.source, key)].append(item)
    return [(source, written) for (source, _), written in grouped.items()]
