"""Who a data protection request is about: an author as typed, or the author of a card, a post or a mention."""

from __future__ import annotations

import json
from dataclasses import dataclass

from veilleur.core.errors import UserError
from veilleur.slack.links import MessageRef
from veilleur.slack.targets import MentionRef, PostTarget
from veilleur.storage.store import Store


@dataclass(frozen=True, slots=True)
class AuthorRequest:
    """An author (a handle, or a name for sources that give only one) on `source`, or on every source when None."""

    author: str
    source: str | None = None

    def as_value(self) -> str:
        """The request as a button's value (Slack sends it back on the click)."""
        return json.dumps({"author": self.author, "source": self.source}, ensure_ascii=False)

    @classmethod
    def from_value(cls, value: str) -> AuthorRequest | None:
        """The request a button's value holds, None when it is not one of ours."""
        try:
            state = json.loads(value)
            author, source = state["author"], state["source"]
        except (ValueError, TypeError, KeyError):
            return None
        if not isinstance(author, str) or not author or not (source is None or isinstance(source, str)):
            return None
        return cls(author, source)


def author_of(store: Store, target: PostTarget) -> AuthorRequest:
    """The author, and source, of the mention `target` points at: a card's link, a post's URL or a mention id.

    Raises UserError when it points at no stored mention, or at one that names no author.
    """
    if isinstance(target, MessageRef):
        card = store.card_for_message(target.channel, target.ts)
        if card is None or card.mention_id is None:
            raise UserError("privacy.target.not_a_card")
        mention_id = card.mention_id
    elif isinstance(target, MentionRef):
        if not store.has_mention(target.mention_id):
            raise UserError("privacy.target.not_found", target=f"#{target.mention_id}")
        mention_id = target.mention_id
    else:
        found = store.mention_ids_at_url(target.url)
        if not found:
            raise UserError("privacy.target.not_found", target=target.url)
        mention_id = found[-1]
    mention = store.mention(mention_id)
    author = mention.author_handle or mention.author_name
    if not author:
        raise UserError("privacy.target.no_author", id=str(mention_id))
    return AuthorRequest(author, mention.source)
