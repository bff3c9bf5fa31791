"""The normalised record every watcher produces, whatever its source."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from veilleur.core.text import without_invisible

# The fields people read and queries match: every source's text goes through `without_invisible` here, once.
_READ_FIELDS = ("text", "title", "author_handle", "author_name")


@dataclass(frozen=True, slots=True)
class Mention:
    """One post, comment or article that a watcher found.

    `external_id` is stable for the life of the item on its source (a feed guid, a Mastodon status URI...):
    the store keeps one mention per (source, external_id), so re-dated or re-ordered items are not new.
    Text fields are plain text (HTML already stripped) and hostile: escape them before they reach Slack. Whoever
    builds a Mention (a watcher, the store reading one back), its text, title and author come out without invisible
    characters (`text.without_invisible`), so no source can spoof a name or split a word a query looks for.
    """

    source: str
    external_id: str
    url: str
    text: str
    title: str = ""
    author_handle: str = ""
    author_name: str = ""
    author_reach: int | None = None
    created_at: datetime | None = None
    lang: str | None = None
    engagement: dict[str, int] = field(default_factory=dict)
    conversation_id: str | None = None
    parent_id: str | None = None  # external_id of the post this one replies to, inside a conversation

    def __post_init__(self) -> None:
        for name in _READ_FIELDS:
            value = getattr(self, name)
            visible = without_invisible(value)
            if visible is not value:
                object.__setattr__(self, name, visible)


# What ranks mentions (the digest's top mentions, a capped poll's cards): one point per interaction, and one per
# this many followers of the author.
REACH_PER_INTERACTION = 100


# Counts in `engagement` that are not interactions: a video's views outnumber its likes a hundredfold and would
# rank every video above every post.
NOT_INTERACTIONS = frozenset({"views"})


def interactions(mention: Mention) -> int:
    """The sum of the mention's engagement counts (likes, reposts, replies…), views left out."""
    return sum(value for key, value in mention.engagement.items() if type(value) is int and key not in NOT_INTERACTIONS)


def mention_score(mention: Mention) -> int:
    """What ranks mentions: their interactions, plus one per REACH_PER_INTERACTION followers of the author."""
    return interactions(mention) + max(mention.author_reach or 0, 0) // REACH_PER_INTERACTION
