from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.cli import env_for, run_cli
from veilleur.privacy.audit import audit_text
from veilleur.storage.audit import AuditEntry

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC)


def test_each_entry_is_one_line_in_the_bot_time_zone_oldest_first() -> None:
    entries = [
        AuditEntry(NOW - timedelta(hours=1), "U0ANN", "summarize", "channel:C0CARDS:24h"),
        AuditEntry(NOW, "U0ADMIN", "watch.reload", None),
        AuditEntry(NOW, None, "purge", "90 days"),  # an action this version has no words for
    ]
    text = audit_text(entries, since=NOW - timedelta(days=1), days=1, tz=PARIS, lang="en")
    assert text.splitlines() == [
        "Audit log since 2026-11-30 10:00 (times in Europe/Paris):",
        "2026-12-01 09:00:05  U0ANN  summary  channel:C0CARDS:24h",
        "2026-12-01 10:00:05  U0ADMIN  watchers file read again  -",
        "2026-12-01 10:00:05  -  purge  90 days",
    ]


def test_the_log_speaks_french_and_says_when_it_is_empty() -> None:
    entry = AuditEntry(NOW, "cli", "export", "ab12")
    text = audit_text([entry], since=NOW, days=1, tz=PARIS, lang="fr")
    assert text.splitlines()[0] == "Journal d’audit depuis le 2026-12-01 10:00 (heures de Europe/Paris)\u202f:"
    assert "export des données d’un auteur" in text
    assert audit_text([], since=NOW, days=30, tz=PARIS, lang="en") == "Nothing in the audit log for the last 30 days."
    empty = audit_text([], since=NOW, days=1, tz=PARIS, lang="fr")
    assert empty == "Rien dans le journal d’audit pour le dernier jour."


async def test_the_command_refuses_a_period_that_is_no_whole_number_of_days(tmp_path: Path) -> None:
    code, out, err = await run_cli(tmp_path, env_for(tmp_path, None), "audit", "--since", "a week")
    assert code == 2 and out == ""
    assert "give a whole number of days from 1 to 3650 (got 'a week')" in err.strip().splitlines()[-1]
