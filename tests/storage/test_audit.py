from datetime import UTC, datetime, timedelta

from veilleur.storage.audit import AuditEntry, AuditLog
from veilleur.storage.store import Store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_entries_since_a_moment_come_oldest_first(store: Store) -> None:
    audit = AuditLog(store)
    audit.record("U0ANN", "draft", "mention:3", now=NOW)
    audit.record("U0BOB", "summarize", "channel:C0CARDS:24h", now=NOW - timedelta(days=2))
    audit.record("cli", "export", "ab12", now=NOW - timedelta(hours=1))
    audit.record("U0ANN", "watch.reload", now=NOW - timedelta(days=5))
    assert audit.entries(NOW - timedelta(days=3)) == [
        AuditEntry(NOW - timedelta(days=2), "U0BOB", "summarize", "channel:C0CARDS:24h"),
        AuditEntry(NOW - timedelta(hours=1), "cli", "export", "ab12"),
        AuditEntry(NOW, "U0ANN", "draft", "mention:3"),
    ]
    assert audit.entries(NOW - timedelta(days=6))[0] == AuditEntry(NOW - timedelta(days=5), "U0ANN", "watch.reload",
                                                                  None)

