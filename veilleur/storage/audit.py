"""The audit log (`audit_log`, migration m011): who summarised, drafted, exported, erased or changed a watcher, and
when. It holds a Slack user id, an action and a subject that names what was acted on without its content: a
mention id, a watcher's name, the keyed hash of an author (never the handle). It is kept AUDIT_RETENTION_DAYS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from veilleur.storage.store import Store, iso, utcnow


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    user: str | None  # a Slack user id, or "cli" for the command line
    action: str
    subject: str | None


class AuditLog:
    def __init__(self, store: Store) -> None:
        self._db = store._db

    def record(self, user_id: str | None, action: str, subject: str | None = None, now: datetime | None = None) -> None:
        with self._db.atomic():
            self._db["audit_log"].insert(
                {"at": iso(now or utcnow()), "user_id": user_id, "action": action, "subject": subject}
            )

    def entries(self, since: datetime) -> list[AuditEntry]:
        """The entries recorded at `since` or later, oldest first."""
        rows = self._db.execute(
            "select at, user_id, action, subject from audit_log where at >= ? order by at, id", [iso(since)]
        )
        return [AuditEntry(datetime.fromisoformat(at), user, action, subject) for at, user, action, subject in rows]

