"""The audit log as the operator reads it (`python bot.py audit`): one line per entry, oldest first, in BOT_TIMEZONE
and BOT_LANGUAGE."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from veilleur.core.i18n import CATALOGUE, t, t_plural
from veilleur.storage.audit import AuditEntry

CLI_USER = "cli"  # who the command line records as: it has no Slack user
_NONE = "-"


def audit_text(entries: Sequence[AuditEntry], *, since: datetime, days: int, tz: ZoneInfo, lang: str) -> str:
    if not entries:
        return t_plural("audit.none", days, lang, days=days)
    heading = t("audit.heading", lang, since=f"{since.astimezone(tz):%Y-%m-%d %H:%M}", tz=tz.key)
    return "\n".join([heading, *(audit_line(entry, tz, lang) for entry in entries)])


def audit_line(entry: AuditEntry, tz: ZoneInfo, lang: str) -> str:
    return t(
        "audit.line",
        lang,
        at=f"{entry.at.astimezone(tz):%Y-%m-%d %H:%M:%S}",
        user=entry.user or _NONE,
        action=action_label(entry.action, lang),
        subject=entry.subject or _NONE,
    )


def action_label(action: str, lang: str) -> str:
    """The action in words; one recorded by a later version, which this one has no words for, as recorded."""
    key = f"audit.action.{action}"
    return t(key, lang) if key in CATALOGUE else action
