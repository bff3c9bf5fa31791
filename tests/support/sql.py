"""The store's own connection, for a test that sets up or inspects rows no repository method answers.

Only storage runs SQL in the bot (see README, "Store"); tests reach the connection through here, in one place.
"""

from __future__ import annotations

from sqlite_utils import Database

from veilleur.storage.store import Store


def sql(store: Store) -> Database:
    return store._db
