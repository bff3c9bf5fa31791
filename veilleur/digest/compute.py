"""The morning digest's content: volumes and trends, top mentions, themes, escalations and source health.

`compute_digest` is the one entry: it gathers each part from its own module and returns a `Digest` (model.py).
Everything is computed in code, never by a model, over the mentions "found by a watcher" (found.py). The parts:

- volumes.py: counts per watcher, per source and overall, with their trends, and the 7-day chart series;
- top_mentions.py: the best-scoring mentions, and the spread sample the themes are drawn from;
- themes.py (over clustering.py): clusters of similar mentions with their stances, authors and examples;
- escalation_figures.py, source_health.py: escalations of the period, and the watchers whose polls failed;
- hostile_posts.py: how many posts were hostile (the model's flags, else the word list's estimate);
- claim_figures.py: the false claims followed, their mentions before and after their correction;
- narrative.py: the paragraph an LLM writes from these facts (or template sentences), asked for separately.

Themes come from clustering at most CLUSTER_TOP + CLUSTER_SPREAD of the period's mentions (the highest-scoring
ones plus an evenly spread, deterministic sample of the rest), so a digest over 100,000 mentions costs about what
one over 500 does.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from veilleur.core.reach import Outlets, reach_level
from veilleur.core.watcher_config import AuthorLabel
from veilleur.digest.claim_figures import claim_figures
from veilleur.digest.escalation_figures import escalation_figures
from veilleur.digest.found import watchers_in_scope
from veilleur.digest.hostile_posts import hostile_posts
from veilleur.digest.model import Digest, DigestPeriod
from veilleur.digest.source_health import source_failures, unpolled
from veilleur.digest.themes import themes
from veilleur.digest.top_mentions import best_mentions, spread_sample
from veilleur.digest.volumes import daily_volume, volumes
from veilleur.storage.digests import FoundMentions
from veilleur.storage.labels import MentionLabels
from veilleur.storage.store import Store

# Clustering input: the best-scoring mentions, plus an evenly spread sample of the others.
CLUSTER_TOP = 200
CLUSTER_SPREAD = 300


def compute_digest(
    store: Store,
    period: DigestPeriod,
    *,
    watchers: Collection[str] | None = None,
    authors: Sequence[AuthorLabel] = (),
    top: int = 5,
    outlets: Outlets | None = None,
) -> Digest:
    """The digest of `period`, for `watchers` (None: every watcher). Pure computation: no LLM, no Slack.

    `authors` label the themes' authors ([[author]] tables); `top` bounds the top mentions and the oldest open
    escalations listed; `outlets` give news sites their reach tier.
    """
    names = watchers_in_scope(store, watchers)
    found = FoundMentions(store, names)
    overall = volumes(found, period, None, ("",))[0]
    best = best_mentions(store, found, period, max(top, CLUSTER_TOP))
    sample = [*best[:CLUSTER_TOP], *spread_sample(store, found, period, CLUSTER_SPREAD, {m.mention_id for m in best})]
    return Digest(
        period=period,
        watchers=names,
        total=overall.count,
        overall=overall,
        by_watcher=volumes(found, period, "watcher", names),
        by_source=volumes(found, period, "source", ()),
        daily_volume=daily_volume(found, period, names),
        top_mentions=tuple(replace(item, level=reach_level(item.mention, outlets or {})) for item in best[:top]),
        themes=themes(sample, authors, outlets),
        clustered=len(sample),
        escalations=escalation_figures(store, period, None if watchers is None else set(names), top),
        failures=source_failures(store, period, names),
        unpolled=unpolled(store, names),
        hostile=hostile_posts(found, period),
        corrected=MentionLabels(store).corrected_between(
            period.start, period.end, None if watchers is None else names
        ),
        claims=claim_figures(store, period),
    )
