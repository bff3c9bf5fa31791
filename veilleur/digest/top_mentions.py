"""The period's mentions ranked by score (engagement and the author's reach), and a spread sample of the rest.

The top mentions are the best-scoring ones; the themes are drawn from those plus an evenly spread, deterministic
sample of the others, so the clustering input is bounded whatever the period's volume.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from veilleur.core.mentions import REACH_PER_INTERACTION, interactions, mention_score
from veilleur.digest.found import FoundMentions
from veilleur.digest.model import DigestPeriod, TopMention
from veilleur.storage.store import Store

_ENGAGEMENT_SQL = "coalesce((select sum(value) from json_each(m.engagement) where type = 'integer'), 0)"
_SCORE_SQL = f"({_ENGAGEMENT_SQL} + max(coalesce(m.author_reach, 0), 0) / {REACH_PER_INTERACTION})"
# Multiplicative hashing of ids: a deterministic order that spreads the sample over the whole period.
_SPREAD_SQL = "(m.id * 2654435761) % 4294967296"


def best_mentions(found: FoundMentions, period: DigestPeriod, limit: int) -> list[TopMention]:
    """The period's distinct mentions with the highest score (ties: the earliest stored first)."""
    rows = found.query(
        f"m.id as id, min(d.watcher) as found_by, {_SCORE_SQL} as score",
        period.start, period.end, "group by m.id order by score desc, m.id limit ?", [limit],
    )
    return _load(found.store, rows)


def spread_sample(
    found: FoundMentions, period: DigestPeriod, limit: int, excluded: Collection[int]
) -> list[TopMention]:
    """Up to `limit` of the period's mentions not in `excluded`, spread over the period whatever its volume."""
    rows = found.query(
        f"m.id as id, min(d.watcher) as found_by, {_SPREAD_SQL} as spread",
        period.start, period.end, "group by m.id order by spread, m.id limit ?", [limit + len(excluded)],
    )
    return _load(found.store, [row for row in rows if row["id"] not in excluded][:limit])


def _load(store: Store, rows: Iterable[dict[str, Any]]) -> list[TopMention]:
    loaded = []
    for row in rows:
        mention = store.mention(row["id"])
        loaded.append(TopMention(row["id"], row["found_by"], mention, interactions(mention), mention_score(mention)))
    return loaded
