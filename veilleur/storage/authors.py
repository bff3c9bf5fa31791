"""What the store holds about one author: the lookup that erasure (`forget`) and access (`export`) share."""

from __future__ import annotations

from veilleur.core.watcher_config import normal_handle
from veilleur.storage.store import Store


class AuthorRecords:
    """Finds an author's mentions by handle or, for sources that give only a name (RSS), by name.

    An author is compared as `[[author]]` tables compare them (`normal_handle`: no case, no leading "@"), so
    "@Ann@mastodon.social" finds "ann@mastodon.social". There is no index on authors: a lookup reads every mention
    (about a second for a million), which a request answered within a month can afford, and each poll's inserts
    do not pay for an index only these requests use.
    """

    def __init__(self, store: Store) -> None:
        self._db = store._db
        self._db.conn.create_function("normal_handle", 1, _normal_or_none, deterministic=True)

    def mention_ids(self, author: str, source: str | None = None) -> list[int]:
        """The ids of the mentions by `author` (on `source` only, if given), oldest first."""
        wanted = normal_handle(author)
        if not wanted:
            return []
        query = (
            "select id from mentions where (normal_handle(author_handle) = :author"
            " or normal_handle(author_name) = :author)"
        )
        if source is not None:
            query += " and source = :source"
        rows = self._db.execute(query + " order by id", {"author": wanted, "source": source})
        return [mention_id for (mention_id,) in rows]


def _normal_or_none(value: str | None) -> str | None:
    return normal_handle(value) if value else None
