"""The imported public roles (`bot.py authors import`): the team's own list of public figures, kept until re-imported
or until `forget` erases the author."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from veilleur.core.public_roles import PublicRole
from veilleur.storage.store import Store, iso


@dataclass(frozen=True, slots=True)
class ImportCounts:
    added: int
    updated: int


class PublicRoles:
    def __init__(self, store: Store) -> None:
        self._db = store._db

    def save(self, roles: Sequence[PublicRole], now: datetime) -> ImportCounts:
        """Add the new authors and update those already imported (same source and handle, or name when there is no
        handle), in one transaction."""
        added = updated = 0
        with self._db.atomic():
            for role in roles:
                match = "handle = ?" if role.handle else "handle = '' and lower(name) = lower(?)"
                existing = self._db.execute(
                    f"select rowid from public_roles where source = ? and {match}",
                    [role.source, role.handle or role.name],
                ).fetchone()
                if existing is None:
                    self._db.execute(
                        "insert into public_roles (source, handle, name, role, imported_at) values (?, ?, ?, ?, ?)",
                        [role.source, role.handle, role.name, role.role, iso(now)],
                    )
                    added += 1
                else:
                    self._db.execute(
                        "update public_roles set name = ?, role = ?, imported_at = ? where rowid = ?",
                        [role.name, role.role, iso(now), existing[0]],
                    )
                    updated += 1
        return ImportCounts(added, updated)

    def all(self) -> list[PublicRole]:
        rows = self._db.execute("select handle, source, role, name from public_roles order by source, handle, name")
        return [PublicRole(handle=handle, source=source, role=role, name=name) for handle, source, role, name in rows]
