"""The mentions a digest counts: those "found by a watcher", and the watchers a digest is about.

A found mention is a card that was not recorded quietly on a watcher's first poll, dated by when the watcher
found it (`deliveries.created_at`). Notices (health alerts, digests) are outbox rows too, under pseudo-watcher
names, so only cards count. Every figure over mentions (volumes, daily counts, top mentions, the themes' sample)
asks storage's `FoundMentions` (storage/digests.py), so they all count the same rows.
"""

from __future__ import annotations

from collections.abc import Collection

from veilleur.storage.store import Store


def watchers_in_scope(store: Store, watchers: Collection[str] | None) -> tuple[str, ...]:
    """`watchers`, sorted; None: every watcher, configured or that ever made a card."""
    if watchers is not None:
        return tuple(sorted(set(watchers)))
    return tuple(sorted(store.watchers_with_cards() | set(store.watcher_names())))
