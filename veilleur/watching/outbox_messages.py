"""What the outbox posts for a row, built at posting time from what is stored then (the Outbox's `render`)."""

from __future__ import annotations

from typing import Any

from veilleur.slack import cards
from veilleur.storage.store import Delivery, Store
from veilleur.watching.claims import ClaimService
from veilleur.watching.stories import StoryService


def outbox_message(
    delivery: Delivery, *, store: Store, stories: StoryService, claims: ClaimService, lang: str,
    reach_tiers: bool = False,
) -> dict[str, Any]:
    """A notice as it was queued, a burst's parent message, a mention card as its story shows it now, a false
    claim's message as the claim is now (posted or updated), or the notice that replaces a message the outbox
    redacts.

    `reach_tiers`: a burst's parent message shows its best mentions' reach as tiers (PRIVACY_PROFILE=public-body)."""
    if delivery.kind == "notice" and delivery.message is not None:
        return delivery.message
    if delivery.kind == "removal" and delivery.message is not None:
        return cards.removal_notice(delivery.message["reason"], lang, days=delivery.message.get("days"))
    if delivery.kind in ("claim", "update"):
        return claims.message(delivery)
    if delivery.kind == "rollup":
        return cards.rollup_message(
            delivery.watcher,
            delivery.rollup_count or 0,
            lang,
            more=delivery.rollup_more or 0,
            best=[store.mention(mention_id) for mention_id in delivery.rollup_top],
            reach_tiers=reach_tiers,
        )
    return stories.current_card(delivery)
