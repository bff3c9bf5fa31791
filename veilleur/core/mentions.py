"""The normalised record every watcher produces, whatever its source, and what ranks it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from veilleur.core.text import without_invisible

# The fields people read and queries match: every source's text goes through `without_invisible` here, once.
_READ_FIELDS = ("text", "title", "author_handle", "author_name")
# Sources whose handles are never user@host: an address-shaped handle there is an e-mail address. Elsewhere (Mastodon
# and the fediverse: "ann@mastodon.social", or a source not listed yet) it may be a handle, and is kept.
HANDLES_NEVER_ADDRESSES = frozenset({"rss", "bluesky", "reddit", "hackernews", "discourse"})


@dataclass(frozen=True, slots=True)
class Mention:
    """One post, comment or article that a watcher found.

    `external_id` is stable for the life of the item on its source (a feed guid, a Mastodon status URI...):
    the store keeps one mention per (source, external_id), so re-dated or re-ordered items are not new.
    Text fields are plain text (HTML already stripped) and hostile: escape them before they reach Slack. Whoever
    builds a Mention (a watcher, the store reading one back), its text, title and author come out without invisible
    characters (`text.without_invisible`), so no source can spoof a name or split a word a query looks for.

    Its author comes out without e-mail addresses (`without_email_addresses`): an RSS author is often
    "jean@example.fr (Jean Dupont)", and a contact address is never needed to listen to what someone says (GDPR
    art. 5(1)(c)). The name keeps what is left ("Jean Dupont"); a handle loses an address only on the sources whose
    handles are never user@host (HANDLES_NEVER_ADDRESSES; not Mastodon's "ann@mastodon.social"). The text and title
    keep theirs: they are the content being listened to, an address a post gives ("write to the town hall at
    mairie@…") is part of what the team reads and answers, and rewriting posts would misquote them. Retention
    limits them like every text.
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
            if name == "author_name" or (name == "author_handle" and self.source in HANDLES_NEVER_ADDRESSES):
                visible = without_email_addresses(visible)
            if visible is not value:
                object.__setattr__(self, name, visible)


# An e-mail address, as people write it in an author field: plain, after "mailto:", with its "@" or dots spelled
# out in brackets ("jean [at] example [dot] fr", "(arobase)"), or with a full-width "＠". The local part must not
# follow "@" or a word character, so a fediverse handle ("@ann@mastodon.social") is not taken for one.
_AT = r"(?:[@＠]|\s*[\[({]\s*(?:at|arobase)\s*[\])}]\s*)"
_DOT = r"(?:\.|\s*[\[({]\s*(?:dot|point)\s*[\])}]\s*)"
_LOCAL = r"[\w!#$%&'*+/=?^`~-]+(?:\.[\w!#$%&'*+/=?^`~-]+)*"
_DOMAIN = rf"(?:[\w-]+{_DOT})+[^\W\d_]{{2,}}\b|\[[0-9A-Fa-f.:]+\]"
EMAIL_ADDRESS = re.compile(rf"(?<![\w.@＠+-])(?:mailto:)?{_LOCAL}{_AT}(?:{_DOMAIN})", re.IGNORECASE)
_MAY_HOLD_ADDRESS = re.compile(r"[@＠]|[\[({]\s*(?:at|arobase)\s*[\])}]", re.IGNORECASE)
# What an address leaves behind in "Jean Dupont <jean@example.fr>" or "Jean (jean@example.fr)".
_EMPTY_WRAPPER = re.compile(r"\(\s*\)|<\s*>|\[\s*\]|\{\s*\}|\"\s*\"|«\s*»")
_LEFT_AT_THE_ENDS = " ,;:|/-–—·•"
_WRAPPERS = (("(", ")"), ("[", "]"), ("<", ">"), ('"', '"'), ("«", "»"))


def without_email_addresses(text: str) -> str:
    """`text` without the e-mail addresses in it, and without the brackets and separators they leave: "jean@example.fr
    (Jean Dupont)" becomes "Jean Dupont", a bare address "". Returns `text` itself when it holds none."""
    if not _MAY_HOLD_ADDRESS.search(text):
        return text
    stripped = EMAIL_ADDRESS.sub(" ", text)
    if stripped == text:
        return text
    stripped = " ".join(_EMPTY_WRAPPER.sub(" ", stripped).split()).strip(_LEFT_AT_THE_ENDS)
    for opening, closing in _WRAPPERS:
        inner = stripped[1:-1]
        if stripped[:1] == opening and stripped[-1:] == closing and opening not in inner and closing not in inner:
            stripped = inner.strip()
    return stripped


# What ranks mentions (the digest's top mentions, a capped poll's cards): one point per interaction, and one per
# this many followers of the author.
REACH_PER_INTERACTION = 100
# Reach tiers (PRIVACY_PROFILE=public-body keeps only these, not counts): each tier's lowest follower count and its
# name, widest first. Generalising a count this way keeps an author from being singled out by it (WP29 05/2014).
REACH_TIERS = ((10_000, "over_10k"), (1_000, "1k_10k"), (0, "under_1k"))


# Counts in `engagement` that are not interactions: a video's views outnumber its likes a hundredfold and would
# rank every video above every post.
NOT_INTERACTIONS = frozenset({"views"})


def interactions(mention: Mention) -> int:
    """The sum of the mention's engagement counts (likes, reposts, replies…), views left out."""
    return sum(value for key, value in mention.engagement.items() if type(value) is int and key not in NOT_INTERACTIONS)


def mention_score(mention: Mention) -> int:
    """What ranks mentions: their interactions, plus one per REACH_PER_INTERACTION followers of the author.

    A reach kept as a tier is its tier's lowest count (`tier_floor`): wider tiers still rank higher, and a tier
    weighs no more than the fewest followers it stands for.
    """
    return interactions(mention) + max(mention.author_reach or 0, 0) // REACH_PER_INTERACTION


def reach_tier(reach: int) -> str:
    """The tier of a follower count: "under_1k", "1k_10k" or "over_10k" (a catalogue key's last part)."""
    return next(name for floor, name in REACH_TIERS if reach >= floor or floor == 0)


def tier_floor(reach: int) -> int:
    """The lowest count of `reach`'s tier, which stands for it where a count is stored: 0, 1,000 or 10,000."""
    return next(floor for floor, _ in REACH_TIERS if reach >= floor or floor == 0)


def with_reach_tier(mention: Mention) -> Mention:
    """The mention with its author's follower count replaced by its tier's lowest count (PRIVACY_PROFILE=public-body
    stores nothing finer)."""
    reach = mention.author_reach
    if reach is None or reach == tier_floor(reach):
        return mention
    return replace(mention, author_reach=tier_floor(reach))


def author_key(mention: Mention) -> str | None:
    """Who posted it, per source (case-insensitive): "source:handle", else "source:name"; None when the source does
    not say."""
    author = (mention.author_handle or mention.author_name).strip().casefold()
    return f"{mention.source}:{author}" if author else None
