"""What a command points at: a Slack message link, a mention id ("12" or "#12") or a post's URL.

The one parser for /summarize, /draft and /flag. Command text comes as Slack sends it with should_escape: a link
may be wrapped (`<https://…|label>`) and `&`, `<`, `>` are entities.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from veilleur.slack.links import MessageRef, parse_permalink

_MENTION_ID = re.compile(r"^#?(\d{1,18})$")
_WEB_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MentionRef:
    """A stored mention, by its id."""

    mention_id: int


@dataclass(frozen=True, slots=True)
class UrlRef:
    """A post on a source, by its URL (which mention it is gets looked up)."""

    url: str


PostTarget = MessageRef | MentionRef | UrlRef


def bare_word(word: str) -> str:
    """One word of command text as typed: a `<link|label>` unwrapped to its link, entities decoded."""
    bare = word.strip()
    if bare.startswith("<"):
        bare = bare.removeprefix("<").removesuffix(">").split("|", 1)[0]
    return html.unescape(bare)


def parse_target(word: str) -> PostTarget | None:
    """The message, mention or post that `word` points at; None when it points at none."""
    bare = bare_word(word)
    if match := _MENTION_ID.match(bare):
        return MentionRef(int(match[1]))
    if message := parse_permalink(bare):
        return message
    if _WEB_URL.match(bare):
        return UrlRef(bare)
    return None
