"""What a mention card's own buttons change: Dismiss marks the card as handled and redraws it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from veilleur.storage.store import Delivery, Store

Message = dict[str, Any]


class MentionCards:
    def __init__(self, store: Store, render: Callable[[Delivery], Message]) -> None:
        """`render` draws a card as it should look now (story, escalation or dismissal line)."""
        self.store = store
        self.render = render

    def dismiss(self, channel: str, ts: str, user: str) -> Message | None:
        """Mark the card at (channel, ts) as handled by `user`; the card to show now, or None when that message
        is not one of our mention cards."""
        card = self.store.card_for_message(channel, ts)
        if card is None or card.mention_id is None:
            return None
        self.store.dismiss_card(card.id, user)
        return self.render(card)
