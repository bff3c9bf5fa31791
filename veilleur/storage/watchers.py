"""Watchers made in Slack with /watch (see watching/catalog.py), and which watchers of either kind are paused."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from veilleur.storage.store import Store, iso, utcnow


class WatcherStore:
    """The `watchers` (made in Slack) and `watcher_pauses` (either kind) tables of migration m008."""

    def __init__(self, store: Store) -> None:
        self._db = store._db

    def slack_made(self) -> list[tuple[dict[str, Any], str | None]]:
        """Each stored watcher as its table (name, source and fields) with who created it."""
        rows = self._db.query("select name, source, fields, created_by from watchers order by name")
        return [({"name": r["name"], "source": r["source"], **json.loads(r["fields"])}, r["created_by"]) for r in rows]

    def insert(self, table: dict[str, Any], user: str) -> None:
        now = iso(utcnow())
        self._db["watchers"].insert(
            {**_row(table), "created_by": user, "created_at": now, "updated_at": now, "updated_by": user}
        )

    def replace(self, table: dict[str, Any], user: str) -> None:
        self._db["watchers"].update(table["name"], {**_row(table), "updated_at": iso(utcnow()), "updated_by": user})

    def delete(self, name: str) -> None:
        """Forget the watcher, its pause and its progress; its mentions and deliveries stay."""
        with self._db.atomic():
            self._db.execute("delete from watchers where name = ?", [name])
            self._db.execute("delete from watcher_pauses where name = ?", [name])
            # A new watcher of the same name must start with a first run, not this one's cursor.
            self._db.execute("delete from watcher_state where name = ?", [name])

    def paused(self) -> set[str]:
        return {row["name"] for row in self._db.query("select name from watcher_pauses")}

    def pause(self, name: str, user: str) -> None:
        self._db["watcher_pauses"].upsert({"name": name, "paused_by": user, "paused_at": iso(utcnow())}, pk="name")

    def resume(self, name: str) -> None:
        self._db.execute("delete from watcher_pauses where name = ?", [name])

    def restart_progress(self, name: str) -> None:
        """The next poll is a first run again: its backlog is recorded quietly, as for a new watcher."""
        self._db.execute(
            "update watcher_state set cursor = null, first_polled_at = null, failing_since = null,"
            " consecutive_failures = 0 where name = ?",
            [name],
        )

    def cards_since(self, moment: datetime) -> dict[str, int]:
        """Mentions each watcher found since `moment`: its cards, not the quiet backlog of a first run."""
        rows = self._db.query(
            "select watcher, count(*) as n from deliveries where kind = 'card' and state != 'quiet'"
            " and created_at >= ? group by watcher",
            [iso(moment)],
        )
        return {row["watcher"]: row["n"] for row in rows}


def _row(table: dict[str, Any]) -> dict[str, Any]:
    fields = {key: value for key, value in table.items() if key not in ("name", "source")}
    return {"name": table["name"], "source": table["source"], "fields": json.dumps(fields)}
