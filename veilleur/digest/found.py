"""The mentions a digest counts: those "found by a watcher", in SQL.

A found mention is a card that was not recorded quietly on a watcher's first poll, dated by when the watcher
found it (`deliveries.created_at`). Notices (health alerts, digests) are outbox rows too, under pseudo-watcher
names, so only cards count. Every figure over mentions (volumes, daily counts, top mentions, the themes' sample)
queries through `FoundMentions.query`, so they all count the same rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from veilleur.storage.store import Store, iso


class FoundMentions:
    """SQL over the mentions found by the watchers in scope: cards not recorded quietly, dated by when found."""

    def __init__(self, store: Store, watchers: Sequence[str]) -> None:
        self.store = store
        self.watchers = list(watchers)
        placeholders = ", ".join("?" for _ in self.watchers) or "null"
        # "+d.watcher": not by the watcher index, whose every row would be read, but by the creation date's.
        self.where = f"d.kind = 'card' and d.state != 'quiet' and +d.watcher in ({placeholders})"

    def query(self, select: str, start: datetime, end: datetime, tail: str = "",
              params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """`select` over the found mentions in [start, end); `params` fill placeholders in `select` then `tail`."""
        sql = (
            f"select {select} from deliveries d join mentions m on m.id = d.mention_id"
            f" where {self.where} and d.created_at >= ? and d.created_at < ? {tail}"
        )
        select_marks = select.count("?")
        values = [*params[:select_marks], *self.watchers, iso(start), iso(end), *params[select_marks:]]
        return list(self.store.db.query(sql, values))


def watchers_in_scope(store: Store, watchers: Collection[str] | None) -> tuple[str, ...]:
    if watchers is not None:
        return tuple(sorted(set(watchers)))
    # Notices (health alerts, digests) are outbox rows too, under pseudo-watcher names: only cards are watchers'.
    known = {row["watcher"] for row in store.db.query("select distinct watcher from deliveries where kind = 'card'")}
    return tuple(sorted(known | set(store.watcher_names())))
