"""How many of the period's posts were hostile: the model's flags, and the word list's estimate for the posts the
model never labelled (core/hostility.py). Counted over every found mention of the period, not a sample: the word
list costs about 10 µs a post, and the digest is computed off the event loop."""

from __future__ import annotations

from veilleur.core.hostility import is_hostile
from veilleur.core.text import title_then_text
from veilleur.digest.model import DigestPeriod, HostilePosts
from veilleur.storage.digests import FoundMentions


def hostile_posts(found: FoundMentions, period: DigestPeriod) -> HostilePosts:
    flagged, unlabelled = found.hostile_candidates(period.start, period.end)
    estimated = sum(1 for title, text in unlabelled if is_hostile(title_then_text(title, text)))
    return HostilePosts(total=flagged + estimated, estimated=estimated)
