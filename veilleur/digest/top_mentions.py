"""The period's mentions ranked by score (engagement and the author's reach), and a spread sample of the rest.

The top mentions are the best-scoring ones; the themes are drawn from those plus an evenly spread, deterministic
sample of the others, so the clustering input is bounded whatever the period's volume.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from veilleur.core.mentions import interactions, mention_score
from veilleur.digest.model import DigestPeriod, TopMention, mention_text
from veilleur.storage.digests import FoundMention, FoundMentions
from veilleur.storage.labels import MentionLabels
from veilleur.storage.store import Store


def best_mentions(store: Store, found: FoundMentions, period: DigestPeriod, limit: int) -> list[TopMention]:
    """The period's distinct mentions with the highest score (ties: the earliest stored first)."""
    return _load(store, found.best_scored(period.start, period.end, limit))


def spread_sample(
    store: Store, found: FoundMentions, period: DigestPeriod, limit: int, excluded: Collection[int]
) -> list[TopMention]:
    """Up to `limit` of the period's mentions not in `excluded`, spread over the period whatever its volume."""
    sample = found.spread_over(period.start, period.end, limit + len(excluded))
    return _load(store, [row for row in sample if row.mention_id not in excluded][:limit])


def _load(store: Store, found: Iterable[FoundMention]) -> list[TopMention]:
    """The mentions with their effective stance (the team's, the model's or the word list's estimate)."""
    rows = list(found)
    labels = MentionLabels(store).labels_of([row.mention_id for row in rows])
    loaded = []
    for row in rows:
        mention = store.mention(row.mention_id)
        stored = labels.get(row.mention_id)
        stance = stored.stance(mention_text(mention)) if stored is not None else None
        loaded.append(TopMention(
            row.mention_id, row.found_by, mention, interactions(mention), mention_score(mention), stance=stance
        ))
    return loaded
