"""What a poll may store: posts too old for the retention period, posts already erased and the posts of authors who
objected are dropped before anything of them is written (`CollectionGate`, called inside `Store.record_poll`'s
transaction, by the bot and by the dry runs alike).

The suppression list and the erased items are keyed hashes (core/keyed_hash.py). The gate keeps the list in memory
and reads it again when its size changes: one cheap count per poll, so a `forget` run by another process (the CLI
beside the running bot) takes effect at the next poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from veilleur.core.keyed_hash import author_keys, item_key, keyed_hash
from veilleur.core.mentions import Mention
from veilleur.storage.privacy_key import PrivacyKey
from veilleur.storage.store import Store, _chunks


class CollectionGate:
    def __init__(self, store: Store, key: PrivacyKey, retention: timedelta | None) -> None:
        """`retention`: posts published longer ago than this are not stored (None: any age)."""
        self._db = store._db
        self._key = key
        self._retention = retention
        self._signature: tuple[int, bool] | None = None
        self._suppressed: frozenset[str] = frozenset()
        self._any_erased = False

    def admit(self, mentions: Sequence[Mention], now: datetime) -> list[Mention]:
        """The mentions a poll may store, in their order."""
        kept = list(mentions)
        if self._retention is not None:
            oldest = now - self._retention
            kept = [m for m in kept if m.created_at is None or _aware(m.created_at) >= oldest]
        if not kept:
            return kept
        self._refresh()
        secret = self._key.load() if self._suppressed or self._any_erased else None
        if secret is None:
            # No key: nothing was ever hashed with one, so nothing can be suppressed or erased yet.
            return kept
        if self._suppressed:
            hashes: dict[str, bool] = {}

            def suppressed(mention: Mention) -> bool:
                for text in author_keys(mention.source, mention.author_handle, mention.author_name):
                    if text not in hashes:
                        hashes[text] = keyed_hash(secret, text) in self._suppressed
                    if hashes[text]:
                        return True
                return False

            kept = [m for m in kept if not suppressed(m)]
        if self._any_erased and kept:
            item_hashes = [keyed_hash(secret, item_key(m.source, m.external_id)) for m in kept]
            erased = self._erased(item_hashes)
            kept = [m for m, h in zip(kept, item_hashes, strict=True) if h not in erased]
        return kept

    def _refresh(self) -> None:
        count, any_erased = self._db.execute(
            "select (select count(*) from suppressions), exists(select 1 from erased_items)"
        ).fetchone()
        signature = (count, bool(any_erased))
        if signature == self._signature:
            return
        self._suppressed = frozenset(key for (key,) in self._db.execute("select key_hash from suppressions"))
        self._any_erased = bool(any_erased)
        self._signature = signature

    def _erased(self, hashes: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(hashes)), 500):
            rows = self._db.execute(
                f"select key_hash from erased_items where key_hash in ({', '.join('?' * len(chunk))})", chunk
            )
            found.update(key for (key,) in rows)
        return found


def _aware(moment: datetime) -> datetime:
    """Sources give naive times in UTC (see i18n.format_datetime)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
