"""What a mention card's own controls change: Dismiss marks the card as handled, the stance menu sets the team's
stance; both redraw the card."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from veilleur.core.stances import LABELS
from veilleur.storage.labels import MentionLabels
from veilleur.storage.store import Delivery, Store

Message = dict[str, Any]


class MentionCards:
    def __init__(self, store: Store, render: Callable[[Delivery], Message]) -> None:
        """`render` draws a card as it should look now (story, escalation or dismissal line)."""
        self.store = store
        self.labels = MentionLabels(store)
        self.render = render

    def dismiss(self, channel: str, ts: str, user: str) -> Message | None:
        """Mark the card at (channel, ts) as handled by `user`; the card to show now, or None when that message
        is not one of our mention cards."""
        card = self.store.card_for_message(channel, ts)
        if card is None or card.mention_id is None:
            return None
        self.store.dismiss_card(card.id, user)
        return self.render(card)

    def correct_stance(self, channel: str, ts: str, mention_id: int, stance: str, user: str) -> Message | None:
        """Store `user`'s stance for the mention of the card at (channel, ts): it wins over the model's, now and
        after any later labelling. The card to show now, or None when that message is not this mention's card (or
        the stance is not one of LABELS)."""
        card = self.store.card_for_message(channel, ts)
        if card is None or card.mention_id != mention_id or stance not in LABELS:
            return None
        self.labels.correct(mention_id, stance, user)
        return self.render(card)
